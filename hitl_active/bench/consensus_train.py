"""Consensus against single annotators as training labels: retrain, score on gold.

Three annotators of the same average profile label the same training images; a detector is
trained on each one's labels and on their consensus
(:func:`hitl_active.workforce.consensus.merge_answers`), with the same images, seed and
training settings, and each is scored (mAP) on held-out gold images with true labels. It
uses the project's training, export, engine and evaluation — no second implementation.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from hitl_active.bench.runner import predict
from hitl_active.bench.simulated_annotator import AnnotatorProfile, SimulatedAnnotator
from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.yolo import read_yolo_dataset
from hitl_active.models.dataset import prepare_yolo_dataset
from hitl_active.models.evaluate import evaluate
from hitl_active.models.export import export_onnx
from hitl_active.models.train import TrainConfig, train_detector
from hitl_active.workforce.consensus import merge_answers

__all__ = ["AVERAGE", "consensus_vs_single", "summarize_runs"]

logger = logging.getLogger(__name__)

# An average annotator: misses a quarter of the objects, mislabels 15%, draws loose boxes
# and some extra ones.
AVERAGE = {"recall": 0.75, "label_accuracy": 0.85, "box_noise": 0.06, "fp_rate": 0.3}
# Settings that let a small set and few epochs learn something on CPU (as the test fixture).
TRAIN_EXTRA = {
    "optimizer": "AdamW",
    "nbs": 8,
    "lrf": 1.0,
    "warmup_epochs": 0,
    "mosaic": 0.0,
    "val": False,
}


def _inside(labels: ImageLabels) -> ImageLabels:
    """Boxes clipped to the image, as an annotation tool keeps them; slivers dropped."""
    xyxy = np.clip(labels.xyxy, 0, [labels.width, labels.height, labels.width, labels.height])
    keep = np.all(xyxy[:, 2:] - xyxy[:, :2] >= 2, axis=1)
    return ImageLabels(labels.image, labels.width, labels.height, xyxy[keep], labels.class_id[keep])


def _train_and_score(train, test, names, run: Path, epochs: int, imgsz: int, seed: int) -> dict:

    data_yaml = prepare_yolo_dataset(train, [], names, run / "data")
    config = TrainConfig(
        model="yolo11n.yaml", epochs=epochs, imgsz=imgsz, batch=8, seed=seed, extra=TRAIN_EXTRA
    )
    result = train_detector(data_yaml, run / "train", config)
    onnx = export_onnx(result.weights, run / "model.onnx", imgsz=imgsz)
    preds, _ = predict(onnx, [p for p, _ in test], conf_floor=0.01)
    res = evaluate(preds, [lab for _, lab in test], len(names), names)
    return {"map50_95": res.map50_95, "map50": res.map50, "seconds": round(result.seconds, 1)}


def consensus_vs_single(
    seed: int, epochs: int = 30, n_train: int = 96, n_test: int = 48, imgsz: int = 160
) -> dict:
    """Gold mAP of detectors trained on consensus and on each single annotator's labels."""

    spec = SyntheticSpec(
        n_images=n_train + n_test, min_side=128, max_side=224, duplicate_fraction=0.0, seed=seed
    )
    with tempfile.TemporaryDirectory(prefix="bench-consensus-") as tmp:
        ds = make_synthetic_dataset(Path(tmp) / "data", spec, progress=False)
        truths = list(read_yolo_dataset(ds.images_dir, class_names=ds.class_names))
        items = [(Path(t.image), t) for t in truths]
        train, test = items[:n_train], items[n_train:]
        rng = np.random.default_rng(seed)
        profile = AnnotatorProfile.uniform(
            len(ds.class_names),
            AVERAGE["recall"],
            AVERAGE["label_accuracy"],
            box_noise=AVERAGE["box_noise"],
            fp_rate=AVERAGE["fp_rate"],
        )
        people = [SimulatedAnnotator(f"average-{i}", profile) for i in range(3)]
        answers = {p.name: [p.annotate(t, rng) for _, t in train] for p in people}
        label_sets = {n: [a.labels for a in ans] for n, ans in answers.items()}
        label_sets["consensus"] = [
            merge_answers([answers[p.name][i] for p in people]) for i in range(n_train)
        ]
        scores = {}
        for name, labels in label_sets.items():
            pairs = [(path, _inside(lab)) for (path, _), lab in zip(train, labels, strict=True)]
            logger.info("training on the labels of %s", name)
            scores[name] = _train_and_score(
                pairs, test, ds.class_names, Path(tmp) / name, epochs, imgsz, seed
            )
    singles = [scores[p.name] for p in people]
    return {
        "consensus_map": scores["consensus"]["map50_95"],
        "single_maps": [s["map50_95"] for s in singles],
        "consensus_map50": scores["consensus"]["map50"],
        "single_map50s": [s["map50"] for s in singles],
        "consensus_beats_every_single": bool(
            all(scores["consensus"]["map50_95"] > s["map50_95"] for s in singles)
        ),
        "train_setup": {
            "seed": seed,
            "epochs": epochs,
            "imgsz": imgsz,
            "train_images": n_train,
            "gold_images": n_test,
            "annotator": AVERAGE,
        },
    }


def summarize_runs(runs: list[dict]) -> dict:
    """Means over seeds (per annotator position for the singles) and every run's figures."""
    singles = np.mean([r["single_maps"] for r in runs], axis=0)
    consensus = float(np.mean([r["consensus_map"] for r in runs]))
    return {
        "consensus_map": consensus,
        "single_maps": [float(v) for v in singles],
        "consensus_beats_every_single": bool(consensus > singles.max()),
        "consensus_beats_every_single_per_seed": [r["consensus_beats_every_single"] for r in runs],
        "train_runs": runs,
    }
