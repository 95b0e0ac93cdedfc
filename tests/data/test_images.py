"""Image decoding: EXIF orientation, corrupt files and their reasons, fast and safe paths."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hitl_active.data.images import (
    ImageReadError,
    discover_images,
    image_size,
    read_image,
    read_image_bgr,
)


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
    with pytest.raises(ImageReadError, match="corrupt or not an image"):
        image_size(path)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path) -> None:
    ramp = (np.arange(256, dtype=np.uint32) * 256).astype(np.uint16).reshape(16, 16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    rgb = read_image(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (16, 16, 3)
    assert len(np.unique(rgb[:, :, 0])) > 200, "a 16-bit ramp must keep its levels"
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] >= 254


def test_oversized_image_is_an_image_read_error(tmp_path, monkeypatch) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (64, 64)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64*64 > 2*100: Pillow refuses
    with pytest.raises(ImageReadError, match="too large"):
        read_image(path)
    with pytest.raises(ImageReadError, match="too large"):
        image_size(path)


def test_discovery_skips_hidden_files_and_folders(tmp_path) -> None:
    for rel in ("a.jpg", "sub/b.PNG", "._a.jpg", ".thumbs/c.jpg", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(tmp_path / rel, format="PNG")
    found = [p.relative_to(tmp_path).as_posix() for p in discover_images(tmp_path)]
    assert found == ["a.jpg", "sub/b.PNG"]
