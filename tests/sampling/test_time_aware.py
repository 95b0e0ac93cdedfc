"""Time-aware selection: information per expected annotator-second, rare class kept."""

from __future__ import annotations

import numpy as np
import pytest
from sampling_fakes import det

from hitl_active.sampling import (
    CostModel,
    PackedDetections,
    SelectionContext,
    get_strategy,
    select_batch,
)
from hitl_active.sampling.time_aware import PerSecond


def _pool(images: list[list[list[float]]]) -> PackedDetections:
    dets = []
    for probs in images:
        n = len(probs)
        boxes = [[10 * i, 10 * i, 10 * i + 8, 10 * i + 8] for i in range(n)]
        dets.append(det(probs, boxes=boxes) if n else det([], boxes=[]))
    return PackedDetections.from_detections(dets, 2)


# image 0: crowded, twelve uncertain candidates below the display threshold (objects the
# annotator may have to draw); image 1: two uncertain pre-labels (verify or delete);
# image 2: one confident box (cheap to verify, little to learn)
CROWDED = [[0.2, 0.1]] * 12
SMALL = [[0.3, 0.2]] * 2
SURE = [[0.95, 0.0]]


def test_per_second_puts_a_cheap_uncertain_frame_before_a_crowded_one():
    pool = _pool([CROWDED, SMALL, SURE])
    ctx = SelectionContext(rng=np.random.default_rng(0))
    plain = get_strategy("entropy-sum").scores(pool, ctx)
    assert plain.argmax() == 0  # the crowded frame first, by images
    timed = get_strategy("entropy-sum+per-second", beta=1.0).scores(pool, ctx)
    assert timed.argmax() == 1  # by seconds, the small uncertain frame
    seconds = CostModel().estimate_costs(pool)
    assert seconds[0] > 4 * seconds[1]
    np.testing.assert_allclose(timed, plain / seconds)


def test_beta_zero_leaves_the_base_order_and_the_context_prices_win():
    pool = _pool([CROWDED, SMALL, SURE])
    ctx = SelectionContext(rng=np.random.default_rng(0))
    base = get_strategy("entropy-sum")
    np.testing.assert_allclose(PerSecond(base, beta=0.0).scores(pool, ctx), base.scores(pool, ctx))
    ctx.estimated_seconds = np.array([1.0, 100.0, 100.0])  # a fitted model: crowded is cheap
    assert PerSecond(base, beta=1.0).scores(pool, ctx).argmax() == 0
    ctx.estimated_seconds = np.ones(2)
    with pytest.raises(ValueError, match="one price per pool image"):
        PerSecond(base).scores(pool, ctx)


def test_class_balance_keeps_a_rare_class_frame_against_a_cheap_near_empty_one():
    # image 0: one box that may be the rare class 1; image 1: one box of the common class
    pool = _pool([[[0.05, 0.4]], [[0.4, 0.05]]])
    counts = np.array([50, 1])  # class 1 is rare in the labelled set
    ctx = SelectionContext(rng=np.random.default_rng(0), labelled_class_counts=counts)
    timed = get_strategy("time-aware").scores(pool, ctx)
    plain = get_strategy("entropy-sum+per-second").scores(pool, ctx)
    assert timed[0] / timed[1] > plain[0] / plain[1]
    assert timed.argmax() == 0


def test_select_batch_prices_the_strategy_and_the_budget_with_one_model():
    pool = _pool([CROWDED, SMALL, SURE, SMALL])
    expensive_draw = CostModel(draw_s=60.0)
    ctx = SelectionContext(rng=np.random.default_rng(0))
    sel = select_batch(get_strategy("entropy-sum+per-second", beta=1.0), pool, 2, ctx,
                       expensive_draw, dedup_threshold=None)  # fmt: skip
    assert sorted(sel.indices.tolist()) == [1, 3]
    np.testing.assert_allclose(sel.estimated_seconds, expensive_draw.estimate_costs(pool)[[1, 3]])


@pytest.mark.parametrize(
    "name, error",
    [
        ("hybrid+per-second", "needs a per-image score"),
        ("random+per-second", "needs a per-image score"),
        ("entropy-bogus+per-second", "unknown sampling strategy"),
    ],
)
def test_per_second_on_a_strategy_without_scores_is_refused(name, error):
    with pytest.raises(ValueError, match=error):
        get_strategy(name)


def test_names():
    assert get_strategy("time-aware").name == "time-aware"
    s = get_strategy("margin-max+class-balance+per-second")
    assert s.name == "margin-max+class-balance+per-second" and isinstance(s, PerSecond)
