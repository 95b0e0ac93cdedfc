import numpy as np
import pytest

from hitl_active.bench.simulated_annotator import AnnotatorProfile, SimulatedAnnotator
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.labelstudio import from_ls_results, to_ls_results

TRUTH = ImageLabels("im", 300, 200, [[10, 10, 60, 50], [100, 80, 180, 160]], [0, 2])


def _perfect(**kw):
    return SimulatedAnnotator(
        "p", AnnotatorProfile.uniform(3, 1.0, 1.0, fp_rate=0, box_noise=0, **kw)
    )


def test_perfect_annotator_returns_the_truth():
    a = _perfect().annotate(TRUTH, np.random.default_rng(0))
    assert a.annotator == "p" and a.image == "im"
    np.testing.assert_allclose(a.labels.xyxy, TRUTH.xyxy)
    assert a.labels.class_id.tolist() == [0, 2]
    assert a.seconds > 0


def test_same_seed_same_answer():
    ann = SimulatedAnnotator("n", AnnotatorProfile.uniform(3, 0.7, 0.8, box_noise=0.05))
    x = ann.annotate(TRUTH, np.random.default_rng(4))
    y = ann.annotate(TRUTH, np.random.default_rng(4))
    np.testing.assert_array_equal(x.labels.xyxy, y.labels.xyxy)
    assert x.seconds == y.seconds


def test_wrong_prelabels_accepted_or_deleted_as_planted():
    wrong = ImageLabels("im", 300, 200, [[10, 10, 60, 50], [200, 20, 240, 60]], [1, 0])
    keep = _perfect(accept_wrong=1.0).annotate(TRUTH, np.random.default_rng(0), prelabel=wrong)
    assert keep.labels.class_id.tolist() == [1, 0, 2]  # both wrong boxes kept, object 2 drawn
    fix = _perfect(accept_wrong=0.0).annotate(TRUTH, np.random.default_rng(0), prelabel=wrong)
    assert sorted(fix.labels.class_id.tolist()) == [0, 2]
    assert fix.prelabel is wrong


def test_spammer_draws_random_boxes_inside_the_image():
    spam = SimulatedAnnotator("s", AnnotatorProfile.random_spammer(3, spam_boxes=4))
    rng = np.random.default_rng(1)
    boxes = np.vstack([spam.annotate(TRUTH, rng).labels.xyxy for _ in range(50)])
    assert len(boxes) > 100
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 300).all() and (boxes[:, 3] <= 200).all()


def test_answer_converts_to_a_label_studio_result():
    a = _perfect().annotate(TRUTH, np.random.default_rng(0))
    results = to_ls_results(a.labels, ["circle", "square", "cross"])
    back = from_ls_results(results, ["circle", "square", "cross"], "im")
    np.testing.assert_allclose(back.xyxy, TRUTH.xyxy, atol=0.01)


def test_profile_checked():
    with pytest.raises(ValueError, match="confusion"):
        AnnotatorProfile(np.array([0.9, 0.9]), np.eye(3))
    with pytest.raises(ValueError, match="sum to 1"):
        AnnotatorProfile(np.array([0.9, 0.9]), np.full((2, 2), 0.4))
