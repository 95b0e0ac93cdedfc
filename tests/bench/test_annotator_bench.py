import json

from hitl_active.bench.annotator_bench import (
    CALIBRATION_SEEDS,
    SPENT_TEST_SEEDS,
    TARGETS,
    TEST_SEEDS,
    BenchConfig,
    run_bench,
)


def test_calibration_and_test_seeds_never_overlap():
    assert not set(CALIBRATION_SEEDS) & set(TEST_SEEDS)
    assert not set(SPENT_TEST_SEEDS) & (set(CALIBRATION_SEEDS) | set(TEST_SEEDS))


def test_bench_reports_every_figure_as_json():
    cfg = BenchConfig(n_annotators=5, n_gold=40, stream_tasks=30)
    out = run_bench((CALIBRATION_SEEDS[0],), cfg)
    summary = json.loads(json.dumps(out["summary"]))  # plain JSON, no numpy types
    for key in (
        "recall_spearman",
        "noise_spearman",
        "recall_mae",
        "interval_coverage",
        "overlap_rank_spearman",
        "spammer_flagged_after_tasks",
        "honest_false_flag_rate",
    ):
        assert key in summary
    assert set(summary["targets"]) == set(TARGETS)
    assert summary["spammer_flagged_after_tasks"] is not None
    assert 0 <= summary["interval_coverage"] <= 1 and summary["intervals"] > 0
    assert len(out["per_seed"]) == 1
