"""A columnar view of many images' detections, so scoring is vectorised over the pool.

:class:`hitl_active.detections.Detections` is one image's boxes. Scoring 100,000 images one
object at a time is slow in Python, so strategies work on :class:`PackedDetections`: all
boxes of all images concatenated, sorted by image, with an ``offsets`` array marking where
each image's boxes start (CSR layout). Per-image aggregation is then a single
``np.add.reduceat`` / ``np.maximum.reduceat`` / ``np.bincount`` call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hitl_active.detections import Detections

__all__ = ["PackedDetections", "segment_max", "segment_mean", "segment_sum"]


@dataclass
class PackedDetections:
    """All candidate boxes of ``n_images`` images, image-major.

    Attributes:
        class_probs: ``(M, C)`` float32 per-class probabilities of every box.
        confidence: ``(M,)`` float32 score of each box's predicted class.
        class_id: ``(M,)`` int64 predicted class of each box.
        xyxy: ``(M, 4)`` float32 boxes in original-image pixels.
        offsets: ``(n_images + 1,)`` int64; image ``i`` owns rows ``offsets[i]:offsets[i+1]``.
        embeddings: optional ``(n_images, D)`` float32 image embeddings.
        image_sizes: optional ``(n_images, 2)`` int64 ``(width, height)``.
    """

    class_probs: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    xyxy: np.ndarray
    offsets: np.ndarray
    embeddings: np.ndarray | None = None
    image_sizes: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.class_probs = np.asarray(self.class_probs, dtype=np.float32)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        self.class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        self.offsets = np.asarray(self.offsets, dtype=np.int64).reshape(-1)
        m = len(self.confidence)
        if self.class_probs.ndim != 2 or len(self.class_probs) != m:
            raise ValueError(
                f"PackedDetections.class_probs must have shape ({m}, C), "
                f"got {tuple(self.class_probs.shape)}"
            )
        if len(self.class_id) != m or len(self.xyxy) != m:
            raise ValueError(
                f"PackedDetections: confidence, class_id and xyxy must all have {m} rows, "
                f"got {len(self.class_id)} and {len(self.xyxy)}"
            )
        if len(self.offsets) < 1 or self.offsets[0] != 0 or self.offsets[-1] != m:
            raise ValueError(
                f"PackedDetections.offsets must start at 0 and end at the box count {m}, "
                f"got {self.offsets[:1].tolist()}...{self.offsets[-1:].tolist()}"
            )
        if np.any(np.diff(self.offsets) < 0):
            raise ValueError("PackedDetections.offsets must be non-decreasing")
        if self.embeddings is not None:
            self.embeddings = np.asarray(self.embeddings, dtype=np.float32)
            if self.embeddings.ndim != 2 or len(self.embeddings) != self.n_images:
                raise ValueError(
                    f"PackedDetections.embeddings must have shape ({self.n_images}, D), "
                    f"got {tuple(self.embeddings.shape)}"
                )
        if self.image_sizes is not None:
            self.image_sizes = np.asarray(self.image_sizes, dtype=np.int64).reshape(-1, 2)
            if len(self.image_sizes) != self.n_images:
                raise ValueError(
                    f"PackedDetections.image_sizes must have {self.n_images} rows, "
                    f"got {len(self.image_sizes)}"
                )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_detections(
        cls, detections: Sequence[Detections], num_classes: int | None = None
    ) -> PackedDetections:
        """Pack per-image :class:`Detections`; embeddings are kept only when all images have one."""
        if num_classes is None:
            if not detections:
                raise ValueError("cannot infer num_classes from an empty list; pass num_classes")
            num_classes = detections[0].num_classes
        for i, det in enumerate(detections):
            if det.num_classes != num_classes:
                raise ValueError(
                    f"image {i} has {det.num_classes} classes, expected {num_classes}: "
                    "all detections must come from the same model"
                )
        counts = np.fromiter((len(d) for d in detections), dtype=np.int64, count=len(detections))
        offsets = np.concatenate([[0], np.cumsum(counts)])

        def cat(parts: list[np.ndarray], shape: tuple[int, ...], dtype: type) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(shape, dtype)

        probs = cat([d.class_probs for d in detections], (0, num_classes), np.float32)
        embeddings = None
        if detections and all(d.embedding is not None for d in detections):
            embeddings = np.stack([d.embedding for d in detections])  # type: ignore[misc]
        sizes = None
        if detections and all(d.image_size is not None for d in detections):
            sizes = np.asarray([d.image_size for d in detections], dtype=np.int64)
        return cls(
            class_probs=probs.reshape(-1, num_classes),
            confidence=cat([d.confidence for d in detections], (0,), np.float32),
            class_id=cat([d.class_id for d in detections], (0,), np.int64),
            xyxy=cat([d.xyxy for d in detections], (0, 4), np.float32),
            offsets=offsets,
            embeddings=embeddings,
            image_sizes=sizes,
        )

    # ------------------------------------------------------------------ views
    @property
    def n_images(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_boxes(self) -> int:
        return len(self.confidence)

    @property
    def num_classes(self) -> int:
        return int(self.class_probs.shape[1])

    @property
    def counts(self) -> np.ndarray:
        """``(n_images,)`` number of boxes per image."""
        return np.diff(self.offsets)

    @property
    def image_index(self) -> np.ndarray:
        """``(M,)`` the image each box belongs to."""
        return np.repeat(np.arange(self.n_images), self.counts)

    def __len__(self) -> int:
        return self.n_images

    def image(self, i: int) -> Detections:
        """Image ``i`` back as a :class:`Detections`."""
        s, e = int(self.offsets[i]), int(self.offsets[i + 1])
        return Detections(
            xyxy=self.xyxy[s:e],
            confidence=self.confidence[s:e],
            class_id=self.class_id[s:e],
            class_probs=self.class_probs[s:e],
            image_size=None if self.image_sizes is None else tuple(self.image_sizes[i]),
            embedding=None if self.embeddings is None else self.embeddings[i],
        )

    def box_mask(self, keep: np.ndarray) -> PackedDetections:
        """Keep only boxes where ``keep`` (``(M,)`` bool) is true; images are all kept."""
        keep = np.asarray(keep, dtype=bool)
        kept_per_image = segment_sum(keep.astype(np.int64), self.offsets)
        return PackedDetections(
            class_probs=self.class_probs[keep],
            confidence=self.confidence[keep],
            class_id=self.class_id[keep],
            xyxy=self.xyxy[keep],
            offsets=np.concatenate([[0], np.cumsum(kept_per_image)]),
            embeddings=self.embeddings,
            image_sizes=self.image_sizes,
        )


# ---------------------------------------------------------------------- segment reductions
def segment_sum(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum of ``values`` within each segment; 0 for empty segments."""
    n = len(offsets) - 1
    if len(values) == 0:
        return np.zeros(n, dtype=values.dtype if values.dtype.kind == "i" else np.float64)
    index = np.repeat(np.arange(n), np.diff(offsets))
    out = np.bincount(index, weights=values, minlength=n)
    return out.astype(values.dtype) if values.dtype.kind == "i" else out


def segment_mean(values: np.ndarray, offsets: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """Mean within each segment; ``empty`` for empty segments."""
    counts = np.diff(offsets)
    sums = segment_sum(values.astype(np.float64), offsets)
    out = np.full(len(counts), empty, dtype=np.float64)
    nz = counts > 0
    out[nz] = sums[nz] / counts[nz]
    return out


def segment_max(values: np.ndarray, offsets: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """Maximum within each segment; ``empty`` for empty segments."""
    counts = np.diff(offsets)
    out = np.full(len(counts), empty, dtype=np.float64)
    nz = counts > 0
    if nz.any():
        out[nz] = np.maximum.reduceat(values, offsets[:-1][nz])
    return out
