"""COCO detection JSON: structure, provenance, category mapping and errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hitl_active.formats import ImageLabels, from_coco, read_coco, to_coco, write_coco

NAMES = ["cat", "dog", "bird"]


def _items() -> list[ImageLabels]:
    model = {"source": "model", "model_version": "v3", "confidence": 0.91}
    human = {"source": "human_corrected", "annotator": "ann@example.org"}
    return [
        ImageLabels(
            "imgs/a.jpg",
            640,
            480,
            [[10.5, 20.25, 110.75, 220.0], [0, 0, 640, 480]],
            [2, 0],
            scores=[0.91, np.nan],
            box_meta=[model, human],
        ),
        ImageLabels("imgs/empty.jpg", 32, 48),
    ]


def test_structure_categories_are_one_based() -> None:
    data = to_coco(_items(), NAMES, info={"description": "test"})
    assert data["info"] == {"description": "test"}
    assert [c["id"] for c in data["categories"]] == [1, 2, 3]
    assert [c["name"] for c in data["categories"]] == NAMES
    assert data["images"][1] == {"id": 2, "file_name": "imgs/empty.jpg", "width": 32, "height": 48}
    first = data["annotations"][0]
    assert first["category_id"] == 3 and first["image_id"] == 1 and first["iscrowd"] == 0
    assert first["bbox"] == [10.5, 20.25, 100.25, 199.75]
    assert first["area"] == pytest.approx(100.25 * 199.75, rel=1e-6)
    assert first["score"] == pytest.approx(0.91)
    assert first["attributes"]["model_version"] == "v3"
    assert "score" not in data["annotations"][1]
    json.dumps(data)  # serialisable as is


def test_round_trip_keeps_scores_and_provenance(tmp_path: Path) -> None:
    items = _items()
    path = write_coco(items, tmp_path / "out" / "coco.json", NAMES, indent=2)
    back, names = read_coco(path)
    assert names == NAMES
    assert [b.image for b in back] == [a.image for a in items]
    np.testing.assert_allclose(back[0].xyxy, items[0].xyxy, atol=1e-3)
    assert back[0].class_id.tolist() == [2, 0]
    assert back[0].scores[0] == pytest.approx(0.91) and np.isnan(back[0].scores[1])
    assert back[0].box_meta == items[0].box_meta
    assert len(back[1]) == 0 and back[1].size == (32, 48)
    assert back[1].scores is None and back[1].box_meta == []


def test_numpy_values_in_box_meta_become_plain_json() -> None:
    meta = {"confidence": np.float32(0.5), "probs": np.array([0.25, 0.75]), "n": np.int64(3)}
    labels = ImageLabels("a.jpg", 10, 10, [[0, 0, 5, 5]], [0], box_meta=[meta])
    attributes = to_coco([labels], NAMES)["annotations"][0]["attributes"]
    assert json.loads(json.dumps(attributes)) == {"confidence": 0.5, "probs": [0.25, 0.75], "n": 3}


def test_relative_file_names() -> None:
    data = to_coco([ImageLabels("/data/set/images/a.jpg", 8, 8)], NAMES, relative_to="/data/set")
    assert data["images"][0]["file_name"] == "images/a.jpg"
    with pytest.raises(ValueError, match="is not inside relative_to"):
        to_coco([ImageLabels("/elsewhere/a.jpg", 8, 8)], NAMES, relative_to="/data/set")


def test_float_image_sizes_are_accepted() -> None:
    data = _with("images.0.width", 100.0)
    (labels,), _ = from_coco(data)
    assert labels.size == (100, 80)


def test_non_contiguous_category_ids_map_to_sorted_indices() -> None:
    data = {
        "images": [{"id": 7, "file_name": "x.jpg", "width": 100, "height": 100}],
        "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 90, "bbox": [1, 2, 3, 4]},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 10, 10]},
            {"id": 3, "image_id": 7, "category_id": 1, "bbox": [5, 5, 50, 50], "iscrowd": 1},
        ],
    }
    (labels,), names = from_coco(data)
    assert names == ["person", "toothbrush"]
    assert labels.class_id.tolist() == [1, 0]  # the crowd region is skipped
    np.testing.assert_allclose(labels.xyxy, [[1, 2, 4, 6], [0, 0, 10, 10]])


def test_small_overshoot_is_clipped() -> None:
    data = to_coco([ImageLabels("a.jpg", 100, 50)], ["c"])
    data["annotations"] = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [-0.4, 0, 100.6, 50]}]
    (labels,), _ = from_coco(data)
    np.testing.assert_allclose(labels.xyxy, [[0, 0, 100, 50]], atol=1e-4)


def _base() -> dict[str, Any]:
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}],
    }


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(_base())
    *keys, last = path.split(".")
    target: Any = data
    for key in keys:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (_with("categories", _DELETE), "no 'categories' field"),
        (_with("images.0.width", _DELETE), "image 1 has no 'width'"),
        (_with("images.0.width", 0), "width and height must be positive"),
        (_with("images.0.width", 10.5), "width and height must be positive"),
        (_with("images.0.height", "80"), "width and height must be positive"),
        (_with("annotations.0.image_id", 9), "image_id 9 is not in 'images'"),
        (_with("annotations.0.category_id", 4), "unknown category_id 4; known ids are [1]"),
        (_with("annotations.0.bbox", [1, 2, 3]), "bbox must be 4 numbers"),
        (_with("annotations.0.bbox", [1, 2, -3, 4]), "w, h >= 0"),
        (_with("annotations.0.bbox", [1, 2, 3, "x"]), "bbox must be 4 numbers"),
        (_with("annotations.0.bbox", [50, 10, 200, 20]), "lies outside its 100x80 image"),
        (_with("annotations.0.bbox", _DELETE), "annotation 5 has no 'bbox'"),
        ({**_base(), "images": _base()["images"] * 2}, "image id 1 appears twice"),
        (
            {**_base(), "categories": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]},
            "duplicate ids",
        ),
    ],
)
def test_errors(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as err:
        from_coco(data)
    assert fragment in str(err.value)


def test_writer_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="class id 3 is out of range for 3"):
        to_coco([ImageLabels("a.jpg", 10, 10, [[0, 0, 1, 1]], [3])], NAMES)
    unserialisable = ImageLabels("a.jpg", 10, 10, [[0, 0, 1, 1]], [0], box_meta=[{"x": object()}])
    with pytest.raises(ValueError, match="JSON-serialisable"):
        to_coco([unserialisable], NAMES)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json is not valid JSON"):
        read_coco(bad)
