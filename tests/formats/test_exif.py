"""EXIF-rotated photos: sizes, pixels and labels all in the displayed frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hitl_active.data.images import image_size, read_image
from hitl_active.formats import (
    ImageLabels,
    raw_to_displayed,
    read_voc_dir,
    read_yolo_dataset,
    to_voc_xml,
    write_yolo_dataset,
)

RAW_SIZE = (120, 80)  # stored width, height
MARKER = (10, 5, 40, 25)  # a red block on the stored pixels, x1 y1 x2 y2 (exclusive ends)
ORIENTATIONS = [1, 2, 3, 4, 5, 6, 7, 8]


def _photo(path: Path, orientation: int) -> Path:
    """A JPEG whose stored pixels carry MARKER, tagged with an EXIF orientation."""
    pixels = np.full((RAW_SIZE[1], RAW_SIZE[0], 3), 40, np.uint8)
    x1, y1, x2, y2 = MARKER
    pixels[y1:y2, x1:x2] = (230, 20, 20)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    return path


def _find_marker(rgb: np.ndarray) -> np.ndarray:
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 100)
    ys, xs = np.nonzero(red)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)


def _expected(orientation: int) -> np.ndarray:
    return raw_to_displayed(np.array([MARKER], np.float64), orientation, RAW_SIZE)[0]


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_size_and_pixels_are_displayed(tmp_path: Path, orientation: int) -> None:
    path = _photo(tmp_path / "p.jpg", orientation)
    transposed = orientation >= 5
    displayed = RAW_SIZE[::-1] if transposed else RAW_SIZE
    assert image_size(path) == displayed
    rgb = read_image(path)
    assert rgb.shape == (displayed[1], displayed[0], 3)
    # raw_to_displayed agrees with how the decoder rotates the pixels
    np.testing.assert_allclose(_find_marker(rgb), _expected(orientation), atol=1)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_opencv_decodes_the_same_frame(tmp_path: Path, orientation: int) -> None:
    """Ultralytics trains on cv2.imread pixels: they must match our displayed frame."""
    import cv2

    path = _photo(tmp_path / "p.jpg", orientation)
    bgr = cv2.imread(str(path))
    assert (bgr.shape[1], bgr.shape[0]) == image_size(path)
    np.testing.assert_allclose(_find_marker(bgr[..., ::-1]), _expected(orientation), atol=1)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_yolo_labels_in_displayed_frame_round_trip(tmp_path: Path, orientation: int) -> None:
    (tmp_path / "src").mkdir()
    path = _photo(tmp_path / "src" / "p.jpg", orientation)
    box = _find_marker(read_image(path))
    labels = ImageLabels(str(path), *image_size(path), [box], [0])
    out = write_yolo_dataset([labels], tmp_path / "yolo", ["marker"])
    (back,) = read_yolo_dataset(out / "images", out / "labels", ["marker"])
    assert back.size == labels.size
    assert np.abs(back.xyxy - labels.xyxy).max() < 1
    # the copied file still shows the marker under the box
    np.testing.assert_allclose(_find_marker(read_image(back.image)), back.xyxy[0], atol=1)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_voc_labels_in_displayed_frame_round_trip(tmp_path: Path, orientation: int) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "ann").mkdir()
    path = _photo(tmp_path / "img" / "p.jpg", orientation)
    box = _find_marker(read_image(path))
    labels = ImageLabels(str(path), *image_size(path), [box], [0])
    (tmp_path / "ann" / "p.xml").write_text(to_voc_xml(labels, ["marker"]))
    (back,), _ = read_voc_dir(tmp_path / "ann", tmp_path / "img")
    assert back.size == labels.size
    np.testing.assert_array_equal(back.xyxy, labels.xyxy)


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_voc_boxes_drawn_on_raw_pixels_are_rotated(tmp_path: Path, orientation: int) -> None:
    """A tool that ignored EXIF wrote the stored size and stored-pixel boxes."""
    (tmp_path / "img").mkdir()
    (tmp_path / "ann").mkdir()
    path = _photo(tmp_path / "img" / "p.jpg", orientation)
    raw = ImageLabels("p.jpg", *RAW_SIZE, [MARKER], [0])
    (tmp_path / "ann" / "p.xml").write_text(to_voc_xml(raw, ["marker"]))
    (back,), _ = read_voc_dir(tmp_path / "ann", tmp_path / "img")
    assert back.size == image_size(path)
    np.testing.assert_allclose(back.xyxy[0], _find_marker(read_image(path)), atol=1)


def test_raw_to_displayed_rejects_bad_orientation() -> None:
    with pytest.raises(ValueError, match="orientation must be 1-8"):
        raw_to_displayed(np.zeros((1, 4)), 9, (10, 10))
