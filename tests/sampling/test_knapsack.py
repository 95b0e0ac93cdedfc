"""Knapsack selection: a batch's information within its annotator-seconds."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.sampling import (
    Budget,
    CostModel,
    PackedDetections,
    SelectionContext,
    get_strategy,
    select_batch,
)
from hitl_active.sampling.base import ScoreStrategy
from hitl_active.sampling.knapsack import Knapsack, exchange_rate


class _Fixed(ScoreStrategy):
    """A score strategy returning given values (the information of each image)."""

    name = "fixed"

    def __init__(self, values: list[float]) -> None:
        self.values = np.asarray(values, np.float64)

    def compute_score(self, pool, context):
        return self.values


def _empty_pool(n: int) -> PackedDetections:
    from hitl_active.detections import Detections

    return PackedDetections.from_detections([Detections.empty(2) for _ in range(n)], 2)


def _ctx(seconds: list[float], **kw) -> SelectionContext:
    return SelectionContext(
        rng=np.random.default_rng(0), estimated_seconds=np.asarray(seconds, np.float64), **kw
    )


def _best_by_enumeration(value, seconds, k, cap):
    from itertools import combinations

    best, best_set = -1.0, None
    for combo in combinations(range(len(value)), k):
        c = list(combo)
        if seconds[c].sum() <= cap and value[c].sum() > best:
            best, best_set = value[c].sum(), set(c)
    return best, best_set


def test_an_image_batch_keeps_within_its_share_of_an_average_batchs_seconds():
    # two crowded frames (much information, half a minute each) and six cheap ones
    value = [5.0, 4.8, 1.0, 0.9, 0.8, 0.7, 0.2, 0.1]
    seconds = [30.0, 30.0, 6.0, 6.0, 6.0, 6.0, 3.0, 3.0]
    pool = _empty_pool(len(value))
    plain = select_batch(_Fixed(value), pool, 3, _ctx(seconds), dedup_threshold=None)
    assert set(plain.indices.tolist()) == {0, 1, 2}  # by information: 66 s
    sel = select_batch(Knapsack(_Fixed(value), share=1.5), pool, 3, _ctx(seconds),
                       dedup_threshold=None)  # fmt: skip
    cap = 1.5 * 3 * np.mean(seconds)  # 1.5 x three average images: 50.6 s
    assert np.asarray(seconds)[sel.indices].sum() <= cap
    # one crowded frame is kept, paid for by cheap ones: the knapsack's best, not the cheapest
    _, best_set = _best_by_enumeration(np.asarray(value), np.asarray(seconds), 3, cap)
    assert set(sel.indices.tolist()) == best_set == {0, 2, 3}
    assert sel.indices.tolist()[0] == 0


def test_the_lagrangian_choice_matches_enumeration_on_random_pools():
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(30):
        value = rng.gamma(1.0, 1.0, 12)
        seconds = rng.uniform(2, 60, 12)
        k, cap = 4, 0.8 * 4 * seconds.mean()
        lam = exchange_rate(value, seconds, k, cap)
        chosen = np.argsort(-(value - lam * seconds))[:k]
        assert seconds[chosen].sum() <= cap + 1e-9
        best, _ = _best_by_enumeration(value, seconds, k, cap)
        assert value[chosen].sum() <= best + 1e-9
        hits += value[chosen].sum() >= 0.9 * best
    assert hits >= 27  # the Lagrangian is near the optimum on almost every pool


def test_no_rate_when_the_most_informative_batch_already_fits():
    value = np.array([3.0, 2.0, 1.0])
    seconds = np.array([5.0, 5.0, 50.0])
    assert exchange_rate(value, seconds, 2, 30.0) == 0.0


def test_a_seconds_budget_ranks_by_information_per_second_until_it_is_spent():
    value = [5.0, 1.0, 0.9]
    seconds = [60.0, 5.0, 5.0]
    pool = _empty_pool(3)
    sel = select_batch(
        Knapsack(_Fixed(value)), pool, Budget.seconds(12), _ctx(seconds), dedup_threshold=None
    )
    assert sel.indices.tolist() == [1, 2]


def test_prices_come_from_the_cost_model_used_for_the_budget():
    from sampling_fakes import det

    crowded = det([[0.2, 0.1]] * 12)  # twelve hidden candidates: objects to draw
    small = det([[0.45, 0.1]] * 2)
    pool = PackedDetections.from_detections([crowded, small, small], 2)
    ctx = SelectionContext(rng=np.random.default_rng(0))
    sel = select_batch(
        get_strategy("entropy-sum+knapsack-0.5"), pool, 1, ctx, CostModel(), dedup_threshold=None
    )
    assert sel.indices.tolist() != [0]  # the crowded frame costs more than half the average


@pytest.mark.parametrize(
    ("name", "error"),
    [("random+knapsack", "per-image score"), ("coreset+knapsack", "per-image score")],
)
def test_knapsack_on_a_strategy_without_scores_is_refused(name, error):
    with pytest.raises(ValueError, match=error):
        get_strategy(name)


def test_names_and_shares():
    assert get_strategy("entropy-sum+knapsack").name == "entropy-sum+knapsack-1"
    assert get_strategy("entropy-sum+knapsack-0.7").share == 0.7
    assert get_strategy("entropy-sum+knapsack", share=0.6).share == 0.6
    with pytest.raises(ValueError, match="share"):
        Knapsack(_Fixed([1.0]), share=0.0)
