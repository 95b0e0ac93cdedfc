"""The ground-truth type every format converts to and from.

:class:`ImageLabels` is the human side of the loop (what an image *should* contain), while
:class:`hitl_active.detections.Detections` is the model side (what a model predicted,
with probabilities). Converters in this package are pure functions between files or
dicts and ``ImageLabels``; they never read pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ImageLabels"]


@dataclass
class ImageLabels:
    """Boxes for one image, in pixels of the original (EXIF-corrected) image.

    Attributes:
        image: the image's path, file name or URL, as the source named it.
        width, height: size of the original image in pixels, after EXIF rotation.
        xyxy: ``(N, 4)`` float32 boxes ``x1, y1, x2, y2``.
        class_id: ``(N,)`` int64 class indices into the project's class list.
        scores: optional ``(N,)`` float32 confidences (for model-made boxes).
        box_meta: optional per-box dicts (provenance, annotator, region ids); ``[]`` or N long.
    """

    image: str
    width: int
    height: int
    xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    class_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    scores: np.ndarray | None = None
    box_meta: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        try:
            width, height = float(self.width), float(self.height)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"ImageLabels for {self.image!r}: width and height must be numbers, "
                f"got {self.width!r}x{self.height!r}"
            ) from exc
        if not (width.is_integer() and height.is_integer()):
            raise ValueError(
                f"ImageLabels for {self.image!r}: width and height must be whole pixels, "
                f"got {self.width}x{self.height}"
            )
        self.width, self.height = int(width), int(height)
        if self.width <= 0 or self.height <= 0:
            raise ValueError(
                f"ImageLabels for {self.image!r}: width and height must be positive, "
                f"got {self.width}x{self.height}"
            )
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if self.xyxy.size == 0:
            self.xyxy = self.xyxy.reshape(0, 4)
        raw_class = np.asarray(self.class_id).reshape(-1)
        self.class_id = raw_class.astype(np.int64)
        if raw_class.size and (
            (raw_class.dtype.kind == "f" and not np.array_equal(raw_class, self.class_id))
            or self.class_id.min() < 0
        ):
            raise ValueError(
                f"ImageLabels for {self.image!r}: class ids must be non-negative integers, "
                f"got {raw_class.tolist()}"
            )
        if self.xyxy.ndim != 2 or self.xyxy.shape[1] != 4:
            raise ValueError(
                f"ImageLabels.xyxy must have shape (N, 4), got {tuple(self.xyxy.shape)}"
            )
        n = len(self.xyxy)
        if not np.isfinite(self.xyxy).all():
            raise ValueError(f"ImageLabels for {self.image!r}: boxes contain NaN or infinity")
        inverted = (self.xyxy[:, 2] < self.xyxy[:, 0]) | (self.xyxy[:, 3] < self.xyxy[:, 1])
        if inverted.any():
            raise ValueError(
                f"ImageLabels for {self.image!r}: boxes must be x1, y1, x2, y2 with x2 >= x1 and "
                f"y2 >= y1; box {int(np.argmax(inverted))} is {self.xyxy[inverted][0].tolist()}"
            )
        if self.class_id.shape != (n,):
            raise ValueError(
                f"ImageLabels.class_id must have shape ({n},) to match xyxy, "
                f"got {tuple(self.class_id.shape)}"
            )
        if self.scores is not None:
            self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
            if self.scores.shape != (n,):
                raise ValueError(
                    f"ImageLabels.scores must have shape ({n},), got {tuple(self.scores.shape)}"
                )
        if self.box_meta and len(self.box_meta) != n:
            raise ValueError(
                f"ImageLabels.box_meta must be empty or hold one dict per box ({n}), "
                f"got {len(self.box_meta)}"
            )
        if not all(isinstance(m, dict) for m in self.box_meta):
            raise ValueError(
                "ImageLabels.box_meta entries must be dicts (e.g. {'source': 'human'}), got "
                f"{[type(m).__name__ for m in self.box_meta]}"
            )

    def __len__(self) -> int:
        return len(self.xyxy)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.width, self.height
