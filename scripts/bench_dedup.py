"""Measure the near-duplicate rule on synthetic bursts with a real trained tiny model; prints JSON.

    .venv/bin/python scripts/bench_dedup.py [--images 240] [--epochs 16] [--onnx model.onnx]

A tiny YOLO is trained (from ``yolo11n.yaml``, nothing downloaded) on a synthetic set of
its own, exported to ONNX with the embedding output, and run over a second synthetic set
whose manifest says which frames belong to which scene (bursts of near-duplicate frames).
Every pair of images is then one of two kinds: same scene (a duplicate the filter should
catch) or different scenes (which it must never flag). For each threshold the script
reports recall on same-scene pairs and the false-pair rate on different-scene pairs, for
the image fingerprint (the rule the loop uses), for the model's embedding alone, and for
the older rule that also asked the shown boxes to agree. ``--fixed-side`` gives every frame
one size, as a camera does (the box rule then cannot lean on differing image sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")

from hitl_active.data.fingerprint import FINGERPRINT_THRESHOLD, image_fingerprint
from hitl_active.data.splits import scene_groups
from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
from hitl_active.sampling.dedup import (
    centred_similarity,
    same_boxes,
)
from hitl_active.sampling.packed import PackedDetections

TRAIN_EXTRA = {"optimizer": "AdamW", "nbs": 8, "lrf": 1.0, "warmup_epochs": 0, "mosaic": 0.0,
               "val": False}  # fmt: skip


def train_tiny(work: Path, n_images: int, epochs: int, imgsz: int, seed: int) -> Path:
    """Train and export a tiny detector on its own synthetic set; returns the ONNX path."""
    import yaml

    from hitl_active.models import TrainConfig, export_onnx, train_detector

    data = make_synthetic_dataset(
        work / "train", SyntheticSpec(n_images=n_images, min_side=128, max_side=224,
                                      seed=seed + 1000), progress=False,
    )  # fmt: skip
    data_yaml = work / "data.yaml"
    data_yaml.write_text(yaml.safe_dump({
        "path": str(data.root), "train": "images", "val": "images",
        "names": dict(enumerate(data.class_names)),
    }))  # fmt: skip
    config = TrainConfig(model="yolo11n.yaml", epochs=epochs, imgsz=imgsz, batch=8, lr0=0.005,
                         seed=seed, workers=0, extra=dict(TRAIN_EXTRA))  # fmt: skip
    result = train_detector(data_yaml, work / "model", config)
    return export_onnx(result.weights, work / "tiny.onnx", imgsz=imgsz, model_version="bench")


def rates(sim: np.ndarray, same: np.ndarray, other: np.ndarray, t: float) -> dict[str, float]:
    hit = sim >= t
    return {
        "threshold": t,
        "recall": round(float(hit[same].mean()), 4),
        "false_pair_rate": round(float(hit[other].mean()), 6),
        "false_pairs": int(hit[other].sum()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=240, help="frames in the measured set")
    p.add_argument("--burst-fraction", type=float, default=0.3)
    p.add_argument("--train-images", type=int, default=48)
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--imgsz", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fixed-side", type=int, default=None, help="every frame this size (px)")
    p.add_argument("--onnx", default=None, help="use this model instead of training one")
    p.add_argument("--box-conf", type=float, default=0.4, help="shown boxes, for the old rule")
    p.add_argument("--work", default=None, help="folder for datasets and the model (default tmp)")
    args = p.parse_args()

    from hitl_active.serving.engine import Engine, EngineConfig

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-dedup-"))
    t0 = time.perf_counter()
    onnx = Path(args.onnx) if args.onnx else train_tiny(
        work, args.train_images, args.epochs, args.imgsz, args.seed
    )  # fmt: skip
    train_s = time.perf_counter() - t0
    lo, hi = (args.fixed_side, args.fixed_side) if args.fixed_side else (128, 224)
    spec = SyntheticSpec(n_images=args.images, min_side=lo, max_side=hi, seed=args.seed,
                         burst_fraction=args.burst_fraction)  # fmt: skip
    data = make_synthetic_dataset(work / "measure", spec, progress=False)
    paths = data.image_paths()
    engine = Engine(str(onnx), EngineConfig(conf_floor=0.01))
    dets = [r.detections for r in engine.predict_paths([str(q) for q in paths])]
    pool = PackedDetections.from_detections(dets, len(data.class_names))
    scenes = np.asarray(scene_groups(data.root, paths))

    prints = np.stack([image_fingerprint(q) for q in paths])
    print_sim = (prints @ prints.T)[np.triu_indices(len(paths), k=1)]
    sim = centred_similarity(pool.embeddings)
    iu = np.triu_indices(len(paths), k=1)
    pair_sim = sim[iu]
    same = scenes[iu[0]] == scenes[iu[1]]
    other = ~same
    shown = pool.box_mask(pool.confidence >= args.box_conf)
    boxes_agree = np.array([same_boxes(shown, int(i), int(j)) for i, j in zip(*iu, strict=True)])
    thresholds = [0.8, 0.85, 0.9, 0.92, 0.95, 0.97]
    old = rates(np.where(boxes_agree, pair_sim, -1.0), same, other, 0.8)
    print(json.dumps({
        "machine": platform.processor() or platform.machine(),
        "model": str(onnx), "train_s": round(train_s, 1),
        "images": len(paths), "scenes": len(set(scenes.tolist())),
        "same_scene_pairs": int(same.sum()), "different_scene_pairs": int(other.sum()),
        "fingerprint_threshold": FINGERPRINT_THRESHOLD,
        "fingerprint_rule": rates(print_sim, same, other, FINGERPRINT_THRESHOLD),
        "fingerprint_same_scene_min": round(float(print_sim[same].min()), 4),
        "fingerprint_different_scene_max": round(float(print_sim[other].max()), 4),
        "fingerprint_rule_by_threshold": [rates(print_sim, same, other, t) for t in thresholds],
        "embedding_same_scene_similarity": {
            "min": round(float(pair_sim[same].min()), 4),
            "p05": round(float(np.quantile(pair_sim[same], 0.05)), 4),
            "median": round(float(np.median(pair_sim[same])), 4)},
        "embedding_different_scene_similarity": {
            "max": round(float(pair_sim[other].max()), 4),
            "p999": round(float(np.quantile(pair_sim[other], 0.999)), 4),
            "median": round(float(np.median(pair_sim[other])), 4)},
        "embedding_rule": [rates(pair_sim, same, other, t) for t in sorted(thresholds)],
        "old_rule_embedding_0.8_and_boxes_agree": old,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
