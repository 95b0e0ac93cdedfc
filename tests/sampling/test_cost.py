from __future__ import annotations

import numpy as np
import pytest
from sampling_fakes import det

from hitl_active.formats import ImageLabels
from hitl_active.sampling import CorrectionCost, CostModel, box_iou, match_boxes

COST = CostModel(verify_s=1.0, fix_s=5.0, relabel_s=3.0, delete_s=2.0, draw_s=20.0, image_s=0.5)


def truth(boxes, classes):
    return ImageLabels("a.jpg", 100, 100, np.asarray(boxes, np.float32), np.asarray(classes))


def test_defaults_follow_the_published_timings():
    c = CostModel()
    assert c.verify_s == 1.6 and 7.0 <= c.draw_s <= 35.0
    with pytest.raises(ValueError, match="non-negative"):
        CostModel(draw_s=-1)


@pytest.mark.parametrize(
    "pred_boxes, pred_probs, true_boxes, true_cls, expected",
    [
        # exact box, right class: verify
        ([[0, 0, 10, 10]], [[0.9, 0.0]], [[0, 0, 10, 10]], [0], dict(verified=1, seconds=1.5)),
        # loose box (IoU 0.64): fix
        ([[0, 0, 10, 10]], [[0.9, 0.0]], [[0, 0, 8, 8]], [0], dict(fixed=1, seconds=5.5)),
        # right place, wrong class: relabel
        ([[0, 0, 10, 10]], [[0.9, 0.0]], [[0, 0, 10, 10]], [1], dict(relabelled=1, seconds=3.5)),
        # false positive: delete; missed object: draw
        (
            [[50, 50, 60, 60]],
            [[0.9, 0.0]],
            [[0, 0, 10, 10]],
            [0],
            dict(deleted=1, drawn=1, seconds=22.5),
        ),
        # nothing predicted, nothing there: only the image look
        ([], [], [], [], dict(seconds=0.5)),
    ],
)
def test_cost_of_correction_counts_each_action(
    pred_boxes, pred_probs, true_boxes, true_cls, expected
):
    pre = det(pred_probs, boxes=pred_boxes) if pred_probs else det([], boxes=[])
    got = COST.cost_of_correction(pre, truth(np.reshape(true_boxes, (-1, 4)), true_cls))
    want = CorrectionCost(images=1, **expected)
    assert got.to_dict() == pytest.approx(want.to_dict())


def test_costs_add_up_and_estimate_is_monotone_in_missing_objects():
    a = CorrectionCost(10.0, 1, verified=2)
    b = CorrectionCost(5.0, 1, drawn=1)
    assert (
        (a + b).seconds == 15.0
        and (a + b).images == 2
        and (a + b).hours == pytest.approx(15 / 3600)
    )
    confident = COST.estimate_cost(det([[0.95, 0.0]]))
    with_hint = COST.estimate_cost(det([[0.95, 0.0], [0.2, 0.0]]))
    assert with_hint > confident  # a 0.2 hidden candidate may be a missed object to draw


def test_iou_and_matching():
    iou = box_iou([[0, 0, 10, 10], [20, 20, 30, 30]], [[0, 0, 10, 5], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[0.5, 0.0], [0.0, 1.0]])
    assert match_boxes(iou, 0.5) == [(1, 1), (0, 0)]
    assert match_boxes(iou, 0.6) == [(1, 1)]
