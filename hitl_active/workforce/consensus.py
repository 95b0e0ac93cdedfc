"""Merging overlapped answers on one image into a consensus, and pairwise agreement.

Boxes are clustered across answers with the Hungarian method: answers are taken in order of
reliability weight, and each one's boxes are matched one-to-one (IoU >= ``min_iou``) to the
clusters built so far (a cluster is represented by the weighted mean of its boxes); an
unmatched box opens a new cluster. So a cluster holds at most one box per annotator.

A cluster becomes a consensus box when the weight of the annotators who drew it reaches
``quorum`` of the weight of everyone who answered the image. Its corners are the weighted
median of its members' corners, its label the weighted vote (ties to the heavier member's
label), and its provenance names the annotators, the label's share and the support.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.records import Answer

__all__ = ["Cluster", "cluster_boxes", "merge_answers", "pair_f1", "pairwise_agreement"]


@dataclass(frozen=True)
class Cluster:
    """Boxes of different annotators on one object: ``members`` maps annotator -> box index."""

    members: dict[str, int]
    box: np.ndarray  # weighted mean box, the reference used while clustering


def _weights(answers: Sequence[Answer], weights: Mapping[str, float] | None) -> dict[str, float]:
    w = {a.annotator: float((weights or {}).get(a.annotator, 1.0)) for a in answers}
    bad = {k: v for k, v in w.items() if not (np.isfinite(v) and v > 0)}
    if bad:
        raise ValueError(f"reliability weights must be finite and > 0, got {bad}")
    return w


def cluster_boxes(
    answers: Sequence[Answer], weights: Mapping[str, float] | None = None, min_iou: float = 0.5
) -> list[Cluster]:
    """Clusters of IoU-matched boxes over answers on the same image (class-agnostic)."""
    if len({a.image for a in answers}) > 1:
        raise ValueError("cluster_boxes takes answers on one image; group them with by_image")
    if len({a.annotator for a in answers}) != len(answers):
        raise ValueError("each annotator may give one answer per image; keep their latest")
    w = _weights(answers, weights)
    order = sorted(answers, key=lambda a: (-w[a.annotator], a.annotator))
    members: list[dict[str, int]] = []
    sums: list[np.ndarray] = []  # weighted sum of member boxes
    mass: list[float] = []
    for a in order:
        xyxy = a.labels.xyxy.astype(np.float64)
        refs = np.array([s / m for s, m in zip(sums, mass, strict=True)]).reshape(-1, 4)
        pairs = dict(match_boxes(box_iou(xyxy, refs), min_iou, method="hungarian"))
        for i in range(len(xyxy)):
            k = pairs.get(i)
            if k is None:
                members.append({})
                sums.append(np.zeros(4))
                mass.append(0.0)
                k = len(members) - 1
            members[k][a.annotator] = i
            sums[k] = sums[k] + w[a.annotator] * xyxy[i]
            mass[k] += w[a.annotator]
    return [Cluster(m, s / q) for m, s, q in zip(members, sums, mass, strict=True)]


def _weighted_median(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Column-wise weighted median of ``values`` (rows: members); an exact half averages the
    two middle values, so two equal-weight boxes give their mean."""
    out = np.empty(values.shape[1])
    half = w.sum() / 2
    for col in range(values.shape[1]):
        order = np.argsort(values[:, col], kind="stable")
        v, cum = values[order, col], np.cumsum(w[order])
        k = int(np.searchsorted(cum, half - 1e-9 * half))
        tie = np.isclose(cum[k], half) and k + 1 < len(v)
        out[col] = (v[k] + v[k + 1]) / 2 if tie else v[k]
    return out


def merge_answers(
    answers: Sequence[Answer],
    weights: Mapping[str, float] | None = None,
    min_iou: float = 0.5,
    quorum: float = 0.5,
) -> ImageLabels:
    """The consensus of 2–3 (or more) answers on one image, with provenance per box.

    ``weights`` are reliability weights per annotator (default 1). Each box's ``box_meta``
    is ``{"source": "consensus", "annotators": [...], "support": s, "label_share": l}``.
    """
    if not answers:
        raise ValueError("merge_answers needs at least one answer")
    if not 0 < quorum <= 1:
        raise ValueError(f"quorum must be within (0, 1], got {quorum}")
    w = _weights(answers, weights)
    by_name = {a.annotator: a for a in answers}
    total = sum(w.values())
    boxes, classes, meta = [], [], []
    for cl in cluster_boxes(answers, w, min_iou):
        names = sorted(cl.members, key=lambda n: (-w[n], n))
        cw = np.array([w[n] for n in names])
        support = float(cw.sum() / total)
        if support < quorum - 1e-9:
            continue
        xyxy = np.array([by_name[n].labels.xyxy[cl.members[n]] for n in names], np.float64)
        labels = [int(by_name[n].labels.class_id[cl.members[n]]) for n in names]
        votes: dict[int, float] = {}
        for lab, wt in zip(labels, cw, strict=True):
            votes[lab] = votes.get(lab, 0.0) + wt
        best = max(votes.values())
        label = next(lab for lab in labels if votes[lab] >= best - 1e-12)  # heaviest first
        boxes.append(_weighted_median(xyxy, cw))
        classes.append(label)
        meta.append(
            {
                "source": "consensus",
                "annotators": names,
                "support": round(support, 4),
                "label_share": round(votes[label] / cw.sum(), 4),
            }
        )
    first = answers[0].labels
    return ImageLabels(
        first.image,
        first.width,
        first.height,
        np.asarray(boxes, np.float64).reshape(-1, 4),
        np.asarray(classes, np.int64),
        box_meta=meta,
    )


def pair_f1(a: ImageLabels, b: ImageLabels, min_iou: float = 0.5) -> float:
    """F1 between two annotations: boxes match one-to-one at IoU >= ``min_iou`` with the
    same label. Two empty annotations agree fully."""
    if len(a.class_id) + len(b.class_id) == 0:
        return 1.0
    iou = box_iou(a.xyxy, b.xyxy)
    iou = np.where(a.class_id[:, None] == b.class_id[None, :], iou, 0.0)
    matched = len(match_boxes(iou, min_iou, method="hungarian"))
    return 2 * matched / (len(a.class_id) + len(b.class_id))


def pairwise_agreement(answers: Sequence[Answer], min_iou: float = 0.5) -> float | None:
    """Task agreement as Label Studio Enterprise defines it for boxes: the mean over
    annotator pairs of their F1 at IoU ``min_iou``. ``None`` with fewer than two answers."""
    pairs = list(combinations(answers, 2))
    if not pairs:
        return None
    return float(np.mean([pair_f1(x.labels, y.labels, min_iou) for x, y in pairs]))
