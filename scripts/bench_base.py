"""The full-data model from the photo base against the same model from random weights.

    .venv/bin/python scripts/bench_base.py --datasets BENCH/kangaroo BENCH/license_plates \
        BENCH/fruit --out /tmp/bench-base --docs docs

For each labelled set (a VOC or YOLO folder the base never saw, see docs/base_model.md),
the images are split as ``scripts/bench_simulate.py`` splits them (held-out scenes, split
seed 0, ``--test-share`` of the images) and YOLO11n is trained on the whole pool twice, by
the benchmark's own runner (``hitl_active.bench.runner.SimRunner.fit``, the path of its
full-data reference): once from the shipped photo base (``--base``, default the package's
``hitl-base-yolo11n.pt``; its class head re-made for the set's classes) and once from
``yolo11n.yaml`` (random weights). Both are scored on the held-out images with the
project's evaluator. Every finished run is kept under OUT, so a stopped run resumes;
``--starts scratch`` or ``--starts base`` runs one half. Prints JSON: per set, mAP50-95 and
mAP50 of each start and the ratio base / scratch (target: at least 2 on every set).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from hitl_active.bench.runner import SimRunner
from hitl_active.bench.simulate import SimulationConfig
from hitl_active.data.labelled import load_labelled_dataset
from hitl_active.data.splits import scene_groups
from hitl_active.models.start import shipped_base, weights_sha256

logger = logging.getLogger("bench_base")
STARTS = ("base", "scratch")


def run_one(dataset: Path, start: str, model: str, args: argparse.Namespace) -> dict:
    """Train on the whole pool of ``dataset`` from ``model`` and score it (cached)."""
    out = args.out / dataset.name / start
    result = out / "result.json"
    if result.is_file():
        return json.loads(result.read_text())
    items, names = load_labelled_dataset(dataset)
    test_size = max(1, round(len(items) * args.test_share))
    cfg = SimulationConfig(strategies=("random",), seeds=(0,), rounds=0, initial=1,
                           test_size=test_size, model=model, imgsz=args.imgsz,
                           train_batch=args.batch)  # fmt: skip
    runner = SimRunner(items, names, cfg, out, scene_groups(dataset, [p for p, _ in items]))
    began = time.perf_counter()
    weights = runner.fit(list(range(len(runner.train))), out / "run", model, args.epochs, 0)
    scores = runner.evaluate(runner.onnx(weights))
    row = {
        "start": start,
        "model": model,
        "train_images": len(runner.train),
        "test_images": len(runner.test),
        "classes": names,
        "train_s": round(time.perf_counter() - began, 1),
        **{k: round(float(v), 4) for k, v in scores.items()},
    }
    result.write_text(json.dumps(row, indent=1))
    logger.info("%s from %s: mAP50-95 %.4f", dataset.name, start, row["map50_95"])
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--base", type=Path, default=None, help="the photo base .pt (the shipped one)")
    p.add_argument("--starts", default="base,scratch")
    p.add_argument("--epochs", type=int, default=20, help="bench_simulate's full-data epochs")
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--test-share", type=float, default=0.25)
    p.add_argument("--docs", type=Path, default=None, help="write bench_base.json here too")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    starts = [s for s in args.starts.split(",") if s]
    unknown = sorted(set(starts) - set(STARTS))
    if unknown:
        p.error(f"unknown starts {unknown}; choose from {list(STARTS)}")
    args.base = args.base or shipped_base()
    models = {"base": str(args.base), "scratch": "yolo11n.yaml"}
    summary: dict = {
        "protocol": {
            "epochs": args.epochs,
            "imgsz": args.imgsz,
            "test_share": args.test_share,
            "split_seed": 0,
            "base": str(args.base),
            "base_sha256": weights_sha256(args.base),
        },
        "sets": {},
    }
    for dataset in args.datasets:
        rows = {s: run_one(dataset, s, models[s], args) for s in starts}
        entry: dict = {"runs": rows}
        if {"base", "scratch"} <= rows.keys():
            b, s = rows["base"]["map50_95"], rows["scratch"]["map50_95"]
            entry["ratio_map50_95"] = round(b / s, 2) if s > 0 else None
            entry["meets_2x"] = bool(s > 0 and b >= 2 * s) or bool(s == 0 and b > 0)
        summary["sets"][dataset.name] = entry
    if args.docs and all("ratio_map50_95" in e for e in summary["sets"].values()):
        args.docs.mkdir(parents=True, exist_ok=True)
        (args.docs / "bench_base.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
