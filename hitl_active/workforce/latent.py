"""Annotator skill without gold, from overlapped answers.

Boxes on each overlapped image are clustered across annotators (:func:`cluster_boxes`); each
cluster is an item every annotator of that image labelled, with a class or "missed" (the
extra class ``∅ = n_classes`` when they drew no box in it). Dawid–Skene (EM over
per-annotator confusion matrices, :mod:`hitl_active.workforce.dawid_skene`) estimates each
annotator's confusion over classes ∪ {∅}; an annotator's **reliability** is the chance they
box an object with its right label, ``Σ_k π_k P(k | k) / Σ_k π_k`` over the real classes
``k`` with the estimated priors ``π``.

Box noise comes from pairs: for two annotators ``w, v`` in one cluster, the corner
difference relative to the cluster's box has ``E[d²] = σ_w² + σ_v²`` (independent Gaussian
corner errors), so the per-annotator ``σ²`` solve a non-negative least-squares system over
all pairs. Its 90% interval is a bootstrap over images.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from hitl_active.workforce.consensus import cluster_boxes
from hitl_active.workforce.dawid_skene import dawid_skene
from hitl_active.workforce.gold import corner_deviations
from hitl_active.workforce.records import Answer, by_image
from hitl_active.workforce.stats import LEVEL, MIN_COUNT, Estimate

__all__ = ["LatentSkill", "estimate_without_gold"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LatentSkill:
    """What overlap says about one annotator. ``confusion[t, o]`` = P(says o | truly t), the
    last row and column being ∅ (no object / missed)."""

    annotator: str
    reliability: float
    confusion: np.ndarray
    box_noise: Estimate
    items: int  # clusters this annotator was asked about


def _pair_noise(images: list[tuple[list[str], list[dict]]], names: list[str]):
    """Per image, ``(A, A)`` sums of squared pair differences and their coordinate counts."""
    idx = {n: i for i, n in enumerate(names)}
    ss = np.zeros((len(images), len(names), len(names)))
    cnt = np.zeros_like(ss)
    for m, (_, pairs) in enumerate(images):
        for p in pairs:
            i, j = idx[p["a"]], idx[p["b"]]
            ss[m, i, j] += p["ss"]
            cnt[m, i, j] += p["n"]
    return ss, cnt


def _solve_sigma2(ss: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    a = len(ss)
    iu = np.transpose(np.nonzero(cnt + cnt.T))
    iu = iu[iu[:, 0] < iu[:, 1]]
    if len(iu) == 0:
        return np.full(a, np.nan)
    n = cnt[iu[:, 0], iu[:, 1]] + cnt[iu[:, 1], iu[:, 0]]
    s = ss[iu[:, 0], iu[:, 1]] + ss[iu[:, 1], iu[:, 0]]
    design = np.zeros((len(iu), a))
    design[np.arange(len(iu)), iu[:, 0]] = 1
    design[np.arange(len(iu)), iu[:, 1]] = 1
    sw = np.sqrt(n)
    sol, _ = nnls(design * sw[:, None], s / np.maximum(n, 1) * sw)
    return sol


def estimate_without_gold(
    answers: Iterable[Answer],
    n_classes: int,
    *,
    rng: np.random.Generator,
    min_iou: float = 0.5,
    min_count: int = MIN_COUNT,
    level: float = LEVEL,
    n_iter: int = 100,
    n_boot: int = 200,
) -> dict[str, LatentSkill]:
    """Reliability and box noise per annotator from images answered by two or more people.

    Images with a single answer carry no information here and are skipped. ``rng`` drives the
    bootstrap of the box-noise interval.
    """
    rows: list[tuple[str, str, int]] = []
    images: list[tuple[list[str], list[dict]]] = []
    items: dict[str, int] = {}
    noise_boxes: dict[str, int] = {}
    for image, group in by_image(answers).items():
        if len(group) < 2:
            continue
        names = [a.annotator for a in group]
        by = {a.annotator: a for a in group}
        pairs = []
        for k, cl in enumerate(cluster_boxes(group, min_iou=min_iou)):
            for n in names:
                i = cl.members.get(n)
                label = n_classes if i is None else int(by[n].labels.class_id[i])
                rows.append((f"{image}#{k}", n, label))
                items[n] = items.get(n, 0) + 1
            mem = sorted(cl.members.items())
            for x in range(len(mem)):
                noise_boxes[mem[x][0]] = noise_boxes.get(mem[x][0], 0) + 1
                for y in range(x + 1, len(mem)):
                    bx = by[mem[x][0]].labels.xyxy[mem[x][1]]
                    bv = by[mem[y][0]].labels.xyxy[mem[y][1]]
                    d = corner_deviations(bx, cl.box) - corner_deviations(bv, cl.box)
                    pairs.append(
                        {"a": mem[x][0], "b": mem[y][0], "ss": float(np.sum(d**2)), "n": 4}
                    )
        images.append((names, pairs))
    if not rows:
        return {}
    tasks, workers, labels = zip(*rows, strict=True)
    priors, conf = dawid_skene(tasks, workers, labels, n_classes + 1, n_iter=n_iter, tol=1e-6)
    names = sorted(items)
    ss, cnt = _pair_noise(images, names)
    sigma = np.sqrt(_solve_sigma2(ss.sum(0), cnt.sum(0)))
    counts = rng.multinomial(len(images), np.full(len(images), 1 / len(images)), size=n_boot)
    boot = np.sqrt(
        np.array([_solve_sigma2(np.tensordot(c, ss, 1), np.tensordot(c, cnt, 1)) for c in counts])
    )
    lo, hi = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
    real = priors[:n_classes] / max(priors[:n_classes].sum(), 1e-12)
    out = {}
    for i, n in enumerate(names):
        m = conf.get(n, np.zeros((n_classes + 1, n_classes + 1)))
        nb = noise_boxes.get(n, 0)
        noise = (
            Estimate(float(sigma[i]), float(lo[i]), float(hi[i]), nb, level)
            if nb >= min_count and np.isfinite(sigma[i])
            else Estimate(None, None, None, nb, level, f"not enough data: {nb} boxes in overlap")
        )
        rel = float(np.sum(real * np.diag(m)[:n_classes]))
        out[n] = LatentSkill(n, rel, m, noise, items[n])
    logger.debug("estimated %d annotators from %d overlapped items", len(out), len(rows))
    return out
