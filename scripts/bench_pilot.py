"""Does a pilot's estimate find a planted effect? 200 simulated pilots; prints JSON.

    .venv/bin/python scripts/bench_pilot.py --pilots 200 --docs docs

Each simulated pilot has two groups of ``--group`` people. Every person has their own level
of well-being; everyone's shifts between the periods by ``--season`` (what changes for all),
the pilot group's by ``--effect`` more; each answers the five WHO-5 questions (0-5, with
answer noise) before and after, scored as the product scores them
(:func:`hitl_active.workforce.pilot.who5_score`), and
:func:`~hitl_active.workforce.pilot.did_estimate` gives the estimate and its 95% interval.
Targets: the interval covers the planted effect in >= 90% of pilots; groups under the
documented size (``MIN_GROUP``) are flagged "too small" every time. Also: how often an effect
is seen at all (power) and the effect the design could detect.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from benchjson import emit

from hitl_active.workforce.pilot import MIN_GROUP, did_estimate, who5_score


def answers(rng: np.random.Generator, wellbeing: float) -> list[int]:
    """Five WHO-5 answers of a person whose well-being is ``wellbeing`` (0-100)."""
    latent = wellbeing / 20.0 + rng.normal(0, 0.7, 5)  # 0-5 per item, with noise
    return [int(v) for v in np.clip(np.rint(latent), 0, 5)]


def one_pilot(rng, group: int, effect: float, season: float) -> object:
    people = {}
    for g in ("pilot", "control"):
        people[g] = {}
        for i in range(group):
            level = float(np.clip(rng.normal(56, 14), 8, 92))
            after = level + season + (effect if g == "pilot" else 0.0)
            people[g][f"{g}{i}"] = (float(who5_score(answers(rng, level))),
                                    float(who5_score(answers(rng, after))))  # fmt: skip
    return did_estimate("WHO-5", people["pilot"], people["control"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pilots", type=int, default=200)
    p.add_argument("--group", type=int, default=15, help="people per group")
    p.add_argument("--effect", type=float, default=8.0, help="planted WHO-5 points")
    p.add_argument("--season", type=float, default=-3.0, help="the change for everyone")
    p.add_argument("--docs", type=Path, default=None, help="also write bench_pilot.json")
    args = p.parse_args(argv)
    rng = np.random.default_rng(11)
    runs = [one_pilot(rng, args.group, args.effect, args.season) for _ in range(args.pilots)]
    covered = [r.low <= args.effect <= r.high for r in runs]
    seen = [r.low > 0 for r in runs]
    small = [one_pilot(rng, MIN_GROUP - 1, args.effect, args.season) for _ in range(args.pilots)]
    out = {
        "pilots": args.pilots,
        "group": args.group,
        "planted_effect": args.effect,
        "coverage": round(float(np.mean(covered)), 3),
        "target": "the 95% interval covers the planted effect in >= 90% of pilots",
        "met": bool(np.mean(covered) >= 0.9),
        "effect_seen": round(float(np.mean(seen)), 3),
        "mean_estimate": round(float(np.mean([r.estimate for r in runs])), 2),
        "mean_detectable": round(float(np.mean([r.detectable for r in runs])), 2),
        "too_small_below": MIN_GROUP,
        "flagged_too_small_at_group_minus_one": round(
            float(np.mean([r.too_small for r in small])), 3
        ),
        "command": " ".join(["scripts/bench_pilot.py", *(argv or sys.argv[1:])]),
    }
    emit(out, args.docs, "bench_pilot")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
