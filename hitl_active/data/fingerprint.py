"""A small colour fingerprint of an image, for finding near-duplicate frames.

A frame of a burst (a parked camera, a video) differs from its neighbours by a shift of a
few pixels and sensor noise; an unrelated frame differs in layout and colours. The
fingerprint is the image shrunk to 8×8 RGB (box filter), minus its mean, scaled to unit
length, so the cosine similarity of two fingerprints is a dot product.

Measured on synthetic bursts (``scripts/bench_dedup.py`` and four generated sets of 90-400
frames, mixed and fixed sizes): same-scene pairs had a similarity of at least 0.937, pairs
of different scenes at most 0.902, so :data:`FINGERPRINT_THRESHOLD` 0.92 sits between them.
A detector's pooled embedding does not separate them while the model is weak (on the same
sets, different scenes reach a centred cosine of 1.0).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from hitl_active.data.images import ImageReadError, open_image

__all__ = ["FINGERPRINT_SIDE", "FINGERPRINT_THRESHOLD", "image_fingerprint"]

logger = logging.getLogger(__name__)

FINGERPRINT_SIDE = 8
FINGERPRINT_THRESHOLD = 0.92


def image_fingerprint(path: str | Path, side: int = FINGERPRINT_SIDE) -> np.ndarray | None:
    """The ``(side * side * 3,)`` float32 fingerprint of the image at ``path``.

    Returns ``None`` (and logs why) for a file that cannot be read as an image: such an image
    is never taken for a duplicate.
    """
    try:
        with open_image(path) as im:
            im.draft("RGB", (side * 4, side * 4))  # JPEG: decode at a fraction of the size
            small = im.convert("RGB").resize((side, side), Image.Resampling.BOX)
    except (ImageReadError, OSError, SyntaxError, ValueError) as exc:
        logger.warning("no fingerprint for %s: %s", path, exc)
        return None
    v = np.asarray(small, dtype=np.float32).ravel()
    v = v - v.mean()
    return v / max(float(np.linalg.norm(v)), 1e-6)
