"""Box-level review: items per image, their prices, and one knapsack over images and items."""

from __future__ import annotations

import numpy as np
import pytest
from sampling_fakes import det

from hitl_active.formats.core import ImageLabels
from hitl_active.sampling import CostModel, PackedDetections
from hitl_active.sampling.review import ReviewSettings, item_kinds, plan_review, whole_image_costs


def _pool(*images):
    return PackedDetections.from_detections(list(images), 2)


def test_items_are_split_at_the_sure_line_and_the_floor():
    kinds = item_kinds(np.array([0.9, 0.5, 0.49, 0.1, 0.05]), ReviewSettings(0.5, 0.1))
    assert kinds.tolist() == ["check", "check", "fix", "fix", ""]
    with pytest.raises(ValueError, match="floor <= sure"):
        ReviewSettings(sure=0.3, floor=0.4)


def test_the_plan_buys_uncertain_regions_and_leaves_sure_boxes_unchecked():
    # image 0: one sure box, one uncertain region; image 1: only sure boxes
    a = det([[0.97, 0.0], [0.35, 0.3]])
    b = det([[0.98, 0.0], [0.0, 0.99]])
    pool = _pool(a, b)
    cm = CostModel()
    plan = plan_review(pool, 6.0, ReviewSettings(), cm, full_value=np.zeros(2))
    assert plan.indices.tolist() == [0]
    assert not plan.full[0]
    assert plan.kinds[0] == ["fix"] and plan.items[0].tolist() == [1]
    assert plan.unchecked[0].tolist() == [0] and plan.ignored[0].tolist() == []
    assert plan.estimated_seconds.sum() <= 6.0
    parts = plan.for_image(0, a)
    assert len(parts["fix"]) == 1 and len(parts["unchecked"]) == 1 and len(parts["check"]) == 0


def test_a_budget_too_small_for_every_region_leaves_the_rest_ignored():
    a = det([[0.4, 0.3], [0.3, 0.35], [0.2, 0.1]])
    plan = plan_review(_pool(a), 2.0 + 2 * 4.6, ReviewSettings(), CostModel(), full_value=[0.0])
    assert plan.indices.tolist() == [0]
    assert len(plan.items[0]) == 2 and len(plan.ignored[0]) == 1
    assert set(plan.items[0].tolist()) | set(plan.ignored[0].tolist()) == {0, 1, 2}
    assert plan.estimated_seconds[0] <= 2.0 + 2 * 4.6


def test_an_image_worth_more_whole_is_reviewed_whole():
    """Where the model may be missing objects the items cannot point at (a high whole-image
    value), reviewing the image whole is the better buy; the budget is spent, not exceeded."""
    a = det([[0.97, 0.0]])
    b = det([[0.97, 0.0]])
    cm = CostModel()
    whole = whole_image_costs(_pool(a, b), ReviewSettings(), cm)
    plan = plan_review(_pool(a, b), 100.0, ReviewSettings(), cm, full_value=[5.0, 0.0])
    assert plan.indices.tolist()[0] == 0 and plan.full[0]
    assert plan.items[0].tolist() == [] and plan.unchecked[0].tolist() == []
    assert plan.estimated_seconds[0] == pytest.approx(whole[0])
    assert plan.estimated_seconds.sum() <= 100.0


def test_equal_images_fill_the_budget_rather_than_none():
    pool = _pool(*[det([[0.3, 0.2]]) for _ in range(10)])
    cm = CostModel()
    one = cm.image_s + 0.3 * cm.fix_s + 0.7 * cm.delete_s
    plan = plan_review(
        pool, 4.5 * one, ReviewSettings(), cm, np.random.default_rng(0), full_value=np.zeros(10)
    )
    assert len(plan) == 4 and plan.estimated_seconds.sum() <= 4.5 * one


def test_near_duplicate_frames_are_not_both_planned():
    pool = _pool(det([[0.3, 0.2]]), det([[0.3, 0.2]]), det([[0.2, 0.3]]))
    prints = {0: np.ones(64), 1: np.ones(64), 2: -np.ones(64)}
    plan = plan_review(
        pool, 100.0, ReviewSettings(), CostModel(), fingerprint=prints.get, full_value=np.zeros(3)
    )
    assert sorted(plan.indices.tolist()) in ([0, 2], [1, 2])
    assert len(plan.dropped_duplicates) == 1


def test_review_cost_prices_each_item_and_draws_nothing():
    truth = ImageLabels(
        "x", 100, 100, np.array([[0, 0, 10, 10], [50, 50, 70, 70], [80, 80, 90, 90]]), [0, 1, 0]
    )
    items = ImageLabels(
        "x", 100, 100,
        np.array([[0, 0, 10, 10], [52, 52, 72, 72], [20, 20, 30, 30]], np.float32), [0, 0, 1],
    )  # fmt: skip
    cm = CostModel()
    cost, matched = cm.cost_of_review(items, truth)
    assert matched == [0, 1, None]
    assert (cost.verified, cost.relabelled, cost.deleted, cost.drawn) == (1, 1, 1, 0)
    want = cm.image_s + cm.verify_s + cm.relabel_s + cm.delete_s + cm.fix_s * cost.fixed
    assert cost.seconds == pytest.approx(want)
    # the same image reviewed whole also draws the object no item pointed at
    assert cm.cost_of_correction(items, truth).drawn == 1


def test_a_fix_item_puts_the_box_right_on_the_object_it_overlaps():
    truth = ImageLabels("x", 100, 100, np.array([[0, 0, 20, 20], [50, 50, 70, 70]]), [0, 1])
    # both items overlap their object at IoU ~0.3: too far to accept, close enough to point
    items = ImageLabels(
        "x", 100, 100, np.array([[10, 10, 30, 30], [60, 60, 80, 80]], np.float32), [0, 0]
    )
    cm = CostModel()
    as_checks, matched = cm.cost_of_review(items, truth)
    assert matched == [None, None] and as_checks.deleted == 2
    fixes, matched = cm.cost_of_review(items, truth, fix_from=1)
    assert matched == [None, 1]  # the check item is deleted, the fix item finds its object
    assert (fixes.deleted, fixes.fixed, fixes.relabelled) == (1, 1, 1)
    assert fixes.seconds == pytest.approx(cm.image_s + cm.delete_s + cm.fix_s + cm.relabel_s)
