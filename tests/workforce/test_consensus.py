import numpy as np
import pytest

from hitl_active.boxes import match_boxes
from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.consensus import cluster_boxes, merge_answers, pairwise_agreement
from hitl_active.workforce.records import Answer


def _ans(who, boxes, classes, image="im"):
    xyxy = np.array(boxes, float).reshape(-1, 4)
    return Answer(who, ImageLabels(image, 200, 200, xyxy, np.array(classes, dtype=np.int64)))


A = _ans("A", [[0, 0, 10, 10], [50, 50, 70, 70]], [0, 1])
B = _ans("B", [[1, 1, 11, 11], [51, 50, 71, 70]], [0, 2])
C = _ans("C", [[0, 1, 10, 12], [100, 100, 120, 120]], [0, 1])


def test_merge_hand_built_case_exactly():
    out = merge_answers([A, B, C])
    assert out.xyxy.tolist() == [[0, 1, 10, 11], [50.5, 50, 70.5, 70]]  # medians; 2 boxes: mean
    assert out.class_id.tolist() == [0, 1]  # the tie 1 vs 2 goes to the first name, A
    assert out.box_meta[0] == {
        "source": "consensus",
        "annotators": ["A", "B", "C"],
        "support": 1.0,
        "label_share": 1.0,
    }
    assert out.box_meta[1]["annotators"] == ["A", "B"]
    assert out.box_meta[1]["support"] == pytest.approx(2 / 3, abs=1e-4)
    assert out.box_meta[1]["label_share"] == 0.5  # C's lone box (support 1/3) is dropped


def test_weights_decide_votes_and_support():
    out = merge_answers([A, B, C], weights={"B": 2.0})
    assert out.class_id.tolist() == [0, 2]  # B outweighs A on the second object
    assert out.xyxy[1].tolist() == [51, 50, 71, 70]  # the weighted median is B's box
    strict = merge_answers([A, B, C], quorum=0.9)
    assert len(strict.class_id) == 1


def test_clusters_use_optimal_assignment():
    # greedy takes the 0.9 pair first and leaves row 1 unmatched; Hungarian matches both
    iou = np.array([[0.9, 0.6], [0.8, 0.0]])
    assert match_boxes(iou, 0.5) == [(0, 0)]
    assert sorted(match_boxes(iou, 0.5, method="hungarian")) == [(0, 1), (1, 0)]
    with pytest.raises(ValueError, match="hungarian"):
        match_boxes(iou, 0.5, method="best")
    clusters = cluster_boxes([A, B, C])
    assert [sorted(c.members) for c in clusters] == [["A", "B", "C"], ["A", "B"], ["C"]]


def test_pairwise_agreement_is_mean_pair_f1():
    c1 = _ans("C", [[0, 1, 10, 12]], [0])
    # A-B: 1 same-label match of 2+2 boxes; A-C and B-C: 1 of 2+1
    assert pairwise_agreement([A, B, c1]) == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    assert pairwise_agreement([_ans("x", [], []), _ans("y", [], [])]) == 1.0
    assert pairwise_agreement([A]) is None


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one image"):
        merge_answers([A, _ans("B", [], [], image="other")])
    with pytest.raises(ValueError, match="one answer per image"):
        merge_answers([A, A])
    with pytest.raises(ValueError, match="weights"):
        merge_answers([A, B], weights={"A": 0.0})
