"""Letterbox geometry matches Ultralytics and boxes map back to original pixels."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.serving.preprocess import letterbox, letterbox_params, to_batch, to_blob


@pytest.mark.parametrize(
    ("hw", "imgsz", "rect", "shape", "pad"),
    [
        ((480, 640), (640, 640), True, (480, 640), (0, 0)),
        ((427, 640), (640, 640), True, (448, 640), (0, 10)),  # 21 px of padding: 10 + 11
        ((427, 640), (640, 640), False, (640, 640), (0, 106)),
        ((495, 450), (128, 128), True, (128, 128), (6, 0)),
        ((100, 1000), (640, 640), True, (64, 640), (0, 0)),
        ((1000, 10), (320, 320), True, (320, 32), (14, 0)),
    ],
)
def test_letterbox_params(hw, imgsz, rect, shape, pad) -> None:
    info = letterbox_params(*hw, imgsz, stride=32, rect=rect)
    assert info.shape == shape
    assert info.pad == pad
    assert info.orig_size == (hw[1], hw[0])


@pytest.mark.parametrize("rect", [True, False])
@pytest.mark.parametrize("hw", [(375, 500), (640, 426), (194, 259), (33, 700)])
def test_letterbox_matches_ultralytics(hw, rect) -> None:
    from ultralytics.data.augment import LetterBox

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (*hw, 3), dtype=np.uint8)
    ours, _ = letterbox(image, (320, 320), stride=32, rect=rect)
    theirs = LetterBox((320, 320), auto=rect, stride=32)(image=image)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_boxes_map_back_to_original_pixels() -> None:
    info = letterbox_params(300, 400, (640, 640), rect=True)  # scale 1.6, 480 x 640, no pad
    net = np.array([[160.0, 80.0, 320.0, 240.0], [-20.0, -5.0, 700.0, 500.0]], np.float32)
    back = info.to_original(net)
    np.testing.assert_allclose(back[0], [100, 50, 200, 150], atol=1e-4)
    np.testing.assert_allclose(back[1], [0, 0, 400, 300], atol=1e-4)  # clipped to the image


def test_to_blob_is_rgb_float_nchw() -> None:
    bgr = np.zeros((2, 3, 3), np.uint8)
    bgr[..., 0] = 255  # blue
    blob = to_blob(bgr, bgr=True)
    assert blob.shape == (1, 3, 2, 3) and blob.dtype == np.float32
    assert blob[0, 2].min() == 1.0 and blob[0, 0].max() == 0.0  # blue lands in channel 2
    batch = to_batch([bgr, bgr[:, ::-1].copy()], bgr=True)
    assert batch.shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(batch[0], blob[0])


def test_rejects_grey_images() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        letterbox(np.zeros((10, 10), np.uint8), (64, 64))
