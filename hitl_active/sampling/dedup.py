"""Near-duplicate removal inside a batch: a batch never holds the same frame twice.

Video-like pools hold many near-identical frames; an uncertainty strategy happily ranks
all copies of one confusing frame at the top. The filter walks a ranked candidate list
and drops a candidate that duplicates one already kept (or, optionally, a labelled image).

Two images are duplicates when

1. their embeddings' cosine similarity is at or above ``threshold``, measured after
   subtracting the pool's mean embedding (raw pooled CNN features of *any* two images are
   nearly parallel), and
2. when the pool's shown boxes are given, the model sees the same thing in both: the same
   number of boxes, each matched one-to-one to a box of the same class at IoU >= ``box_iou``.

The second test exists because a detector's pooled embedding is a blunt instrument: on
our synthetic pool a few per cent of unrelated image pairs exceed 0.98 cosine similarity,
while a frame shifted by a few pixels keeps its boxes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.sampling.diversity import normalise_rows
from hitl_active.sampling.packed import PackedDetections

__all__ = ["DuplicateFilter", "drop_near_duplicates", "same_boxes"]


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
    """

    def __init__(
        self,
        embeddings: np.ndarray,
        threshold: float = 0.8,
        reference: np.ndarray | None = None,
        capacity: int = 64,
        center: bool = True,
        boxes: PackedDetections | None = None,
        box_iou: float = 0.5,
    ) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"dedup threshold is a cosine similarity in [-1, 1], got {threshold}")
        embeddings = np.asarray(embeddings, dtype=np.float32)
        mean = embeddings.mean(axis=0) if center and len(embeddings) > 1 else None
        self.x = normalise_rows(embeddings, mean)
        self.threshold = float(threshold)
        has_ref = reference is not None and len(reference) > 0
        self.reference = normalise_rows(reference, mean) if has_ref else None
        if boxes is not None and boxes.n_images != len(embeddings):
            raise ValueError(
                f"boxes cover {boxes.n_images} images, embeddings {len(embeddings)}; "
                "pass the same pool for both"
            )
        self.boxes, self.box_iou = boxes, float(box_iou)
        self._kept = np.zeros((max(capacity, 1), self.x.shape[1]), dtype=np.float32)
        self._ids: list[int] = []
        self.dropped: list[int] = []

    def is_duplicate(self, i: int) -> bool:
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
