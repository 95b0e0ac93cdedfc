"""A pilot's difference in differences: its arithmetic, its interval, and "too small"."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.workforce.pilot import MIN_GROUP, did_estimate, who5_score


def test_who5_is_the_sum_times_four_and_refuses_other_answers():
    assert who5_score([5, 5, 5, 5, 5]) == 100 and who5_score([0, 1, 2, 3, 4]) == 40
    for bad in ([1, 2, 3], [6, 0, 0, 0, 0], [1.5, 1, 1, 1, 1], [True, 1, 1, 1, 1]):
        with pytest.raises(ValueError, match="WHO-5 needs 5 answers"):
            who5_score(bad)


def test_the_estimate_is_the_difference_of_the_mean_changes():
    pilot = {f"p{i}": (50.0 + i, 60.0 + i + (i % 2)) for i in range(6)}  # +10.5 on average
    control = {f"c{i}": (40.0 + i, 42.0 + i + (i % 3 == 0)) for i in range(6)}  # +2.33
    e = did_estimate("WHO-5", pilot, control)
    assert e.estimate == pytest.approx(10.5 - (2 + 2 / 6))
    assert e.low < e.estimate < e.high and e.low > 0
    assert (e.pilot_n, e.control_n, e.too_small) == (6, 6, False)
    assert "up" in e.sentence()


def test_people_without_both_periods_are_left_out_and_small_groups_not_concluded():
    pilot = {f"p{i}": (50.0, 55.0) for i in range(MIN_GROUP)} | {"x": (None, 70.0)}
    control = {f"c{i}": (50.0, 50.0 + i) for i in range(MIN_GROUP - 1)}
    e = did_estimate("hours", pilot, control)
    assert e.too_small and e.estimate is None and e.left_out == 1
    assert "too small to conclude" in e.sentence()


def test_with_no_effect_the_interval_holds_zero_most_of_the_time():
    rng = np.random.default_rng(0)
    held = 0
    for _ in range(200):
        before = rng.normal(50, 10, 24)
        after = before + rng.normal(0, 6, 24)
        g = {f"a{i}": (before[i], after[i]) for i in range(12)}
        h = {f"b{i}": (before[12 + i], after[12 + i]) for i in range(12)}
        e = did_estimate("x", g, h)
        held += e.low <= 0 <= e.high
    assert held >= 180  # 95% nominal; at least 90% here


def test_200_simulated_pilots_cover_the_planted_effect_and_flag_small_groups():
    """scripts/bench_pilot.py as documented: the README's figures come from this run."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "bench_pilot.py"
    done = subprocess.run([sys.executable, str(script), "--pilots", "200"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    out = json.loads(done.stdout)
    assert out["coverage"] >= 0.9 and out["met"] is True
    assert out["flagged_too_small_at_group_minus_one"] == 1.0
    assert abs(out["mean_estimate"] - out["planted_effect"]) < 1.0
