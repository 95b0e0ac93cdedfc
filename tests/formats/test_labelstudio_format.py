"""Label Studio percent rectangles ⇄ pixel boxes."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.detections import Detections
from hitl_active.formats import ImageLabels
from hitl_active.formats.labelstudio import LabelStudioFormatError, from_ls_results, to_ls_results

CLASSES = ["circle", "square", "triangle"]


def _labels(rng: np.random.Generator, n: int, w: int, h: int) -> ImageLabels:
    x1 = rng.uniform(0, w - 20, n)
    y1 = rng.uniform(0, h - 20, n)
    x2 = np.minimum(x1 + rng.uniform(5, 200, n), w)
    y2 = np.minimum(y1 + rng.uniform(5, 200, n), h)
    return ImageLabels(
        image="a.jpg",
        width=w,
        height=h,
        xyxy=np.stack([x1, y1, x2, y2], 1),
        class_id=rng.integers(0, len(CLASSES), n),
        scores=rng.uniform(0, 1, n),
    )


@pytest.mark.parametrize(("w", "h"), [(640, 480), (37, 1999), (4032, 3024)])
def test_round_trip_within_a_pixel(w: int, h: int) -> None:
    labels = _labels(np.random.default_rng(w), 25, w, h)
    results = to_ls_results(labels, CLASSES)
    back = from_ls_results(results, CLASSES, "a.jpg")
    assert (back.width, back.height) == (w, h)
    np.testing.assert_array_equal(back.class_id, labels.class_id)
    assert np.abs(back.xyxy - labels.xyxy).max() < 1e-2
    np.testing.assert_allclose(back.scores, labels.scores, atol=1e-5)


def test_result_shape_matches_label_studio() -> None:
    labels = ImageLabels("a.jpg", 200, 100, xyxy=[[20, 10, 120, 60]], class_id=[1], scores=[0.5])
    (region,) = to_ls_results(labels, CLASSES, from_name="lbl", to_name="img")
    assert region["type"] == "rectanglelabels"
    assert (region["from_name"], region["to_name"]) == ("lbl", "img")
    assert (region["original_width"], region["original_height"]) == (200, 100)
    value = region["value"]
    assert value.pop("rectanglelabels") == ["square"]
    assert value == pytest.approx({"x": 10, "y": 10, "width": 50, "height": 50, "rotation": 0})
    assert region["score"] == 0.5


def test_detections_need_a_size_and_clip_to_the_image() -> None:
    det = Detections(
        xyxy=[[-5, 10, 50, 300]], confidence=[0.9], class_id=[0], class_probs=[[0.9, 0, 0]]
    )
    with pytest.raises(ValueError, match="image size"):
        to_ls_results(det, CLASSES)
    (region,) = to_ls_results(det, CLASSES, width=100, height=200)
    assert region["value"]["x"] == 0.0
    assert region["value"]["y"] + region["value"]["height"] == pytest.approx(100.0)


def test_rotated_box_becomes_its_bounding_box_or_is_rejected() -> None:
    region = {
        "id": "a",
        "type": "rectanglelabels",
        "original_width": 100,
        "original_height": 100,
        "value": {
            "x": 50,
            "y": 10,
            "width": 20,
            "height": 10,
            "rotation": 90,
            "rectanglelabels": ["circle"],
        },
    }
    back = from_ls_results([region], CLASSES, "a.jpg")
    # 90° clockwise around the top-left corner (50, 10): the box hangs below-left of it
    np.testing.assert_allclose(back.xyxy[0], [40, 10, 50, 30], atol=1e-4)
    assert back.box_meta[0]["rotation"] == 90
    with pytest.raises(LabelStudioFormatError, match="rotated"):
        from_ls_results([region], CLASSES, "a.jpg", rotation="reject")


@pytest.mark.parametrize(
    ("region", "message"),
    [
        (
            {"value": {"x": 1, "y": 1, "width": 1, "height": 1, "rectanglelabels": ["dog"]}},
            "not a project class",
        ),
        ({"value": {"x": 1, "y": 1, "width": 1, "height": 1, "rectanglelabels": []}}, "no label"),
        ({"value": {"x": 1, "rectanglelabels": ["circle"]}}, "lacks numeric"),
    ],
)
def test_bad_regions_say_what_is_wrong(region: dict, message: str) -> None:
    region = {"type": "rectanglelabels", "original_width": 10, "original_height": 10, **region}
    with pytest.raises(LabelStudioFormatError, match=message):
        from_ls_results([region], CLASSES, "a.jpg")


def test_empty_results_need_a_size_and_other_types_are_ignored() -> None:
    with pytest.raises(LabelStudioFormatError, match="no image size"):
        from_ls_results([], CLASSES, "a.jpg")
    other = {"type": "choices", "value": {"choices": ["x"]}}
    labels = from_ls_results([other], CLASSES, "a.jpg", width=5, height=6)
    assert len(labels) == 0 and labels.size == (5, 6)
