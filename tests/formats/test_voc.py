"""Pascal VOC XML: the 1-based convention, provenance, size checks, the real raccoon set."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hitl_active.formats import ImageLabels, from_voc_xml, read_voc_dir, to_voc_xml, write_voc_dir

NAMES = ["raccoon", "dog"]


def _xml(objects: str, size: str = "<width>100</width><height>80</height>") -> str:
    return (
        f"<annotation><filename>a.jpg</filename><size>{size}<depth>3</depth></size>"
        f"{objects}</annotation>"
    )


def _obj(name: str = "raccoon", box: str = "1 1 100 80", extra: str = "") -> str:
    xmin, ymin, xmax, ymax = box.split()
    return (
        f"<object><name>{name}</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
        f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox>{extra}</object>"
    )


def test_one_based_inclusive_convention() -> None:
    labels, names = from_voc_xml(_xml(_obj(box="1 1 100 80") + _obj("dog", "11 21 30 40")))
    assert names == ["raccoon", "dog"]
    np.testing.assert_array_equal(labels.xyxy, [[0, 0, 100, 80], [10, 20, 30, 40]])
    assert labels.image == "a.jpg" and labels.size == (100, 80)
    xml = to_voc_xml(labels, names)
    assert "<xmin>1</xmin>" in xml and "<xmax>100</xmax>" in xml and "<xmin>11</xmin>" in xml


def test_whole_pixel_boxes_round_trip_exactly_and_others_within_half_a_pixel() -> None:
    exact = ImageLabels("a.jpg", 50, 40, [[0, 0, 50, 40], [3, 4, 4, 5]], [0, 1])
    back, _ = from_voc_xml(to_voc_xml(exact, NAMES), NAMES)
    np.testing.assert_array_equal(back.xyxy, exact.xyxy)
    frac = ImageLabels("a.jpg", 50, 40, [[2.3, 4.6, 20.49, 30.51]], [0])
    back, _ = from_voc_xml(to_voc_xml(frac, NAMES), NAMES)
    assert np.abs(back.xyxy - frac.xyxy).max() <= 0.5


def test_provenance_score_and_flags_survive() -> None:
    meta = [
        {"source": "model", "model_version": "v7", "confidence": 0.8, "tags": ["a", 1]},
        {"source": "human", "difficult": 1, "truncated": 1, "pose": "Left", "note": "42"},
    ]
    labels = ImageLabels(
        "img/x.jpg", 64, 64, [[1, 2, 30, 40], [5, 5, 9, 9]], [1, 0], [0.8, np.nan], meta
    )
    xml = to_voc_xml(labels, NAMES)
    assert "<provenance>" in xml and "<difficult>1</difficult>" in xml
    back, _ = from_voc_xml(xml, NAMES)
    assert back.box_meta == meta  # "42" stays a string, 0.8 stays a number
    assert back.scores[0] == pytest.approx(0.8) and np.isnan(back.scores[1])
    assert back.image == "x.jpg"


def test_class_list_given_or_discovered() -> None:
    _, names = from_voc_xml(_xml(_obj("dog")), ["raccoon"], extend_classes=True)
    assert names == ["raccoon", "dog"]
    labels, names = from_voc_xml(_xml(_obj("dog")), ["raccoon", "dog"])
    assert labels.class_id.tolist() == [1]


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        ("<annotation><oops></annotation>", "not valid XML"),
        ("<voc></voc>", "expected <annotation>"),
        (_xml(_obj("cat"), "<width>100</width><height>80</height>"), "unknown class 'cat'"),
        (_xml(_obj(box="1 1 x 80")), "needs numeric xmin"),
        (_xml("<object><name>raccoon</name></object>"), "needs numeric xmin"),
        (_xml(_obj(box="50 1 40 80")), "must not be below xmin"),
        (_xml(_obj(box="1 1 150 80")), "lies outside the 100x80 image"),
        (_xml(_obj(), "<width>0</width><height>0</height>"), "<size> is missing or zero"),
        (_xml(_obj(), ""), "pass image_size"),
        (_xml(_obj(extra="<score>high</score>")), "<score> must be a number, got 'high'"),
        (_xml(_obj(extra="<difficult>yes</difficult>")), "<difficult> must be a number"),
        (
            _xml(_obj(extra='<provenance><v type="json">{oops</v></provenance>')),
            "<provenance><v> is not JSON",
        ),
    ],
)
def test_errors(xml: str, fragment: str) -> None:
    with pytest.raises(ValueError) as err:
        from_voc_xml(xml, ["raccoon"])
    assert fragment in str(err.value)


def test_writer_errors(tmp_path: Path) -> None:
    bad_key = ImageLabels("a.jpg", 9, 9, [[0, 0, 1, 1]], [0], box_meta=[{"not ok": 1}])
    with pytest.raises(ValueError, match="not a valid XML element name"):
        to_voc_xml(bad_key, NAMES)
    with pytest.raises(ValueError, match="class id 5 is out of range"):
        to_voc_xml(ImageLabels("a.jpg", 9, 9, [[0, 0, 1, 1]], [5]), NAMES)
    unserialisable = ImageLabels("a.jpg", 9, 9, [[0, 0, 1, 1]], [0], box_meta=[{"o": object()}])
    with pytest.raises(ValueError, match=r"box_meta\['o'\] is not JSON-serialisable"):
        to_voc_xml(unserialisable, NAMES)
    numpy_meta = ImageLabels("a.jpg", 9, 9, [[0, 0, 1, 1]], [0], box_meta=[{"p": np.float32(2)}])
    assert from_voc_xml(to_voc_xml(numpy_meta, NAMES), NAMES)[0].box_meta == [{"p": 2.0}]
    twins = [ImageLabels("x/a.jpg", 9, 9), ImageLabels("y/a.png", 9, 9)]
    with pytest.raises(ValueError, match="base names are unique"):
        write_voc_dir(twins, tmp_path, NAMES)


def test_raccoon_set(raccoon_dir: Path) -> None:
    items, names = read_voc_dir(raccoon_dir / "annotations", raccoon_dir / "images")
    assert names == ["raccoon"]
    assert len(items) == 200
    assert sum(len(i) for i in items) == 217
    for labels in items:
        with Image.open(labels.image) as im:
            assert labels.size == im.size
        assert len(labels) >= 1
        assert (labels.xyxy[:, :2] >= 0).all() and (labels.xyxy[:, 2:] <= labels.size).all()
        assert (labels.xyxy[:, 2:] > labels.xyxy[:, :2]).all()
    first = next(i for i in items if Path(i.image).name == "raccoon-1.jpg")
    np.testing.assert_array_equal(first.xyxy, [[80, 87, 522, 408]])  # xmin 81 -> x1 80


def test_raccoon_xml_round_trip_is_exact(raccoon_dir: Path, tmp_path: Path) -> None:
    items, names = read_voc_dir(raccoon_dir / "annotations")
    write_voc_dir(items, tmp_path, names)
    again, names2 = read_voc_dir(tmp_path)
    assert names2 == names and len(again) == len(items)
    for a, b in zip(items, again, strict=True):
        assert a.image == b.image and a.size == b.size
        np.testing.assert_array_equal(a.xyxy, b.xyxy)


def _dataset(tmp_path: Path, xml_size: tuple[int, int], image_size: tuple[int, int]) -> Path:
    (tmp_path / "ann").mkdir()
    (tmp_path / "img").mkdir()
    Image.new("RGB", image_size).save(tmp_path / "img" / "a.jpg")
    size = f"<width>{xml_size[0]}</width><height>{xml_size[1]}</height>"
    (tmp_path / "ann" / "a.xml").write_text(_xml(_obj(box="11 11 50 40"), size))
    return tmp_path


def test_zero_size_in_xml_takes_the_image_size(tmp_path: Path) -> None:
    root = _dataset(tmp_path, (0, 0), (100, 80))
    (labels,), _ = read_voc_dir(root / "ann", root / "img")
    assert labels.size == (100, 80) and labels.image == str(root / "img" / "a.jpg")
    np.testing.assert_array_equal(labels.xyxy, [[10, 10, 50, 40]])


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("warn", [[10, 10, 50, 40]]), ("scale", [[5, 5, 25, 20]])],
)
def test_size_mismatch_policies(tmp_path: Path, caplog, policy: str, expected: list) -> None:
    root = _dataset(tmp_path, (100, 80), (50, 40))
    with caplog.at_level(logging.WARNING):
        (labels,), _ = read_voc_dir(root / "ann", root / "img", on_size_mismatch=policy)
    assert "differs from image 50x40" in caplog.text
    assert labels.size == (50, 40)
    np.testing.assert_allclose(labels.xyxy, np.minimum(expected, [50, 40, 50, 40]))


def test_size_mismatch_can_raise_and_policy_is_checked(tmp_path: Path) -> None:
    root = _dataset(tmp_path, (100, 80), (50, 40))
    with pytest.raises(ValueError, match="differs from image"):
        read_voc_dir(root / "ann", root / "img", on_size_mismatch="raise")
    with pytest.raises(ValueError, match="must be 'warn', 'scale' or 'raise'"):
        read_voc_dir(root / "ann", root / "img", on_size_mismatch="ignore")
    with pytest.raises(FileNotFoundError, match=r"no \*\.xml annotations"):
        read_voc_dir(root / "img")


def test_missing_image_keeps_xml_size_or_raises(tmp_path: Path, caplog) -> None:
    root = _dataset(tmp_path, (100, 80), (100, 80))
    (root / "img" / "a.jpg").unlink()
    with caplog.at_level(logging.WARNING):
        (labels,), _ = read_voc_dir(root / "ann", root / "img")
    assert labels.size == (100, 80) and "no image" in caplog.text
    with pytest.raises(ValueError, match="no image for it"):
        read_voc_dir(root / "ann", root / "img", on_size_mismatch="raise")
