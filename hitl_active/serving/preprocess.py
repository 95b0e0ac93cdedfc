"""Letterbox pre-processing, identical to Ultralytics' ``LetterBox`` for inference.

An image is scaled by ``r = min(H / h, W / w)`` (up or down), resized with bilinear
interpolation to ``(round(w * r), round(h * r))`` and padded with grey (114) on both sides.
With ``rect=True`` the padded shape is the smallest stride-aligned rectangle that holds the
resized image (Ultralytics' ``auto=True``), otherwise the square ``imgsz``. Boxes found in the
letterboxed tensor map back with :meth:`LetterboxInfo.to_original`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["LetterboxInfo", "letterbox", "letterbox_params", "to_batch", "to_blob"]

PAD_VALUE = 114


@dataclass(frozen=True)
class LetterboxInfo:
    """How one image was letterboxed: enough to map boxes back to its pixels."""

    orig_size: tuple[int, int]  # (width, height) of the original image
    shape: tuple[int, int]  # (height, width) of the padded network input
    ratio: float  # resize factor
    pad: tuple[int, int]  # (left, top) padding in pixels
    resized: tuple[int, int]  # (width, height) after resizing, before padding

    def to_original(self, xyxy: np.ndarray) -> np.ndarray:
        """Map ``(N, 4)`` boxes from network-input pixels to original pixels, clipped."""
        out = np.empty_like(xyxy, dtype=np.float32)
        left, top = self.pad
        w, h = self.orig_size
        # Per-axis scale of the actual (rounded) resize, as Ultralytics' ``scale_boxes``.
        out[:, 0::2] = (xyxy[:, 0::2] - left) * (w / self.resized[0])
        out[:, 1::2] = (xyxy[:, 1::2] - top) * (h / self.resized[1])
        np.clip(out[:, 0::2], 0, w, out=out[:, 0::2])  # column slices are views
        np.clip(out[:, 1::2], 0, h, out=out[:, 1::2])
        return out


def letterbox_params(
    height: int, width: int, imgsz: tuple[int, int], stride: int = 32, rect: bool = True
) -> LetterboxInfo:
    """Letterbox geometry for an ``height`` x ``width`` image into ``imgsz`` ``(H, W)``."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    new_h, new_w = imgsz
    r = min(new_h / height, new_w / width)
    unpad_w, unpad_h = max(round(width * r), 1), max(round(height * r), 1)
    dw, dh = new_w - unpad_w, new_h - unpad_h
    if rect:
        dw, dh = dw % stride, dh % stride
    left, right = round(dw / 2 - 0.1), round(dw / 2 + 0.1)
    top, bottom = round(dh / 2 - 0.1), round(dh / 2 + 0.1)
    return LetterboxInfo(
        orig_size=(width, height),
        shape=(unpad_h + top + bottom, unpad_w + left + right),
        ratio=r,
        pad=(left, top),
        resized=(unpad_w, unpad_h),
    )


def letterbox(
    image: np.ndarray, imgsz: tuple[int, int], stride: int = 32, rect: bool = True
) -> tuple[np.ndarray, LetterboxInfo]:
    """Resize and pad an ``(H, W, 3)`` uint8 image; channel order is kept."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    info = letterbox_params(image.shape[0], image.shape[1], imgsz, stride, rect)
    if (image.shape[1], image.shape[0]) != info.resized:
        image = cv2.resize(image, info.resized, interpolation=cv2.INTER_LINEAR)
    left, top = info.pad
    bottom = info.shape[0] - info.resized[1] - top
    right = info.shape[1] - info.resized[0] - left
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(
            image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
        )
    return image, info


def to_blob(image: np.ndarray, bgr: bool) -> np.ndarray:
    """``(1, 3, H, W)`` float32 RGB in ``[0, 1]`` from a letterboxed uint8 image."""
    return cv2.dnn.blobFromImage(image, scalefactor=1.0 / 255.0, swapRB=bgr, crop=False)


def to_batch(images: list[np.ndarray], bgr: bool) -> np.ndarray:
    """``(B, 3, H, W)`` float32 RGB in ``[0, 1]`` from equally sized letterboxed images."""
    return cv2.dnn.blobFromImages(images, scalefactor=1.0 / 255.0, swapRB=bgr, crop=False)
