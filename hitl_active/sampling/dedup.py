"""Near-duplicate removal inside a batch: a batch never holds the same frame twice.

Video-like pools hold many near-identical frames; an uncertainty strategy happily ranks
all copies of one confusing frame at the top. The filter walks a ranked candidate list
and drops a candidate that duplicates one already kept (or, optionally, a labelled image).

Two images are duplicates when their image fingerprints
(:func:`~hitl_active.data.fingerprint.image_fingerprint`, an 8×8 colour thumbnail) have a
cosine similarity at or above ``fingerprint_threshold``. The filter asks for fingerprints
lazily, so only the candidates it walks are read.

Without fingerprints (predictions alone, no image files) it falls back to the model: the
embeddings' cosine similarity at or above ``threshold``, measured after subtracting the
pool's mean embedding, and, when the pool's shown boxes are given, the same boxes in both
(count, class, IoU >= ``box_iou``). That rule holds only with a well-trained model:
``scripts/bench_dedup.py`` measures both on synthetic bursts with a weak tiny model, where
unrelated frames reach an embedding similarity of 1.0 and the box test misses a quarter of
the burst pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.data.fingerprint import FINGERPRINT_THRESHOLD
from hitl_active.sampling.diversity import normalise_rows
from hitl_active.sampling.packed import PackedDetections

__all__ = [
    "DuplicateFilter",
    "centred_similarity",
    "drop_near_duplicates",
    "same_boxes",
]


def centred_similarity(embeddings: np.ndarray) -> np.ndarray:
    """``(n, n)`` cosine similarities of ``embeddings`` after subtracting their mean."""
    x = np.asarray(embeddings, dtype=np.float32)
    x = normalise_rows(x, x.mean(axis=0) if len(x) > 1 else None)
    return x @ x.T


def same_boxes(a: PackedDetections, i: int, j: int, min_iou: float = 0.5) -> bool:
    """Whether images ``i`` and ``j`` of ``a`` hold matching boxes (count, class, IoU)."""
    si, ei, sj, ej = a.offsets[i], a.offsets[i + 1], a.offsets[j], a.offsets[j + 1]
    if ei - si != ej - sj:
        return False
    if a.image_sizes is not None and not np.array_equal(a.image_sizes[i], a.image_sizes[j]):
        return False
    if ei == si:
        return True
    iou = box_iou(a.xyxy[si:ei], a.xyxy[sj:ej])
    iou *= a.class_id[si:ei, None] == a.class_id[None, sj:ej]
    return len(match_boxes(iou, min_iou)) == ei - si


class DuplicateFilter:
    """Stateful filter: :meth:`accept` says whether a candidate is new, and remembers it.

    Args:
        embeddings: ``(n, D)`` pool embeddings.
        threshold: centred cosine similarity at or above which two images may be duplicates.
        reference: ``(L, D)`` embeddings that count as already taken (embedding test only).
        capacity: expected number of kept images (pre-allocates the kept matrix).
        center: subtract the pool's mean embedding before measuring angles.
        boxes: the pool's shown boxes (e.g. ``pool.box_mask(pool.confidence >= 0.25)``);
            when given, duplicates must also pass :func:`same_boxes`.
        box_iou: IoU for :func:`same_boxes`.
        fingerprint: ``i -> (F,)`` unit-length image fingerprint (or ``None`` for an image
            that cannot be read); when given, it alone decides, and ``embeddings`` may be
            ``None``.
        fingerprint_threshold: fingerprint cosine similarity at or above which two images
            are duplicates.
    """

    def __init__(
        self,
        embeddings: np.ndarray | None,
        threshold: float = 0.8,
        reference: np.ndarray | None = None,
        capacity: int = 64,
        center: bool = True,
        boxes: PackedDetections | None = None,
        box_iou: float = 0.5,
        fingerprint: Callable[[int], np.ndarray | None] | None = None,
        fingerprint_threshold: float = FINGERPRINT_THRESHOLD,
    ) -> None:
        for t in (threshold, fingerprint_threshold):
            if not -1.0 <= t <= 1.0:
                raise ValueError(f"dedup threshold is a cosine similarity in [-1, 1], got {t}")
        self.fingerprint, self.fingerprint_threshold = fingerprint, float(fingerprint_threshold)
        self._prints: dict[int, np.ndarray | None] = {}
        if embeddings is None:
            if fingerprint is None:
                raise ValueError("DuplicateFilter needs embeddings or a fingerprint function")
            embeddings = np.zeros((0, 1), dtype=np.float32)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        mean = embeddings.mean(axis=0) if center and len(embeddings) > 1 else None
        self.x = normalise_rows(embeddings, mean)
        self.threshold = float(threshold)
        has_ref = reference is not None and len(reference) > 0
        self.reference = normalise_rows(reference, mean) if has_ref else None
        if boxes is not None and fingerprint is None and boxes.n_images != len(embeddings):
            raise ValueError(
                f"boxes cover {boxes.n_images} images, embeddings {len(embeddings)}; "
                "pass the same pool for both"
            )
        self.boxes, self.box_iou = boxes, float(box_iou)
        self._kept = np.zeros((max(capacity, 1), self.x.shape[1]), dtype=np.float32)
        self._ids: list[int] = []
        self.dropped: list[int] = []

    def _print(self, i: int) -> np.ndarray | None:
        if i not in self._prints:
            self._prints[i] = self.fingerprint(i)  # type: ignore[misc]
        return self._prints[i]

    def is_duplicate(self, i: int) -> bool:
        if self.fingerprint is not None:
            v = self._print(i)
            if v is None:
                return False
            for k in self._ids:
                other = self._print(k)
                if other is not None and float(other @ v) >= self.fingerprint_threshold:
                    return True
            return False
        v = self.x[i]
        n = len(self._ids)
        if n:
            close = np.flatnonzero(self._kept[:n] @ v >= self.threshold)
            for k in close.tolist():
                if self.boxes is None or same_boxes(self.boxes, i, self._ids[k], self.box_iou):
                    return True
        return self.reference is not None and float((self.reference @ v).max()) >= self.threshold

    def accept(self, i: int) -> bool:
        """True (and remembered) when ``i`` is not a near-duplicate of anything kept so far."""
        if self.is_duplicate(i):
            self.dropped.append(int(i))
            return False
        n = len(self._ids)
        if self.fingerprint is None:
            if n == len(self._kept):
                self._kept = np.concatenate([self._kept, np.zeros_like(self._kept)])
            self._kept[n] = self.x[i]
        self._ids.append(int(i))
        return True


def drop_near_duplicates(
    ranked: Iterable[int], embeddings: np.ndarray, threshold: float = 0.9, limit: int | None = None
) -> Iterator[int]:
    """Yield ranked indices, skipping near-duplicates of earlier ones, up to ``limit`` kept."""
    keep = DuplicateFilter(embeddings, threshold, capacity=limit or 64)
    n = 0
    for i in ranked:
        if limit is not None and n >= limit:
            return
        if keep.accept(int(i)):
            n += 1
            yield int(i)
