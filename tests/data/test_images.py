"""Image decoding: EXIF orientation, corrupt files and their reasons, fast and safe paths."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hitl_active.data.images import ImageReadError, image_size, read_image, read_image_bgr


@pytest.fixture
def rotated_jpeg(tmp_path):
    """A 80x40 landscape JPEG with a white left band, stored with EXIF orientation 6."""
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, :20] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif, quality=95)
    return path


def test_exif_orientation_applied_by_both_decoders(rotated_jpeg) -> None:
    rgb = read_image(rotated_jpeg)
    bgr = read_image_bgr(rotated_jpeg)
    assert rgb.shape == bgr.shape == (80, 40, 3)
    assert image_size(rotated_jpeg) == (40, 80)
    assert rgb[:20].mean() > 200 and rgb[40:].mean() < 50  # white band now on top
    assert np.abs(rgb.astype(int) - bgr[..., ::-1].astype(int)).max() <= 2


def test_png_with_alpha_and_grey(tmp_path) -> None:
    rgba = tmp_path / "a.png"
    Image.fromarray(np.full((5, 7, 4), 200, np.uint8)).save(rgba)
    grey = tmp_path / "g.png"
    Image.fromarray(np.full((5, 7), 30, np.uint8)).save(grey)
    assert read_image_bgr(rgba).shape == (5, 7, 3)
    assert read_image_bgr(grey).shape == (5, 7, 3) and read_image_bgr(grey).max() == 30


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"this is text, not pixels", "corrupt or not an image"),
        (None, "truncated JPEG"),
    ],
)
def test_unreadable_files_give_reasons(tmp_path, rotated_jpeg, content, reason) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(rotated_jpeg.read_bytes()[:300] if content is None else content)
    with pytest.raises(ImageReadError, match=reason) as info:
        read_image_bgr(path)
    assert info.value.path == str(path)


def test_missing_and_directory(tmp_path) -> None:
    with pytest.raises(ImageReadError, match="file not found"):
        read_image_bgr(tmp_path / "nope.jpg")
    with pytest.raises(ImageReadError, match="directory"):
        read_image_bgr(tmp_path)


def test_errors_stay_clear_after_ultralytics_patches_pillow(tmp_path) -> None:
    import ultralytics.utils.patches  # noqa: F401  (replaces PIL.Image.open on import)

    path = tmp_path / "junk.png"
    path.write_bytes(b"junk" * 10)
    with pytest.raises(ImageReadError, match="corrupt or not an image"):
        read_image(path)
    with pytest.raises(ImageReadError, match="not a readable image"):
        image_size(path)
