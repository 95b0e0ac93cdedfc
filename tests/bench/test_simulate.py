from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from hitl_active.bench.annotator import SimulatedAnnotator
from hitl_active.bench.curves import Curve, crossing, ratios_by_budget
from hitl_active.cli import main
from hitl_active.detections import Detections
from hitl_active.formats import ImageLabels
from hitl_active.sampling import CostModel


def test_simulated_annotator_charges_the_diff_and_returns_truth():
    truth = ImageLabels("a.jpg", 100, 100, [[0, 0, 10, 10], [50, 50, 70, 70]], [0, 1])
    oracle = SimulatedAnnotator({"a.jpg": truth}, CostModel(), display_threshold=0.5)
    probs = np.array([[0.9, 0.0], [0.0, 0.3]], np.float32)  # 2nd box is below the display bar
    pre = Detections.from_class_probs(np.array([[0, 0, 10, 10], [50, 50, 70, 70]]), probs)
    labels, cost = oracle.annotate("a.jpg", pre)
    assert labels is truth
    assert (cost.verified, cost.drawn, cost.deleted) == (1, 1, 0)
    _, scratch = oracle.annotate("a.jpg", None)
    assert scratch.drawn == 2 and scratch.seconds > cost.seconds
    assert oracle.total.images == 2
    with pytest.raises(KeyError, match="no ground truth"):
        oracle.annotate("b.jpg", None)


def test_a_box_review_leaves_checked_boxes_model_boxes_and_ignored_regions():
    truth = ImageLabels(
        "a.jpg", 100, 100, [[0, 0, 10, 10], [50, 50, 70, 70], [80, 0, 95, 9]], [0, 1, 1]
    )
    oracle = SimulatedAnnotator({"a.jpg": truth}, CostModel())
    boxes = np.array(
        [[0, 0, 10, 10], [51, 52, 70, 70], [20, 20, 30, 30], [80, 80, 90, 90], [30, 60, 40, 70]],
        np.float32,
    )
    probs = np.array([[0.95, 0], [0, 0.3], [0.3, 0], [0.9, 0], [0, 0.2]], np.float32)
    pre = Detections.from_class_probs(boxes, probs)
    parts = {"check": pre[[0]], "fix": pre[[1, 2]], "unchecked": pre[[3]], "ignored": pre[[4]]}
    labels, cost, checked = oracle.review("a.jpg", parts)
    assert checked == (1, 1)  # the one check item was right
    # items: the sure box and the region's close box accepted, the empty region deleted;
    # the third true object had no item and is not drawn
    assert (cost.verified, cost.fixed, cost.deleted, cost.drawn) == (2, 0, 1, 0)
    sources = [m["source"] for m in labels.box_meta]
    assert sources == ["human_accepted", "human_accepted", "model", "model"]
    assert [bool(m.get("ignore")) for m in labels.box_meta] == [False, False, False, True]
    assert labels.class_id.tolist() == [0, 1, 0, 1]
    assert not any(np.allclose(b, [80, 0, 95, 9]) for b in labels.xyxy)
    assert cost.seconds == pytest.approx(
        CostModel().image_s + 2 * CostModel().verify_s + CostModel().delete_s
    )


def test_crossing_interpolates_between_rounds():
    x, y = np.array([20, 40, 60]), np.array([0.1, 0.3, 0.5])
    assert crossing(x, y, 0.4) == pytest.approx(50.0)
    assert crossing(x, y, 0.05) == 20.0
    assert crossing(x, y, 0.9) is None


def _curve(name: str, per_seed: list[list[float]], hours_per_image: float = 0.01) -> Curve:
    rows = [
        {
            "seed": str(s),
            "round": str(r),
            "labelled_images": str(10 * (r + 1)),
            "annotator_hours": str(hours_per_image * 10 * (r + 1)),
            "map50_95": str(v),
        }
        for s, ys in enumerate(per_seed)
        for r, v in enumerate(ys)
    ]
    return Curve(name, rows)


def test_ratios_by_budget_compare_at_each_of_the_baselines_budgets():
    base = _curve("random", [[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]])
    # seed means 0.1, 0.25, 0.35, 0.45: 0.2 at 16.7 labels, 0.3 at 25, 0.4 at 35
    fast = _curve("fast", [[0.1, 0.2, 0.3, 0.4], [0.1, 0.3, 0.4, 0.5]], hours_per_image=0.02)
    labels = ratios_by_budget(fast, base)
    assert labels == {
        20: pytest.approx(16.667 / 20, abs=1e-3),
        30: pytest.approx(25 / 30, abs=1e-3),
        40: pytest.approx(35 / 40, abs=1e-3),
    }
    hours = ratios_by_budget(fast, base, "annotator_hours")  # twice the hours per image
    assert hours == {k: pytest.approx(2 * v, abs=2e-3) for k, v in labels.items()}
    assert ratios_by_budget(base, base) == {20: 1.0, 30: 1.0, 40: 1.0}
    slow = ratios_by_budget(_curve("slow", [[0.1, 0.15, 0.2, 0.25]]), base)
    assert slow[20] == pytest.approx(1.5)
    assert slow[30] is None and slow[40] is None


@pytest.mark.slow
@pytest.mark.parametrize("retrain", [False, True], ids=["fine-tune", "retrain"])
def test_simulate_command_runs_end_to_end(tmp_path, capsys, retrain):
    pytest.importorskip("hitl_active.serving.engine")
    data, out = tmp_path / "data", tmp_path / "sim"
    argv = [
        "-q", "simulate", str(data), "--synthetic", "36", "--synthetic-side", "96", "128",
        "--strategies", "random,entropy-mean", "--seeds", "1", "--rounds", "2",
        "--initial", "8", "--round-size", "5", "--test-size", "8", "--imgsz", "64",
        "--initial-epochs", "1", "--epochs", "1", "--train-batch", "8", "--out", str(out),
        *(["--retrain"] if retrain else []),
    ]  # fmt: skip
    assert main(argv) == 0
    for run in ("random-s0", "entropy-mean-s0"):
        starts = [
            json.loads((out / "runs" / run / f"round{k}" / "state.json").read_text())
            for k in (1, 2)
        ]
        if retrain:  # every round afresh from the start model
            assert [s["trained_from"] for s in starts] == ["yolo11n.yaml"] * 2
        else:  # each round fine-tunes the one before
            assert starts[1]["trained_from"] == starts[0]["weights"]
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["strategy"], int(r["round"])) for r in rows} == {
        (s, k) for s in ("random", "entropy-mean") for k in range(3)
    }
    for strategy in ("random", "entropy-mean"):
        mine = sorted((r for r in rows if r["strategy"] == strategy), key=lambda r: r["round"])
        assert [int(r["labelled_images"]) for r in mine] == [8, 13, 18]
        hours = [float(r["annotator_hours"]) for r in mine]
        assert hours[0] > 0 and hours == sorted(hours)
        assert all(0.0 <= float(r["map50_95"]) <= 1.0 for r in mine)
        assert float(mine[1]["inference_s"]) > 0
    state = json.loads((out / "runs" / "entropy-mean-s0" / "round2" / "state.json").read_text())
    assert len(set(state["labelled"])) == 18, "an image was selected twice"
    assert (out / "learning_curve.png").stat().st_size > 10_000
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["strategies"]) == {"random", "entropy-mean"}
    # resuming does no work and adds no rows
    assert main(argv) == 0
    with open(out / "results.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    assert "final mAP50-95" in capsys.readouterr().out


@pytest.mark.slow
def test_simulate_runs_box_review_end_to_end(tmp_path):
    """The loop with ``review: boxes`` through the benchmark: rounds, state and summary."""
    data, out = tmp_path / "data", tmp_path / "sim"
    argv = [
        "-q", "simulate", str(data), "--synthetic", "30", "--synthetic-side", "96", "128",
        "--strategies", "random,box-review", "--seeds", "1", "--rounds", "1", "--initial", "8",
        "--round-size", "5", "--test-size", "8", "--imgsz", "64", "--initial-epochs", "1",
        "--epochs", "1", "--train-batch", "8", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    with open(out / "results.csv", newline="") as f:
        rows = {(r["strategy"], int(r["round"])): r for r in csv.DictReader(f)}
    assert float(rows[("box-review", 1)]["annotator_seconds"]) > float(
        rows[("box-review", 0)]["annotator_seconds"]
    )
    summary = json.loads((out / "summary.json").read_text())
    info = summary["strategies"]["box-review"]
    assert len(info["boxes_touched"]) == 2 and "boxes_ratio_vs_random" in info
    assert set(summary["box_review_unasked"]) >= {"unchecked", "ignored", "rounds_trusted"}


@pytest.mark.slow
def test_simulate_feeds_flip_stability_its_mirrored_pass(tmp_path):
    """The benchmark's second pass is the loop's (``steps.predict_flipped``), and is timed."""
    data, out = tmp_path / "data", tmp_path / "sim"
    argv = [
        "-q", "simulate", str(data), "--synthetic", "30", "--synthetic-side", "96", "128",
        "--strategies", "flip-stability", "--seeds", "1", "--rounds", "1", "--initial", "8",
        "--round-size", "5", "--test-size", "8", "--imgsz", "64", "--initial-epochs", "1",
        "--epochs", "1", "--train-batch", "8", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    with open(out / "results.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["strategy"] == "flip-stability"]
    picked = [r for r in rows if int(r["round"]) == 1]
    assert len(picked) == 1 and int(picked[0]["labelled_images"]) == 13
    assert float(picked[0]["extra_inference_s"]) > 0


def test_unchecked_boxes_train_only_where_that_rounds_checks_earned_trust(tmp_path):
    from hitl_active.bench.results import labels_to_json
    from hitl_active.bench.runner import SimRunner
    from hitl_active.bench.simulate import SimulationConfig

    items = [
        (tmp_path / f"{i}.jpg", ImageLabels(f"{i}.jpg", 50, 50, [[0, 0, 9, 9]], [0]))
        for i in range(12)
    ]
    runner = SimRunner(items, ["a"], SimulationConfig(initial=2, test_size=2), tmp_path)
    made = ImageLabels(
        "x", 50, 50, [[0, 0, 9, 9], [20, 20, 30, 30]], [0, 0],
        box_meta=[{"source": "human_accepted"}, {"source": "model"}],
    )  # fmt: skip
    reviewed = {
        "0": {**labels_to_json(made), "round": 1, "checked": [18, 20]},  # 90%: trusted
        "1": {**labels_to_json(made), "round": 2, "checked": [15, 20]},  # 75%: masked
        "2": {**labels_to_json(made), "round": 3, "checked": [5, 5]},  # too few checked
    }
    got = runner.training_items({"labelled": [0, 1, 2, 3], "reviewed": reviewed})
    ignored = [[bool(m.get("ignore")) for m in lab.box_meta] for _, lab in got[:3]]
    assert ignored == [[False, False], [False, True], [False, True]]
    assert got[3][1] is runner.train[3][1]  # an image reviewed whole trains on its truth
