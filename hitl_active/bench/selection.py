"""The benchmark's selection: the loop's own, fed from the benchmark's in-memory pool.

:func:`loop_config` writes the benchmark's settings as the loop's config, and
:func:`bench_select` predicts the pool with the engine and selects through
:func:`hitl_active.loop.selection.choose_batch`, which the loop's round calls too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hitl_active.bench.runner import predict
from hitl_active.formats.core import ImageLabels
from hitl_active.loop.selection import PoolState, choose_batch
from hitl_active.loop.steps import predict_flipped
from hitl_active.sampling.cost import CostModel
from hitl_active.sampling.packed import PackedDetections
from hitl_active.sampling.registry import DEFAULT_STRATEGY
from hitl_active.sampling.select import Selection
from hitl_active.workspace.config import LoopConfig

if TYPE_CHECKING:
    from hitl_active.bench.simulate import SimulationConfig

__all__ = ["BOX_REVIEW", "bench_select", "loop_config"]

#: the benchmark's name for the loop with ``review: boxes``
BOX_REVIEW = "box-review"


def loop_config(cfg: SimulationConfig, strategy: str, seed: int, names: list[str]) -> LoopConfig:
    """The benchmark's selection settings as the loop's config: strategy, batch (images or
    annotator seconds), display threshold and seed. :data:`BOX_REVIEW` is the loop with
    ``review: boxes`` (its batch a :class:`~hitl_active.sampling.review.ReviewPlan`)."""
    review = "boxes" if strategy == BOX_REVIEW else "images"
    return LoopConfig(
        images="-", classes=list(names), round_size=cfg.round_size,
        strategy=DEFAULT_STRATEGY if review == "boxes" else strategy, review=review,
        budget_seconds=cfg.budget_seconds, conf_threshold=cfg.display_threshold, seed=seed,
    )  # fmt: skip


def bench_select(
    loop_cfg: LoopConfig,
    round_id: int,
    onnx_path: Path,
    pool_paths: Sequence[str],
    labelled: Sequence[tuple[Path, ImageLabels]],
    cost_model: CostModel,
    conf_floor: float = 0.01,
    engines: dict | None = None,
) -> tuple[Selection, list, dict]:
    """The benchmark's side of a selection: predict the pool with the engine, and select
    through the loop's :func:`~hitl_active.loop.selection.choose_batch`.

    ``labelled`` are the labelled images with their labels (class counts, and the
    embeddings diversity strategies need). Returns the selection (indices into
    ``pool_paths``), the pool's predictions and the pass and selection timings.
    """

    engines = {} if engines is None else engines
    preds, t_inf = predict(onnx_path, pool_paths, conf_floor, engines)
    num_classes = len(loop_cfg.classes)
    counts = np.zeros(num_classes, np.float64)
    for _, labels in labelled:
        counts += np.bincount(labels.class_id, minlength=num_classes)
    t_extra = [0.0]

    def labelled_embeddings() -> np.ndarray | None:  # the labelled set: diversity centres
        lab_preds, _ = predict(onnx_path, [p for p, _ in labelled], conf_floor, engines)
        embeddings = [d.embedding for d in lab_preds if d.embedding is not None]
        return np.stack(embeddings) if embeddings and len(embeddings) == len(labelled) else None

    def flip(paths: Sequence[str]) -> list:  # the loop's mirrored pass, same engine
        start = time.perf_counter()
        out = predict_flipped(engines[str(onnx_path)], paths)
        t_extra[0] = time.perf_counter() - start
        return out

    pool = PackedDetections.from_detections(preds, num_classes)
    state = PoolState(pool, list(pool_paths), counts, labelled_embeddings, flip)
    sel = choose_batch(loop_cfg, round_id, state, cost_model)
    timing = {
        "inference_s": round(t_inf, 3),
        "extra_inference_s": round(t_extra[0], 3),
        "select_s": round(sel.seconds - t_extra[0], 4),
        "duplicates_dropped": len(sel.dropped_duplicates),
    }
    return sel, preds, timing
