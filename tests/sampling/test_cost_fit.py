"""The cost model is fitted back from simulated annotation logs with planted action times."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.sampling.cost import CostModel
from hitl_active.sampling.cost_fit import ACTIONS, CostFit, counts_from_diff, fit_costs

PLANTED = {"image_s": 3.0, "verify_s": 2.2, "fix_s": 9.0, "relabel_s": 4.0, "delete_s": 1.5,
           "draw_s": 19.0}  # fmt: skip


def simulated_log(n: int, rng: np.random.Generator, noise: float = 0.1):
    """``n`` annotations: random action counts, times from the planted seconds with
    multiplicative log-normal noise (people are not clocks)."""
    counts = np.column_stack(
        [np.ones(n), *(rng.poisson(lam, n) for lam in (4.0, 1.5, 0.8, 1.2, 1.5))]
    )
    truth = counts @ np.array([PLANTED[a] for a in ACTIONS])
    return counts, truth * rng.lognormal(0.0, noise, n)


def test_fit_recovers_planted_action_times_within_ten_percent():
    counts, seconds = simulated_log(3000, np.random.default_rng(4))
    fit = fit_costs(counts, seconds, np.random.default_rng(0), n_boot=100)
    for action, planted in PLANTED.items():
        assert fit.seconds[action] == pytest.approx(planted, rel=0.10), action
        assert fit.low[action] <= fit.seconds[action] <= fit.high[action]
    assert fit.n_annotations + fit.n_outliers == 3000 and fit.n_outliers < 30
    model = fit.cost_model()
    assert model.draw_s == fit.seconds["draw_s"] and model.match_iou == CostModel().match_iou


def test_interval_narrows_with_more_annotations():
    rng = np.random.default_rng(1)
    small = fit_costs(*simulated_log(60, rng), np.random.default_rng(0), n_boot=100)
    large = fit_costs(*simulated_log(2000, rng), np.random.default_rng(0), n_boot=100)
    small_w, large_w = (f.high["draw_s"] - f.low["draw_s"] for f in (small, large))
    assert 0 < large_w < small_w


def test_an_abandoned_tab_does_not_drag_the_fit():
    counts, seconds = simulated_log(400, np.random.default_rng(2), noise=0.05)
    seconds[:8] = 3600.0  # eight annotations left open for an hour
    fit = fit_costs(counts, seconds, n_boot=0)
    assert fit.n_outliers >= 8
    assert fit.seconds["draw_s"] == pytest.approx(PLANTED["draw_s"], rel=0.10)


def test_an_action_nobody_did_keeps_its_default():
    counts, seconds = simulated_log(200, np.random.default_rng(3))
    counts[:, 3] = 0  # nobody relabelled
    seconds = counts @ np.array([PLANTED[a] for a in ACTIONS])
    fit = fit_costs(counts, seconds, n_boot=20)
    assert fit.seconds["relabel_s"] == CostModel().relabel_s
    assert fit.low["relabel_s"] == fit.high["relabel_s"] == CostModel().relabel_s


def test_counts_come_from_the_stored_diff_or_a_scratch_drawing():
    diff = {"counts": {"kept": 2, "moved": 1, "relabelled": 0, "deleted": 3, "added": 1}}
    assert counts_from_diff(diff, 4).tolist() == [1, 2, 1, 0, 3, 1]
    lists = {"kept": [[0, 0]], "moved": [], "relabelled": [[1, 1]], "deleted": [], "added": [2]}
    assert counts_from_diff(lists, 3).tolist() == [1, 1, 0, 1, 0, 1]
    assert counts_from_diff(None, 5).tolist() == [1, 0, 0, 0, 0, 5]


@pytest.mark.parametrize(
    "counts, seconds, match",
    [
        (np.ones((10, 5)), np.ones(10), "shape"),
        (np.ones((3, 6)), np.ones(3), "too few"),
    ],
)
def test_bad_logs_are_refused_with_what_to_do(counts, seconds, match):
    with pytest.raises(ValueError, match=match):
        fit_costs(counts, seconds)


def test_fit_round_trips_through_a_dict():
    counts, seconds = simulated_log(100, np.random.default_rng(5))
    fit = fit_costs(counts, seconds, n_boot=10)
    assert CostFit.from_dict(fit.to_dict()) == fit
    assert "draw_s" in fit.format()
