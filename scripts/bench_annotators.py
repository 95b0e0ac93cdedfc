"""Recovery of planted annotator skills by the workforce estimators; prints JSON.

    .venv/bin/python scripts/bench_annotators.py                 # the test seeds (200–219)
    .venv/bin/python scripts/bench_annotators.py --calibration   # the calibration seeds (0–4)
    .venv/bin/python scripts/bench_annotators.py --train         # + consensus vs single labels

Targets (8 simulated annotators, 100 gold images; see hitl_active.bench.annotator_bench):
Spearman ρ >= 0.9 between planted and estimated recall and box noise; recall MAE < 0.05;
90% intervals cover the planted value 85–95% of the time; without gold, with 3× overlap,
ρ >= 0.8 for the reliability ranking; a spammer flagged within 30 of its tasks, honest
annotators falsely flagged in <= 5% of runs, identical annotators differing in <= 5% of pairs.
With --train: a detector trained on the consensus of 3 average annotators scores a higher
gold mAP than one trained on any single annotator's labels (same images, same training).
Calibration seeds were used to choose settings and are never reported as test seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("YOLO_OFFLINE", "1")


def main() -> None:
    from hitl_active.bench.annotator_bench import CALIBRATION_SEEDS, TEST_SEEDS, run_bench

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calibration", action="store_true", help="run the calibration seeds")
    p.add_argument("--seeds", type=int, default=None, help="only the first N seeds of the set")
    p.add_argument("--train", action="store_true", help="also retrain: consensus vs single")
    p.add_argument("--train-seeds", type=int, nargs="+", default=[200], help="one run each")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--per-seed", action="store_true", help="include every seed's figures")
    args = p.parse_args()
    seeds = CALIBRATION_SEEDS if args.calibration else TEST_SEEDS
    seeds = seeds[: args.seeds] if args.seeds else seeds
    start = time.perf_counter()
    result = run_bench(tuple(seeds))
    out = {
        "seed_set": "calibration" if args.calibration else "test",
        "seeds": list(seeds),
        **result["summary"],
    }
    out["per_seed"] = result["per_seed"] if args.per_seed else _brief(result["per_seed"])
    if args.train:
        from hitl_active.bench.consensus_train import consensus_vs_single, summarize_runs

        runs = [consensus_vs_single(s, epochs=args.epochs) for s in args.train_seeds]
        out.update(summarize_runs(runs))
    out["seconds"] = round(time.perf_counter() - start, 1)
    out["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps(out, indent=2))


def _brief(rows: list[dict]) -> list[dict]:
    keys = (
        "seed",
        "recall_spearman",
        "noise_spearman",
        "recall_mae",
        "overlap_rank_spearman",
        "spammer_flagged_after_tasks",
        "honest_flagged",
    )
    return [{k: (round(r[k], 3) if isinstance(r[k], float) else r[k]) for k in keys} for r in rows]


if __name__ == "__main__":
    main()
