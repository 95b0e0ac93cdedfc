from __future__ import annotations

import math

import numpy as np
import pytest

from hitl_active.detections import Detections
from hitl_active.formats import ImageLabels
from hitl_active.models.evaluate import average_precision, evaluate


def pred(boxes, classes, scores, num_classes=2) -> Detections:
    n = len(boxes)
    probs = np.zeros((n, num_classes), np.float32)
    probs[np.arange(n), classes] = scores
    return Detections(np.reshape(boxes, (-1, 4)), scores, classes, probs, image_size=(100, 100))


def truth(boxes, classes) -> ImageLabels:
    return ImageLabels("x.jpg", 100, 100, np.reshape(boxes, (-1, 4)), np.asarray(classes, int))


BOX = [0, 0, 10, 10]
FAR = [50, 50, 60, 60]


def test_perfect_predictions_score_one():
    r = evaluate([pred([BOX, FAR], [0, 1], [0.9, 0.8])], [truth([BOX, FAR], [0, 1])], 2, ["a", "b"])
    assert r.map50_95 == pytest.approx(1.0) and r.map50 == pytest.approx(1.0)
    assert r.per_class_ap50 == {"a": pytest.approx(1.0), "b": pytest.approx(1.0)}
    assert r.n_images == 1 and r.n_truth == {"a": 1, "b": 1}


def test_higher_scored_false_positive_halves_precision():
    r = evaluate([pred([FAR, BOX], [0, 0], [0.9, 0.8])], [truth([BOX], [0])], 2)
    assert r.map50 == pytest.approx(0.5)  # precision 1/2 at recall 1, everywhere on the curve


def test_lower_scored_false_positive_costs_nothing():
    r = evaluate([pred([BOX, FAR], [0, 0], [0.9, 0.8])], [truth([BOX], [0])], 2)
    assert r.map50 == pytest.approx(1.0)


def test_loose_box_counts_only_at_low_iou_thresholds():
    # IoU 0.62: a true positive at 0.50, 0.55, 0.60 - three of ten thresholds
    r = evaluate([pred([[0, 0, 10, 6.2]], [0], [0.9])], [truth([BOX], [0])], 2)
    assert r.map50 == pytest.approx(1.0)
    assert r.map50_95 == pytest.approx(0.3)


def test_half_recall_gives_51_of_101_recall_points():
    r = evaluate([pred([BOX], [0], [0.9])], [truth([BOX, FAR], [0, 0])], 2)
    assert r.map50 == pytest.approx(51 / 101)


def test_wrong_class_duplicates_and_missing_classes():
    # a wrong-class box is a false positive of its class; a duplicate of a matched box too
    preds = [pred([BOX, BOX, FAR], [0, 0, 1], [0.9, 0.8, 0.7])]
    r = evaluate(preds, [truth([BOX], [0])], 2, ["a", "b"])
    assert r.per_class_ap50["a"] == pytest.approx(1.0)  # the duplicate scores lower
    assert math.isnan(r.per_class_ap50["b"]), "no ground truth for b: excluded"
    assert r.map50 == pytest.approx(1.0)
    # a class with ground truth but no predictions scores 0 and pulls the mean down
    r = evaluate([pred([BOX], [0], [0.9])], [truth([BOX, FAR], [0, 1])], 2, ["a", "b"])
    assert r.per_class_ap50["b"] == 0.0 and r.map50 == pytest.approx(0.5)


def test_matching_is_per_image_and_images_pool_their_scores():
    preds = [pred([BOX], [0], [0.6]), pred([BOX], [0], [0.9]), pred([FAR], [0], [0.95])]
    truths = [truth([BOX], [0]), truth([FAR], [0]), truth([FAR], [0])]
    r = evaluate(preds, truths, 2)
    # ranked: 0.95 TP, 0.9 FP (image 1 box misplaced), 0.6 TP; 3 truths
    # precision envelope: [1, 2/3, 2/3] at recall [1/3, 1/3, 2/3]
    expected = (34 * 1.0 + 33 * (2 / 3) + 34 * 0.0) / 101
    assert r.map50 == pytest.approx(expected)


def test_average_precision_edge_cases_and_errors():
    assert math.isnan(average_precision(np.zeros(0), np.zeros(0, bool), 0))
    assert average_precision(np.zeros(0), np.zeros(0, bool), 3) == 0.0
    with pytest.raises(ValueError, match="one prediction per ground-truth image"):
        evaluate([], [truth([BOX], [0])], 2)
    with pytest.raises(ValueError, match="outside"):
        evaluate([pred([], [], [])], [truth([BOX], [5])], 2)
    empty = evaluate([pred([], [], [])], [truth(np.zeros((0, 4)), [])], 2)
    assert math.isnan(empty.map50_95)
