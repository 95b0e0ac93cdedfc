"""The model side of the simulated benchmark: the split, training, export, evaluation and
engine passes (:class:`SimRunner`); the rounds themselves are in
:mod:`hitl_active.bench.simulate`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hitl_active.bench.results import COST_FIELDS, checked_by_round, labels_from_json
from hitl_active.data.labelled import Item
from hitl_active.data.splits import split_by_scene
from hitl_active.formats.core import ImageLabels
from hitl_active.models.evaluate import evaluate
from hitl_active.models.export import export_onnx
from hitl_active.models.train import TrainConfig, train_on_labels
from hitl_active.sampling.review import trust_unchecked
from hitl_active.serving.engine import Engine, EngineConfig

if TYPE_CHECKING:
    from hitl_active.bench.simulate import SimulationConfig

__all__ = ["SimRunner", "predict"]


def predict(
    onnx_path: Path, paths: Sequence[Path], conf_floor: float, cache: dict | None = None
) -> tuple[list, float]:
    """Engine predictions for ``paths`` (in order) and the wall time of the pass.

    ``cache`` keeps the last loaded engine, keyed by model path, between calls.
    """

    key = str(onnx_path)
    engine = None if cache is None else cache.get(key)
    if engine is None:
        engine = Engine(onnx_path, EngineConfig(conf_floor=conf_floor))
        if cache is not None:
            cache.clear()
            cache[key] = engine
    start = time.perf_counter()
    out = []
    for pred in engine.predict_paths([str(p) for p in paths], progress=False):
        if pred.error is not None:
            raise RuntimeError(f"the engine could not read {pred.path}: {pred.error}")
        out.append(pred.detections)
    return out, time.perf_counter() - start


class SimRunner:
    """Holds the split and cached artefacts of one benchmark."""

    def __init__(
        self,
        items: list[Item],
        class_names: list[str],
        cfg: SimulationConfig,
        out: Path,
        groups: list[str] | None = None,
    ):

        self.cfg, self.out, self.names = cfg, out, class_names
        if cfg.test_size + cfg.initial > len(items):
            raise ValueError(
                f"dataset has {len(items)} images, fewer than test_size {cfg.test_size} + "
                f"initial {cfg.initial}; use a smaller test split or seed set"
            )
        groups = groups if groups is not None else [str(p) for p, _ in items]
        test, train = split_by_scene(groups, cfg.test_size, cfg.split_seed)
        if len(train) < cfg.initial:
            raise ValueError(
                f"after holding out {cfg.test_size} scenes, {len(train)} images are left to "
                f"train on, fewer than the seed set of {cfg.initial}"
            )
        self.test = [items[i] for i in test]
        self.train = [items[i] for i in train]
        self.truth = {str(p): lab for p, lab in self.train}
        self.engines: dict = {}

    # -------------------------------------------------------------- model steps
    def training_items(self, state: dict) -> list[tuple[Path, ImageLabels]]:
        """The labelled images of a round's ``state`` with what they are trained on: the
        truth, or what a box review left (``state["reviewed"]``), its unchecked sure boxes
        masked unless that round's model earned trust
        (:func:`~hitl_active.sampling.review.trust_unchecked` over its check items)."""
        reviewed = state.get("reviewed", {})
        trusted = {r: trust_unchecked(*t) for r, t in checked_by_round(reviewed).items()}
        out = []
        for i in state["labelled"]:
            path, truth = self.train[i]
            data = reviewed.get(str(i))
            if data is None:
                out.append((path, truth))
                continue
            labels = labels_from_json(data, truth)
            if not trusted.get(int(data.get("round", 0)), False):  # unchecked: masked too
                labels.box_meta = [
                    {**m, "ignore": True} if m.get("source") == "model" else m
                    for m in labels.box_meta
                ]
            out.append((path, labels))
        return out

    def fit(
        self,
        labelled: list[int],
        run_dir: Path,
        start: str,
        epochs: int,
        seed: int,
        reviewed: dict[str, dict] | None = None,
    ) -> Path:
        """Train on ``labelled`` (train indices) from ``start``; ``reviewed`` replaces the
        truth of box-reviewed images by the labels their review left."""
        train = self.training_items({"labelled": labelled, "reviewed": reviewed or {}})
        config = TrainConfig(
            model=start,
            epochs=epochs,
            imgsz=self.cfg.imgsz,
            batch=self.cfg.train_batch,
            seed=seed,
            extra=dict(self.cfg.train_extra),
        )
        result = train_on_labels(train, self.names, run_dir, config, val_items=train[:16])
        weights = run_dir / "weights.pt"
        shutil.copy2(result.weights, weights)
        shutil.rmtree(run_dir / "runs", ignore_errors=True)
        shutil.rmtree(run_dir / "data", ignore_errors=True)
        return weights

    def onnx(self, weights: Path) -> Path:

        target = weights.with_suffix(".onnx")
        if not target.exists():
            export_onnx(weights, target, imgsz=self.cfg.imgsz)
        return target

    def evaluate(self, onnx_path: Path) -> dict[str, float]:

        preds, _ = predict(onnx_path, [p for p, _ in self.test], self.cfg.conf_floor, self.engines)
        res = evaluate(preds, [lab for _, lab in self.test], len(self.names), self.names)
        row = {"map50_95": res.map50_95, "map50": res.map50}
        row.update({f"ap50_95:{k}": v for k, v in res.per_class_ap50_95.items()})
        row.update({f"ap50:{k}": v for k, v in res.per_class_ap50.items()})
        return row

    def columns(self) -> list[str]:
        per_class = [f"ap50_95:{n}" for n in self.names] + [f"ap50:{n}" for n in self.names]
        return [
            "strategy", "seed", "round", "labelled_images", "annotator_seconds",
            "annotator_hours", "map50_95", "map50", *per_class, *COST_FIELDS,
            "inference_s", "extra_inference_s", "select_s", "train_s", "duplicates_dropped",
        ]  # fmt: skip
