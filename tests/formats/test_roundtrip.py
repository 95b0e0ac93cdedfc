"""Round trips through files of every format, to the pixel, and across formats on real data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hitl_active.formats import (
    ImageLabels,
    from_yolo_lines,
    read_coco,
    read_voc_dir,
    read_yolo_dataset,
    to_yolo_lines,
    write_coco,
    write_voc_dir,
    write_yolo_dataset,
)

NAMES = ["a", "b", "c"]
SIZES = [(640, 480), (37, 1021), (4000, 3000), (1, 1), (3, 2)]


def _random_items(rng: np.random.Generator, whole_pixels: bool = False) -> list[ImageLabels]:
    items = []
    for k, (w, h) in enumerate(SIZES * 2):
        n = 0 if k % 4 == 0 else int(rng.integers(1, 8))  # some images have no boxes
        lo = rng.uniform(0, [w, h], (n, 2))
        hi = rng.uniform(lo, [w, h])
        xyxy = np.concatenate([lo, hi], axis=1)
        if whole_pixels:
            xyxy = np.round(xyxy)
        xyxy[:, 2:] = np.maximum(xyxy[:, 2:], np.minimum(xyxy[:, :2] + 1, [w, h]))
        xyxy[:, :2] = np.minimum(xyxy[:, :2], xyxy[:, 2:] - 1e-3)
        items.append(ImageLabels(f"img_{k}.jpg", w, h, xyxy, rng.integers(0, 3, n)))
    return items


def _via_yolo(items: list[ImageLabels], tmp: Path) -> list[ImageLabels]:
    out = write_yolo_dataset(items, tmp, NAMES, copy_images=False)
    return [
        from_yolo_lines(
            (out / "labels" / f"{Path(i.image).stem}.txt").read_text().splitlines(),
            i.image,
            i.width,
            i.height,
            num_classes=len(NAMES),
        )
        for i in items
    ]


def _via_coco(items: list[ImageLabels], tmp: Path) -> list[ImageLabels]:
    back, names = read_coco(write_coco(items, tmp / "c.json", NAMES))
    assert names == NAMES
    return back


def _via_voc(items: list[ImageLabels], tmp: Path) -> list[ImageLabels]:
    back, names = read_voc_dir(write_voc_dir(items, tmp / "ann", NAMES), class_names=NAMES)
    assert names == NAMES
    return back


FORMATS: dict[str, tuple[Callable, float]] = {
    # format: (round trip, max abs pixel error for arbitrary float boxes)
    "yolo": (_via_yolo, 1.0),  # 6 decimals of the image size: < 0.005 px up to 4000 px
    "coco": (_via_coco, 0.01),  # float32-exact decimals
    "voc": (_via_voc, 1.0),  # whole pixels: a sub-pixel box grows to one pixel
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("seed", [0, 1])
def test_random_boxes_round_trip(fmt: str, seed: int, tmp_path: Path) -> None:
    via, tolerance = FORMATS[fmt]
    items = _random_items(np.random.default_rng(seed))
    back = via(items, tmp_path)
    assert len(back) == len(items)
    assert sum(len(b) == 0 for b in back) >= 2  # empty images survive
    for a, b in zip(items, back, strict=True):
        assert Path(b.image).name == Path(a.image).name and b.size == a.size
        assert b.class_id.tolist() == a.class_id.tolist()
        if len(a):
            assert np.abs(b.xyxy - a.xyxy).max() < tolerance, (fmt, a.image)
        if fmt == "voc":  # boxes of a pixel or more: each side moves by rounding only
            big = ((a.xyxy[:, 2:] - a.xyxy[:, :2]) >= 1).all(axis=1)
            assert np.abs(b.xyxy[big] - a.xyxy[big]).max(initial=0) <= 0.5 + 1e-4


def test_yolo_error_is_far_below_a_pixel() -> None:
    items = _random_items(np.random.default_rng(5))
    worst = max(
        float(
            np.abs(from_yolo_lines(to_yolo_lines(i), i.image, i.width, i.height).xyxy - i.xyxy).max(
                initial=0
            )
        )
        for i in items
    )
    assert worst < 0.005


@pytest.mark.parametrize("fmt", FORMATS)
def test_whole_pixel_boxes_are_exact_in_every_format(fmt: str, tmp_path: Path) -> None:
    via, _ = FORMATS[fmt]
    items = [i for i in _random_items(np.random.default_rng(2), whole_pixels=True) if i.width > 3]
    for a, b in zip(items, via(items, tmp_path), strict=True):
        np.testing.assert_allclose(b.xyxy, a.xyxy, atol=0.005 if fmt == "yolo" else 0)


def test_raccoon_voc_to_coco_to_yolo_and_back(raccoon_dir: Path, tmp_path: Path) -> None:
    voc, names = read_voc_dir(raccoon_dir / "annotations", raccoon_dir / "images")
    assert len(voc) == 200
    coco, coco_names = read_coco(write_coco(voc, tmp_path / "r.json", names))
    assert coco_names == names
    out = write_yolo_dataset(coco, tmp_path / "yolo", names)
    yolo = sorted(read_yolo_dataset(out / "images", out / "labels", names), key=lambda i: i.image)
    assert len(yolo) == 200
    write_voc_dir(yolo, tmp_path / "voc", names)
    again, _ = read_voc_dir(tmp_path / "voc", out / "images", names, on_size_mismatch="raise")
    by_name = {Path(i.image).name: i for i in voc}
    for labels in again:
        original = by_name[Path(labels.image).name]
        assert labels.size == original.size
        assert labels.class_id.tolist() == original.class_id.tolist()
        assert np.abs(labels.xyxy - original.xyxy).max() < 1
    # the original integer VOC coordinates come back exactly
    for xml in (raccoon_dir / "annotations").glob("raccoon-1*.xml"):
        a = (tmp_path / "voc" / xml.name).read_text()
        for tag in ("xmin", "ymin", "xmax", "ymax"):
            assert _values(a, tag) == _values(xml.read_text(), tag)


def _values(xml: str, tag: str) -> list[str]:
    return [part.split(f"</{tag}>")[0] for part in xml.split(f"<{tag}>")[1:]]
