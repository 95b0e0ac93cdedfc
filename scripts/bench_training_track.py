"""The training track on simulated trainees: paid minutes until ready per policy; prints JSON.

    .venv/bin/python scripts/bench_training_track.py                 # the test seeds (100–104)
    .venv/bin/python scripts/bench_training_track.py --calibration   # the calibration seeds (0, 1)

Per seed (see hitl_active.bench.training_track): a synthetic labelled set and its practice
tasks, a planted learner profile (which task type teaches which skill, slip, guess), a pilot
of 600 simulated trainees on random tasks whose logs fit BKT, then 30 simulated trainees per
policy (adaptive, fixed easy-to-hard, random) practising until BKT says ready on every skill.
Targets: adaptive needs at least 25% fewer paid minutes than fixed and than random (mean
over trainees); the bandit's best task type is the planted one for >= 80% of the skills
that several types grade; fitted learn, slip and guess within 0.05 of the planted values.
Calibration seeds were used to choose settings and are never reported as test seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time


def main() -> None:
    from hitl_active.bench.training_track import (
        CALIBRATION_SEEDS,
        TEST_SEEDS,
        TrackConfig,
        run_bench,
    )

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calibration", action="store_true", help="run the calibration seeds")
    p.add_argument("--seeds", type=int, default=None, help="only the first N seeds of the set")
    p.add_argument("--trainees", type=int, default=TrackConfig.trainees)
    p.add_argument("--pilot-trainees", type=int, default=TrackConfig.pilot_trainees)
    p.add_argument("--images", type=int, default=TrackConfig.n_images)
    p.add_argument("--threshold", type=float, default=TrackConfig.threshold, help="P(L) for ready")
    args = p.parse_args()
    seeds = CALIBRATION_SEEDS if args.calibration else TEST_SEEDS
    seeds = seeds[: args.seeds] if args.seeds else seeds
    cfg = TrackConfig(
        n_images=args.images,
        trainees=args.trainees,
        pilot_trainees=args.pilot_trainees,
        threshold=args.threshold,
    )
    start = time.perf_counter()
    result = run_bench(tuple(seeds), cfg)
    out = {
        "seed_set": "calibration" if args.calibration else "test",
        "seeds": list(seeds),
        **result["summary"],
        "per_seed": [
            {k: v for k, v in r.items() if k not in ("minutes_to_ready", "skills")}
            for r in result["per_seed"]
        ],
        "seconds": round(time.perf_counter() - start, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
