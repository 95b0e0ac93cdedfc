"""Image decoding: EXIF orientation, corrupt files and their reasons, fast and safe paths."""

from __future__ import annotations

import os
import resource
import threading
import time

import numpy as np
import pytest
from PIL import Image

from hitl_active.data import discovery
from hitl_active.data.discovery import SkippedEntry
from hitl_active.data.images import (
    MAX_IMAGE_PIXELS,
    DecodeBudget,
    ImageReadError,
    check_images,
    discover_images,
    image_size,
    read_image,
    read_image_bgr,
    read_image_reduced,
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


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(("width", "height"), [(20000, 20000), (12000, 10000)])
def test_pixel_bomb_refused_from_header_on_every_path(tmp_path, width, height) -> None:
    """A few-KB 1-bit PNG of hundreds of megapixels is refused before any pixel is decoded."""
    path = tmp_path / "bomb.png"
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # only while writing it
    try:
        Image.new("1", (width, height)).save(path)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    assert path.stat().st_size < 100_000 and width * height > MAX_IMAGE_PIXELS
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    for reader in (read_image_bgr, read_image, image_size):
        with pytest.raises(ImageReadError, match="limit") as info:
            reader(path)
        assert "pixels" in info.value.reason
        if width * height <= 2 * limit:  # under Pillow's own refusal: our check names the size
            assert f"{width}x{height}" in info.value.reason
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 100, f"decoding started: peak memory grew by {grown_mb:.0f} MB"
    readable, skipped, _ = check_images([path])
    assert not readable and "limit" in skipped[0].reason


def _textured_jpeg(path, size=(96, 128)) -> bytes:
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    pixels = np.stack([(xx * 2) % 256, (yy * 3) % 256, (xx + yy) % 256], -1).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=90)
    return path.read_bytes()


def test_jpeg_missing_its_last_bytes_is_restored_with_a_warning(tmp_path) -> None:
    whole = tmp_path / "whole.jpg"
    data = _textured_jpeg(whole)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[:-20])  # the end-of-image marker and a few bytes of the last blocks
    notes: list[str] = []
    bgr = read_image_bgr(cut, notes)
    assert bgr.shape == (96, 128, 3)
    assert len(notes) == 1 and "truncated JPEG" in notes[0]
    top = read_image_bgr(whole)[:64].astype(int)
    assert np.abs(bgr[:64].astype(int) - top).max() <= 1, "all but the last rows are intact"
    assert read_image(cut).shape == (96, 128, 3)  # the Pillow path restores it the same way
    readable, skipped, warnings = check_images([whole, cut])
    assert readable == [whole, cut] and not skipped
    assert set(warnings) == {cut} and "truncated" in warnings[cut]
    half = tmp_path / "half.jpg"
    half.write_bytes(data[: len(data) // 2])
    for reader in (read_image_bgr, read_image):
        with pytest.raises(ImageReadError, match="truncated JPEG"):
            reader(half)


@pytest.fixture
def hostile_pool(tmp_path, monkeypatch):
    """A pool with a symlink loop, a self-referencing link, a broken image link and a folder
    that cannot be listed (root can list anything, so for root the listing is refused here)."""
    pool = tmp_path / "pool"
    for rel in ("a/one.png", "locked/two.png", "three.png"):
        (pool / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(pool / rel)
    (pool / "a" / "loop").symlink_to("..")
    (pool / "self").symlink_to("self")
    (pool / "gone.jpg").symlink_to("nowhere.jpg")
    locked = pool / "locked"
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        real = discovery._scandir

        def scandir(folder):
            if os.path.samefile(folder, locked):
                raise PermissionError(13, "Permission denied", str(folder))
            return real(folder)

        monkeypatch.setattr(discovery, "_scandir", scandir)
    yield pool
    locked.chmod(0o755)


def test_discovery_lists_what_it_skipped_and_why(hostile_pool) -> None:
    skipped: list[SkippedEntry] = []
    found = list(discover_images(hostile_pool, skipped=skipped))
    assert [p.relative_to(hostile_pool).as_posix() for p in found] == ["a/one.png", "three.png"]
    reasons = {e.path.relative_to(hostile_pool).as_posix(): e.reason for e in skipped}
    assert set(reasons) == {"a/loop", "self", "gone.jpg", "locked"}
    assert "loop" in reasons["a/loop"] and "loop" in reasons["self"]
    assert "broken symlink" in reasons["gone.jpg"]
    assert "permission denied" in reasons["locked"]


def test_discovery_follows_a_symlinked_folder(tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (4, 4)).save(outside / "x.png")
    pool = tmp_path / "pool"
    pool.mkdir()
    (pool / "linked").symlink_to(outside)
    skipped: list[SkippedEntry] = []
    assert list(discover_images(pool, skipped=skipped)) == [pool / "linked" / "x.png"]
    assert not skipped
    (pool / "zz_again").symlink_to(outside)  # a second way into the same folder
    assert list(discover_images(pool, skipped=skipped)) == [pool / "linked" / "x.png"]
    assert [e.path.name for e in skipped] == ["zz_again"] and "listed once" in skipped[0].reason


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_reduced_decode_keeps_the_picture_and_tells_its_full_size(tmp_path, suffix) -> None:
    """A 1600x1000 picture, white left quarter, EXIF orientation 6, decoded to ~256 px."""
    pixels = np.zeros((1000, 1600, 3), np.uint8)
    pixels[:, :400] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6
    path = tmp_path / f"big{suffix}"
    image.save(path, exif=exif)
    small, full = read_image_reduced(path, max_side=256)
    assert full == (1000, 1600) == image_size(path)  # as displayed: portrait
    h, w = small.shape[:2]
    assert 256 <= h < 512 and abs(w / h - 1000 / 1600) < 0.02  # never below max_side
    assert small[: h // 4 - 2].mean() > 200 and small[h // 4 + 2 :].mean() < 50
    tiny, tiny_full = read_image_reduced(path, max_side=4000)  # no larger than max_side
    assert np.array_equal(tiny, read_image(path)) and tiny_full == (1000, 1600)


def test_a_decode_budget_lets_one_large_decode_run_at_a_time() -> None:
    budget, running, most = DecodeBudget(100), [0], [0]
    lock = threading.Lock()

    def decode(nbytes: int) -> None:
        with budget.reserve(nbytes):
            with lock:
                running[0] += nbytes
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= nbytes

    threads = [threading.Thread(target=decode, args=(n,)) for n in (150, 150, 60, 40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert most[0] in (100, 150)  # never two of 150, nor 150 with anything else
    with pytest.raises(ValueError, match="positive"):
        DecodeBudget(0)
