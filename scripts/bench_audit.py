"""Does the audit's 95% interval hold? Coverage on simulated deliveries; prints JSON.

    .venv/bin/python scripts/bench_audit.py --runs 200 --docs docs

Each run makes a delivery with planted error rates: per image class a share of the true
objects the delivery finds (``--recall``), and per box class a share of the delivered boxes
that are right (``--precision``; the rest are boxes where no object of that class is). The
audit then runs as the product runs it (:func:`hitl_active.delivery.audit.plan_audit` and
:func:`~hitl_active.delivery.audit.estimate`), with a reviewer who finds the true objects;
a run's interval covers when it holds the delivery's actual rate (its whole population,
not the planted probability). Target: each class's interval covers in 93-97% of the runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from benchjson import emit

from hitl_active.delivery.audit import BOX_CLASSES, IMAGE_CLASSES, estimate, plan_audit
from hitl_active.formats.core import ImageLabels

SIZE = 1000.0
#: Which box classes a verified image's found objects come as (model-only: model).
VERIFIED_SPLIT = {"human": 0.5, "corrected": 0.3, "accepted": 0.2}
SOURCE = {"human": "human", "corrected": "human_corrected", "accepted": "human_accepted",
          "model": "model"}  # fmt: skip
CLASS_OF = {v: k for k, v in SOURCE.items()}


def _boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` boxes on a grid of cells, one per cell: true objects never overlap."""
    cells = rng.choice(100, n, replace=False)
    x, y = (cells % 10) * 100.0, (cells // 10) * 100.0
    w, h = rng.uniform(40, 90, n), rng.uniform(40, 90, n)
    return np.stack([x + 5, y + 5, x + 5 + w, y + 5 + h], axis=1).astype(np.float32)


def delivery(rng, n_images, share_model_only, precision, recall, objects_mean):
    """Delivered and true labels per image, the verified images, and the actual rates."""
    delivered, truth, verified = {}, {}, set()
    right = {c: 0 for c in BOX_CLASSES}
    total = {c: 0 for c in BOX_CLASSES}
    found = {c: 0 for c in IMAGE_CLASSES}
    objects = {c: 0 for c in IMAGE_CLASSES}
    for i in range(n_images):
        name = f"img{i:05d}.jpg"
        stratum = "model-only" if rng.random() < share_model_only else "verified"
        if stratum == "verified":
            verified.add(name)
        k = int(rng.poisson(objects_mean))
        cells = _boxes(rng, min(k + 20, 100))
        true_xyxy, spare = cells[:k], cells[k:]
        cls = rng.integers(0, 3, k)
        hit = rng.random(k) < recall[stratum]
        found[stratum] += int(hit.sum())
        objects[stratum] += k
        boxes, classes, meta, is_right = [], [], [], []
        for j in np.flatnonzero(hit):
            c = (
                "model"
                if stratum == "model-only"
                else str(rng.choice(list(VERIFIED_SPLIT), p=list(VERIFIED_SPLIT.values())))
            )
            boxes.append(true_xyxy[j] + rng.normal(0, 1.5, 4).astype(np.float32))
            classes.append(int(cls[j]))
            meta.append({"source": SOURCE[c]})
            is_right.append(True)
        # wrong boxes, in cells with no object: each class's boxes are right at about its rate
        for c in ("model",) if stratum == "model-only" else tuple(VERIFIED_SPLIT):
            n_right = sum(m["source"] == SOURCE[c] for m in meta)
            odds = (1 - precision[c]) / max(precision[c], 1e-9)
            n_wrong = min(int(rng.poisson((n_right + 0.3) * odds)), len(spare))
            for box in spare[:n_wrong]:
                boxes.append(box)
                classes.append(int(rng.integers(0, 3)))
                meta.append({"source": SOURCE[c]})
                is_right.append(False)
            spare = spare[n_wrong:]
        for m, ok in zip(meta, is_right, strict=True):
            c = CLASS_OF[m["source"]]
            total[c] += 1
            right[c] += int(ok)
        delivered[name] = ImageLabels(
            name, int(SIZE), int(SIZE), np.array(boxes, np.float32).reshape(-1, 4),
            np.array(classes, np.int64), box_meta=meta,
        )  # fmt: skip
        truth[name] = ImageLabels(name, int(SIZE), int(SIZE), true_xyxy, cls.astype(np.int64))
    actual = {
        "precision": {c: right[c] / total[c] for c in BOX_CLASSES if total[c]},
        "recall": {c: found[c] / objects[c] for c in IMAGE_CLASSES if objects[c]},
    }
    return delivered, truth, verified, actual


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--images", type=int, default=3000)
    p.add_argument("--half-width", type=float, default=0.05)
    planted = {"human": 0.97, "corrected": 0.93, "accepted": 0.88, "model": 0.7}
    p.add_argument("--precision", type=json.loads, default=planted)
    p.add_argument("--recall", type=json.loads, default={"verified": 0.96, "model-only": 0.75})
    p.add_argument("--share-model-only", type=float, default=0.4)
    p.add_argument("--objects", type=float, default=3.0, help="mean true objects per image")
    p.add_argument("--docs", type=Path, default=None, help="also write bench_audit.json")
    args = p.parse_args(argv)
    covered: dict[str, list[bool]] = {}
    widths: dict[str, list[float]] = {}
    inspected: dict[str, list[int]] = {}
    for run in range(args.runs):
        rng = np.random.default_rng([7, run])
        delivered, truth, verified, actual = delivery(
            rng, args.images, args.share_model_only, args.precision, args.recall, args.objects
        )
        items = [delivered[k] for k in sorted(delivered)]
        plan = plan_audit(items, verified, half_width=args.half_width, seed=run)
        reviewed = {img: truth[img] for img in plan.review_images}
        result = estimate(plan, delivered, reviewed)
        for kind in ("precision", "recall"):
            for c, rate in actual[kind].items():
                f = result[kind][c]
                key = f"{kind}/{c}"
                covered.setdefault(key, []).append(f["low"] - 1e-12 <= rate <= f["high"] + 1e-12)
                widths.setdefault(key, []).append((f["high"] - f["low"]) / 2)
                inspected.setdefault(key, []).append(f["inspected"])
    coverage = {k: round(float(np.mean(v)), 3) for k, v in covered.items()}
    out = {
        "runs": args.runs,
        "coverage": coverage,
        "target": "each class's 95% interval covers the delivery's actual rate in 93-97% of runs",
        "met": {k: 0.93 <= v <= 0.97 for k, v in coverage.items()},
        "mean_half_width": {k: round(float(np.mean(v)), 4) for k, v in widths.items()},
        "mean_inspected": {k: round(float(np.mean(v)), 1) for k, v in inspected.items()},
        "planted": {
            "precision": args.precision,
            "recall": args.recall,
            "share_model_only": args.share_model_only,
            "images": args.images,
            "objects_per_image": args.objects,
            "half_width": args.half_width,
        },
        "command": " ".join(["scripts/bench_audit.py", *(argv or sys.argv[1:])]),
    }
    emit(out, args.docs, "bench_audit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
