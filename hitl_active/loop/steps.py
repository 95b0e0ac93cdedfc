"""The heavy steps of a round, each resumable: pre-label, select, train, evaluate.

They glue the engine, the sampler, the trainer and the evaluator onto the state store.
Each writes its results to the store in small transactions, so a process killed in the
middle redoes only what was not yet written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hitl_active.data.images import read_image
from hitl_active.detections import Detections
from hitl_active.loop.costs import workspace_cost_model
from hitl_active.loop.registry import ModelRegistry
from hitl_active.loop.review import save_plan
from hitl_active.loop.selection import PoolState, choose_batch
from hitl_active.loop.truth import gold_truths, overlap_consensus, training_items
from hitl_active.models.evaluate import evaluate
from hitl_active.models.export import export_onnx
from hitl_active.models.train import TrainConfig, train_on_labels
from hitl_active.sampling import PackedDetections
from hitl_active.sampling.review import ReviewPlan
from hitl_active.serving.engine import Engine, EngineConfig
from hitl_active.serving.metadata import check_class_names
from hitl_active.serving.rows import prediction_rows
from hitl_active.store.store import ImageRow, ModelVersionRow
from hitl_active.workspace.workspace import Workspace

__all__ = [  # the truths are re-exported from hitl_active.loop.truth, where they live
    "evaluate_version",
    "gold_truths",
    "overlap_consensus",
    "predict_flipped",
    "prediction_rows",
    "prelabel",
    "select_images",
    "train_version",
    "training_items",
]

logger = logging.getLogger(__name__)

CHUNK = 32  # images per stored chunk (one transaction)
PRELABEL_BATCH = 256  # images per call of prediction_rows


def require_onnx(version: ModelVersionRow) -> None:
    """Refuse a version whose ONNX file is missing (FileNotFoundError naming the fix)."""
    if not version.onnx or not Path(version.onnx).is_file():
        raise FileNotFoundError(
            f"model version {version.name} has no ONNX file ({version.onnx}); re-export it "
            "or roll back to a complete version"
        )


def _engine(version: ModelVersionRow, classes: Sequence[str]) -> Any:
    """The engine of ``version``, refused (ModelLoadError) when its classes are not ``classes``."""

    require_onnx(version)
    engine = Engine(version.onnx, EngineConfig(), model_version=version.name)
    check_class_names(version.onnx, engine.class_names, classes, "the workspace")
    return engine


def predict(
    version: ModelVersionRow,
    images: list[ImageRow],
    classes: Sequence[str],
    progress: bool = False,
) -> dict[int, Detections | None]:
    """Run ``version`` (whose classes must be ``classes``) on ``images``; unreadable images
    map to None."""
    engine = _engine(version, classes)
    by_path = {str(Path(img.path)): img.id for img in images}
    out: dict[int, Detections | None] = {}
    for pred in engine.predict_paths([img.path for img in images], progress=progress):
        image_id = by_path[str(Path(pred.path))]
        if pred.error is not None:
            logger.warning("cannot pre-label %s: %s", pred.path, pred.error)
        out[image_id] = pred.detections
    return out


def prelabel(
    ws: Workspace, version: ModelVersionRow, images: list[ImageRow], progress: bool = False
) -> int:
    """Store ``version``'s predictions for every image in ``images`` it has not seen yet.

    With ``ray_address`` in the workspace config the images go to Ray Data actors that call
    :func:`prediction_rows` as this process would (:mod:`hitl_active.loop.ray_prelabel`).
    """

    if ws.config.ray_address:
        from hitl_active.loop.ray_prelabel import prelabel_on_ray

        return prelabel_on_ray(ws, version, images, address=ws.config.ray_address)

    done = ws.store.predicted_ids(version.name)
    todo = [img for img in images if img.id not in done]
    if not todo:
        return 0
    engine = _engine(version, ws.config.classes)
    with tqdm(total=len(todo), disable=not progress, unit="img", desc="prelabel") as bar:
        for start in range(0, len(todo), PRELABEL_BATCH):
            batch = todo[start : start + PRELABEL_BATCH]
            rows = prediction_rows(engine, [i.id for i in batch], [i.path for i in batch])
            for lo in range(0, len(rows), CHUNK):
                ws.store.put_predictions(version.name, rows[lo : lo + CHUNK])
            bar.update(len(rows))
    logger.info("pre-labelled %d images with %s", len(todo), version.name)
    return len(todo)


def _labelled_counts(ws: Workspace) -> np.ndarray:
    counts = np.zeros(len(ws.config.classes), np.float64)
    for ann in ws.store.annotations():
        for box in ann.boxes:
            counts[int(box["class_id"])] += 1
    return counts


def select_images(
    ws: Workspace, round_id: int, version: ModelVersionRow | None, candidates: list[ImageRow]
) -> list[tuple[int, float, float]]:
    """Rank ``candidates`` with the configured strategy; ``(image_id, score, est_seconds)``.

    Reads the pool from the store and selects with
    :func:`~hitl_active.loop.selection.choose_batch` (the benchmark's path too), priced by
    the workspace's cost model (:func:`~hitl_active.loop.costs.workspace_cost_model`).
    Before any model is promoted the choice is random (a cold start).
    """

    num_classes = len(ws.config.classes)
    if version is None:
        ids = [img.id for img in candidates]
        empty = [Detections.empty(num_classes) for _ in ids]
        pool = PackedDetections.from_detections(empty, num_classes)
    else:
        ids, pool = ws.store.packed_predictions(version.name, [img.id for img in candidates])
    if not ids:
        return []
    paths = {img.id: img.path for img in candidates}
    state = PoolState(pool, [paths[i] for i in ids], _labelled_counts(ws))
    if version is not None:
        state.labelled_embeddings = lambda: _labelled_embeddings(ws, version)
        state.flip = lambda p: predict_flipped(_engine(version, ws.config.classes), p)
    sel = choose_batch(
        ws.config, round_id, state, workspace_cost_model(ws), cold_start=version is None
    )
    if isinstance(sel, ReviewPlan) and version is not None:  # each image's items, kept
        save_plan(ws, round_id, version.name, ids, sel)
    return _rows(ids, sel)


def _labelled_embeddings(ws: Workspace, version: ModelVersionRow) -> np.ndarray | None:
    """Embeddings, by ``version``, of every image already sent for labelling (gold aside).

    Taken from the stored predictions; images ``version`` has not seen are predicted first
    (and stored, so the next round reads them).
    """
    gold = {img.id for img in ws.store.images("gold")}
    sent = sorted({t.image_id for t in ws.store.tasks()} - gold)
    if not sent:
        return None
    images = ws.store.images_by_id(sent)
    prelabel(ws, version, [images[i] for i in sent])
    _, packed = ws.store.packed_predictions(version.name, sent)
    return packed.embeddings


def predict_flipped(engine: Any, paths: Sequence[str | Path]) -> list[Detections]:
    """``engine``'s detections on horizontally mirrored images (EXIF applied), in the
    mirrored frame: the second pass of flip-stability, shared with the benchmark."""

    out: list[Detections] = []
    for start in range(0, len(paths), CHUNK):
        chunk = paths[start : start + CHUNK]
        out.extend(engine.predict([np.ascontiguousarray(read_image(p)[:, ::-1]) for p in chunk]))
    return out


def _rows(ids: list[int], sel: Any) -> list[tuple[int, float, float]]:
    scores = np.nan_to_num(np.asarray(sel.scores, np.float64), nan=0.0)
    return [
        (ids[int(i)], float(s), float(e))
        for i, s, e in zip(sel.indices, scores, sel.estimated_seconds, strict=True)
    ]


def train_version(
    ws: Workspace, registry: ModelRegistry, parent: ModelVersionRow | None
) -> ModelVersionRow:
    """Train a new candidate on every human-annotated training image and export it."""

    cfg = ws.config
    items = training_items(ws)
    if not items:
        raise ValueError("no annotated training images yet; finish a round's annotations first")
    name = registry.begin_version(None if parent is None else parent.name)
    start_from = parent.weights if (cfg.fine_tune and parent and parent.weights) else cfg.model
    # The gold set is never shown to training, so there is no separate validation split.
    tc = TrainConfig(
        model=str(start_from), epochs=cfg.epochs, imgsz=cfg.imgsz, batch=cfg.train_batch,
        seed=cfg.seed, device=cfg.device, timeout_s=cfg.train_timeout_s,
        extra=dict(cfg.train_args),
    )  # fmt: skip
    logger.info("training %s on %d images from %s", name, len(items), start_from)
    result = train_on_labels([(p, lab) for p, lab, _ in items], cfg.classes, ws.work_dir / name, tc)
    onnx = export_onnx(
        result.weights, registry.version_dir(name) / "model.onnx", imgsz=cfg.imgsz,
        model_version=name,
    )  # fmt: skip
    snapshot = {
        "parent": None if parent is None else parent.name,
        "start_from": str(start_from),
        "n_images": len(items),
        "n_boxes": int(sum(len(lab) for _, lab, _ in items)),
        "images": [entry for _, _, entry in items],
    }
    metrics = {
        "train": result.metrics,
        "train_seconds": result.seconds,
        "epochs": result.epochs_run,
        "labelled_images": len(items),
        "annotator_seconds": ws.store.annotator_seconds(),
    }
    return registry.finish_version(name, result.weights, onnx, snapshot, metrics)


def evaluate_version(
    ws: Workspace, registry: ModelRegistry, version: ModelVersionRow, progress: bool = False
) -> dict[str, Any]:
    """Evaluate ``version`` on the gold set and store the result under ``metrics["gold"]``."""

    gold = gold_truths(ws)
    if not gold:
        raise ValueError(
            "the gold set has no labels; import them (hitl-active init --gold-labels DIR) "
            "or let the first round label the gold sample"
        )
    preds = predict(version, [img for img, _ in gold], ws.config.classes, progress=progress)
    names = ws.config.classes
    empty = Detections.empty(len(names))
    res = evaluate(
        [preds.get(img.id) or empty for img, _ in gold],
        [labels for _, labels in gold],
        num_classes=len(names),
        class_names=names,
    )
    metrics = {
        "map50_95": float(res.map50_95),
        "map50": float(res.map50),
        "per_class_ap50_95": _per_class(res.per_class_ap50_95, names),
        "per_class_ap50": _per_class(res.per_class_ap50, names),
        "n_images": int(res.n_images),
    }
    registry.set_metrics(version.name, {"gold": metrics})
    logger.info(
        "%s on the gold set: mAP50-95 %.4f, mAP50 %.4f", version.name, res.map50_95, res.map50
    )
    return metrics


def _per_class(values: Any, names: list[str]) -> dict[str, float | None]:
    if isinstance(values, dict):
        return {
            str(k): None if v is None or np.isnan(float(v)) else float(v) for k, v in values.items()
        }
    arr = np.asarray(values, np.float64).reshape(-1)
    return {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, arr, strict=False)}
