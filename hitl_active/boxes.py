"""Box geometry shared by evaluation, sampling and the Label Studio diff."""

from __future__ import annotations

import numpy as np

__all__ = ["box_iou", "match_boxes"]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` IoU of xyxy boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def match_boxes(iou: np.ndarray, min_iou: float, method: str = "greedy") -> list[tuple[int, int]]:
    """One-to-one matching; pairs ``(row, col)`` with IoU >= min_iou.

    ``method="greedy"`` takes pairs by descending IoU (as detection evaluation does);
    ``"hungarian"`` maximises the total IoU of the pairs that pass ``min_iou`` (optimal
    assignment, used to match boxes across annotators, where greedy choices can steal a box).
    """
    if method not in ("greedy", "hungarian"):
        raise ValueError(f"unknown matching method {method!r}; use 'greedy' or 'hungarian'")
    if iou.size == 0:
        return []
    if method == "hungarian":
        return _hungarian(np.asarray(iou, dtype=np.float64), min_iou)
    rows, cols = np.nonzero(iou >= min_iou)
    order = np.argsort(-iou[rows, cols], kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for r, c in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            pairs.append((r, c))
    return pairs


def _hungarian(iou: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    from scipy.optimize import linear_sum_assignment

    gain = np.where(iou >= min_iou, iou, 0.0)  # a pair below min_iou is worth nothing
    rows, cols = linear_sum_assignment(gain, maximize=True)
    keep = iou[rows, cols] >= min_iou
    return [(int(r), int(c)) for r, c in zip(rows[keep], cols[keep], strict=True)]
