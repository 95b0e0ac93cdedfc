"""The one validated prediction type: everything a model says about one image.

A :class:`Detections` holds *all* candidate boxes the engine kept for an image, down to a
low confidence floor, because the uncertain ones are exactly what the sampler needs.
Pre-labels shown to annotators are the subset above a display threshold
(:meth:`Detections.above`).

Coordinates are ``xyxy`` in pixels of the original (EXIF-corrected) image.
``class_probs`` holds one probability per class for each box. For YOLO models these
are the independent per-class sigmoid scores of the head (they need not sum to one);
``confidence`` is the score of the winning class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Detections"]


def _check_shape(name: str, array: np.ndarray, expected: tuple[int | None, ...]) -> None:
    """Raise a ValueError naming the field, the expected and the actual shape."""
    ok = array.ndim == len(expected) and all(
        want is None or want == got for want, got in zip(expected, array.shape, strict=True)
    )
    if not ok:
        shown = "(" + ", ".join("N" if d is None else str(d) for d in expected) + ")"
        raise ValueError(f"Detections.{name} must have shape {shown}, got {tuple(array.shape)}")


@dataclass
class Detections:
    """Boxes, scores and class probabilities for one image.

    Attributes:
        xyxy: ``(N, 4)`` float32 boxes ``x1, y1, x2, y2`` in original-image pixels.
        confidence: ``(N,)`` float32 score of the predicted class.
        class_id: ``(N,)`` int64 predicted class index.
        class_probs: ``(N, C)`` float32 per-class probabilities of each box.
        image_size: ``(width, height)`` of the original image, when known.
        embedding: optional ``(D,)`` float32 image embedding (pooled backbone features).
        model_version: the model that produced these boxes, when known.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    class_probs: np.ndarray
    image_size: tuple[int, int] | None = None
    embedding: np.ndarray | None = None
    model_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if self.xyxy.size == 0:
            self.xyxy = self.xyxy.reshape(0, 4)
        self.confidence = np.asarray(self.confidence, dtype=np.float32)
        self.class_id = np.asarray(self.class_id, dtype=np.int64)
        self.class_probs = np.asarray(self.class_probs, dtype=np.float32)
        n = len(self.xyxy)
        _check_shape("xyxy", self.xyxy, (None, 4))
        _check_shape("confidence", self.confidence, (n,))
        _check_shape("class_id", self.class_id, (n,))
        if self.class_probs.ndim != 2 or self.class_probs.shape[0] != n:
            raise ValueError(
                f"Detections.class_probs must have shape (N, C) with N={n} boxes, "
                f"got {tuple(self.class_probs.shape)}"
            )
        if n and (self.class_id.min() < 0 or self.class_id.max() >= self.num_classes):
            raise ValueError(
                f"Detections.class_id must lie in [0, {self.num_classes}) for "
                f"{self.num_classes} classes, got values in "
                f"[{self.class_id.min()}, {self.class_id.max()}]"
            )
        if n and not np.all(np.isfinite(self.xyxy)):
            raise ValueError("Detections.xyxy holds NaN or infinite coordinates")
        if self.embedding is not None:
            self.embedding = np.asarray(self.embedding, dtype=np.float32)
            _check_shape("embedding", self.embedding, (None,))
        if self.image_size is not None:
            w, h = (int(v) for v in self.image_size)
            if w <= 0 or h <= 0:
                raise ValueError(
                    f"Detections.image_size must be positive (width, height), got {self.image_size}"
                )
            self.image_size = (w, h)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def empty(
        cls,
        num_classes: int,
        image_size: tuple[int, int] | None = None,
        embedding: np.ndarray | None = None,
        model_version: str | None = None,
    ) -> Detections:
        """No boxes, for a model with ``num_classes`` classes."""
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int64),
            class_probs=np.zeros((0, num_classes), np.float32),
            image_size=image_size,
            embedding=embedding,
            model_version=model_version,
        )

    @classmethod
    def from_class_probs(
        cls,
        xyxy: np.ndarray,
        class_probs: np.ndarray,
        **kwargs: Any,
    ) -> Detections:
        """Boxes whose class and confidence are the arg-max of ``class_probs``."""
        class_probs = np.asarray(class_probs, dtype=np.float32)
        if class_probs.ndim != 2:
            raise ValueError(f"class_probs must have shape (N, C), got {class_probs.shape}")
        class_id = class_probs.argmax(axis=1) if len(class_probs) else np.zeros(0, np.int64)
        confidence = (
            class_probs[np.arange(len(class_probs)), class_id]
            if len(class_probs)
            else np.zeros(0, np.float32)
        )
        return cls(
            xyxy=xyxy, confidence=confidence, class_id=class_id, class_probs=class_probs, **kwargs
        )

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.xyxy)

    @property
    def num_classes(self) -> int:
        return int(self.class_probs.shape[1])

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> Detections:
        """Select boxes by a boolean mask, an index array or a slice; image fields are kept."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            class_probs=self.class_probs[index],
            image_size=self.image_size,
            embedding=self.embedding,
            model_version=self.model_version,
            extra=dict(self.extra),
        )

    def above(self, threshold: float) -> Detections:
        """The boxes shown as pre-labels: confidence at or above ``threshold``."""
        return self[self.confidence >= threshold]

    @property
    def area(self) -> np.ndarray:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])

    # ------------------------------------------------------------------ serialisation
    def to_dict(self, decimals: int = 2) -> dict[str, Any]:
        """A JSON-ready dict (coordinates rounded to ``decimals``; probabilities to 4)."""
        out: dict[str, Any] = {
            "xyxy": np.round(self.xyxy, decimals).tolist(),
            "confidence": np.round(self.confidence, 4).tolist(),
            "class_id": self.class_id.tolist(),
            "class_probs": np.round(self.class_probs, 4).tolist(),
            "num_classes": self.num_classes,
        }
        if self.image_size is not None:
            out["image_size"] = list(self.image_size)
        if self.embedding is not None:
            out["embedding"] = np.round(self.embedding, 5).tolist()
        if self.model_version is not None:
            out["model_version"] = self.model_version
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Detections:
        """Inverse of :meth:`to_dict`."""
        missing = {"xyxy", "confidence", "class_id", "class_probs"} - set(data)
        if missing:
            raise ValueError(f"Detections dict is missing keys {sorted(missing)}")
        num_classes = int(data.get("num_classes", 0))
        probs = np.asarray(data["class_probs"], dtype=np.float32)
        if probs.size == 0:
            probs = probs.reshape(0, num_classes)
        size = data.get("image_size")
        emb = data.get("embedding")
        return cls(
            xyxy=np.asarray(data["xyxy"], dtype=np.float32).reshape(-1, 4),
            confidence=data["confidence"],
            class_id=data["class_id"],
            class_probs=probs,
            image_size=tuple(size) if size is not None else None,
            embedding=np.asarray(emb, dtype=np.float32) if emb is not None else None,
            model_version=data.get("model_version"),
            extra=dict(data.get("extra", {})),
        )
