"""YOLO text labels: line conversion, malformed input, files and datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
from hitl_active.formats import (
    ImageLabels,
    default_labels_dir,
    from_yolo_lines,
    read_class_names,
    read_yolo_dataset,
    read_yolo_labels,
    to_yolo_lines,
    write_yolo_dataset,
    write_yolo_labels,
)


def test_lines_are_normalised_centre_format() -> None:
    labels = ImageLabels("a.jpg", 200, 100, [[10, 20, 50, 60]], [3])
    assert to_yolo_lines(labels) == ["3 0.150000 0.400000 0.200000 0.400000"]
    assert to_yolo_lines(labels, decimals=2) == ["3 0.15 0.40 0.20 0.40"]


def test_from_lines_gives_pixel_boxes_and_skips_blank_and_comments() -> None:
    lines = ["# comment", "", "1 0.5 0.5 0.5 0.25  ", "0 0.25 0.75 0.1 0.1"]
    labels = from_yolo_lines(lines, "a.jpg", 400, 200)
    np.testing.assert_allclose(labels.xyxy, [[100, 75, 300, 125], [80, 140, 120, 160]], atol=1e-4)
    assert labels.class_id.tolist() == [1, 0]
    assert labels.scores is None
    assert labels.size == (400, 200)
    text = from_yolo_lines("\n".join(lines), "a.jpg", 400, 200)
    np.testing.assert_array_equal(text.xyxy, labels.xyxy)


def test_confidence_column_and_polygons() -> None:
    labels = from_yolo_lines(["2 0.5 0.5 0.2 0.2 0.87"], "a.jpg", 100, 100)
    assert labels.scores is not None and labels.scores[0] == pytest.approx(0.87)
    poly = from_yolo_lines(["0 0.1 0.2 0.5 0.1 0.3 0.9"], "b.jpg", 100, 50)
    np.testing.assert_allclose(poly.xyxy, [[10, 5, 50, 45]], atol=1e-4)


def test_tiny_overshoot_is_clipped() -> None:
    labels = from_yolo_lines(["0 0.5 0.5 1.000002 1.004"], "a.jpg", 640, 480)
    np.testing.assert_allclose(labels.xyxy, [[0, 0, 640, 480]], atol=1e-3)


def test_integral_float_class_id_is_accepted() -> None:
    assert from_yolo_lines(["2.0 0.5 0.5 0.1 0.1"], "a.jpg", 10, 10).class_id.tolist() == [2]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("0 0.5 0.5 0.1", "got 4 values"),
        ("0 0.1 0.1 0.2 0.2 0.3 0.3 0.4", "got 8 values"),
        ("cat 0.5 0.5 0.1 0.1", "class id must be a non-negative integer, got 'cat'"),
        ("-1 0.5 0.5 0.1 0.1", "non-negative integer"),
        ("1.5 0.5 0.5 0.1 0.1", "non-negative integer"),
        ("0 0.5 0.5 abc 0.1", "coordinates must be numbers"),
        ("0 0.5 nan 0.1 0.1", "must be finite"),
        ("0 0.5 0.5 -0.1 0.1", "width and height must be positive"),
        ("0 0.5 0.5 0 0.1", "width and height must be positive"),
        ("0 320 240 50 40", "normalised to [0, 1]"),
        ("0 0.5 0.5 1.1 0.1", "lies outside the image"),
        ("7 0.5 0.5 0.1 0.1", "class id 7 is out of range for 3 classes"),
    ],
)
def test_malformed_lines_name_file_line_and_expectation(line: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=r"labels/x\.txt, line 2") as err:
        from_yolo_lines(
            ["0 0.5 0.5 0.1 0.1", line], "x.jpg", 640, 480, source="labels/x.txt", num_classes=3
        )
    assert fragment in str(err.value)


def test_mixed_confidence_columns_are_rejected() -> None:
    with pytest.raises(ValueError, match="1 of 2 lines carry a confidence"):
        from_yolo_lines(["0 .5 .5 .1 .1 0.9", "0 .5 .5 .1 .1"], "x.jpg", 10, 10)


def test_file_round_trip_and_empty_file(tmp_path: Path) -> None:
    labels = ImageLabels("a.jpg", 333, 251, [[0.5, 1.25, 300.75, 250]], [1])
    path = write_yolo_labels(labels, tmp_path / "sub" / "a.txt")
    back = read_yolo_labels(path, "a.jpg", 333, 251)
    np.testing.assert_allclose(back.xyxy, labels.xyxy, atol=1e-3)
    empty = write_yolo_labels(ImageLabels("e.jpg", 10, 10), tmp_path / "e.txt")
    assert empty.read_text() == ""
    assert len(read_yolo_labels(empty, "e.jpg", 10, 10)) == 0


def test_read_error_names_the_label_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("0 0.5 0.5 0.1 0.1\n0 0.5\n")
    with pytest.raises(ValueError, match=r"bad\.txt, line 2"):
        read_yolo_labels(path, "bad.jpg", 10, 10)


def test_class_names_from_classes_txt_and_data_yaml(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("cat\ndog\n\n")
    assert read_class_names(tmp_path / "classes.txt") == ["cat", "dog"]
    (tmp_path / "a.yaml").write_text("names:\n  0: cat\n  1: dog\n")
    assert read_class_names(tmp_path / "a.yaml") == ["cat", "dog"]
    (tmp_path / "b.yaml").write_text("names: [x, y, z]\n")
    assert read_class_names(tmp_path / "b.yaml") == ["x", "y", "z"]
    (tmp_path / "c.yaml").write_text("names:\n  0: cat\n  2: dog\n")
    with pytest.raises(ValueError, match=r"keys must be 0\.\.1"):
        read_class_names(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("nc: 2\n")
    with pytest.raises(ValueError, match="expected a 'names' list"):
        read_class_names(tmp_path / "d.yaml")


def test_dataset_read_write_on_synthetic_data(tmp_path: Path) -> None:
    ds = make_synthetic_dataset(
        tmp_path / "syn", SyntheticSpec(n_images=6, min_side=64, max_side=96, seed=3), False
    )
    names = read_class_names(ds.root / "classes.txt")
    assert names == ds.class_names
    items = list(read_yolo_dataset(ds.images_dir, class_names=names))
    assert len(items) == 6
    for labels in items:
        with Image.open(labels.image) as im:
            assert labels.size == im.size
        assert (labels.xyxy[:, 2:] <= np.array(labels.size)).all()
    out = write_yolo_dataset(items, tmp_path / "out", names)
    assert read_class_names(out / "data.yaml") == names
    again = list(read_yolo_dataset(out / "images", out / "labels", names))
    assert [Path(a.image).name for a in again] == [Path(a.image).name for a in items]
    for a, b in zip(items, again, strict=True):
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-3)
        assert a.class_id.tolist() == b.class_id.tolist()


def test_dataset_image_without_label_file_is_background(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    Image.new("RGB", (30, 20)).save(tmp_path / "images" / "bg.png")
    (items,) = read_yolo_dataset(tmp_path / "images")
    assert len(items) == 0 and items.size == (30, 20)


def test_write_dataset_rejects_clashing_names_and_bad_classes(tmp_path: Path) -> None:
    a = ImageLabels("x/a.jpg", 10, 10)
    with pytest.raises(ValueError, match="base names are unique"):
        write_yolo_dataset([a, ImageLabels("y/a.png", 10, 10)], tmp_path, ["c"], copy_images=False)
    bad = ImageLabels("b.jpg", 10, 10, [[0, 0, 5, 5]], [4])
    with pytest.raises(ValueError, match="class id 4 is out of range"):
        write_yolo_dataset([bad], tmp_path, ["c"], copy_images=False)
    with pytest.raises(FileNotFoundError, match="copy_images=False"):
        write_yolo_dataset([ImageLabels(str(tmp_path / "nope.jpg"), 10, 10)], tmp_path, ["c"])


@pytest.mark.parametrize(
    ("images_dir", "expected"),
    [
        ("ds/images", "ds/labels"),
        ("ds/images/train", "ds/labels/train"),
        ("images/ds/images/val", "images/ds/labels/val"),
        ("photos", "labels"),
    ],
)
def test_default_labels_dir_follows_ultralytics(images_dir: str, expected: str) -> None:
    assert default_labels_dir(images_dir) == Path(expected)
