"""Time scoring and selection on 100,000 images of synthetic predictions; prints JSON.

    .venv/bin/python scripts/bench_sampling.py [--images 100000] [--budget 1000]

Targets: scoring 100k images under 2 s; hybrid selection of 1,000 from 100k (k-center on
256-d embeddings) under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from hitl_active.sampling import (
    PackedDetections,
    SelectionContext,
    get_strategy,
    select_batch,
)


def synthetic_pool(
    n_images: int, num_classes: int, dim: int, mean_boxes: float, rng: np.random.Generator
) -> PackedDetections:
    """Columnar predictions as the engine would return them: sigmoid class scores per box."""
    counts = rng.poisson(mean_boxes, n_images)
    counts[rng.random(n_images) < 0.05] = 0  # empty frames
    m = int(counts.sum())
    logits = rng.normal(-4.0, 2.0, (m, num_classes)).astype(np.float32)
    winner = rng.integers(0, num_classes, m)
    logits[np.arange(m), winner] += rng.normal(4.0, 3.0, m).astype(np.float32)
    probs = 1.0 / (1.0 + np.exp(-logits))
    xy = rng.uniform(0, 600, (m, 2)).astype(np.float32)
    wh = rng.uniform(10, 200, (m, 2)).astype(np.float32)
    return PackedDetections(
        class_probs=probs,
        confidence=probs.max(axis=1),
        class_id=probs.argmax(axis=1),
        xyxy=np.concatenate([xy, xy + wh], axis=1),
        offsets=np.concatenate([[0], np.cumsum(counts)]),
        embeddings=rng.normal(size=(n_images, dim)).astype(np.float32),
        image_sizes=np.full((n_images, 2), 800),
    )


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--boxes", type=float, default=10.0, help="mean candidates per image")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    pool = synthetic_pool(args.images, args.classes, args.dim, args.boxes, rng)
    ctx = SelectionContext(
        rng=np.random.default_rng(1),
        labelled_class_counts=np.arange(1, args.classes + 1) * 10,
        labelled_embeddings=rng.normal(size=(200, args.dim)).astype(np.float32),
    )
    result: dict[str, object] = {
        "images": args.images,
        "boxes": pool.n_boxes,
        "classes": args.classes,
        "embedding_dim": args.dim,
        "budget": args.budget,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    # Packing per-image Detections into the columnar form (done once per pool scoring).
    n_pack = min(args.images, 20_000)
    per_image = [pool.image(i) for i in range(n_pack)]
    t_pack, _ = timed(lambda: PackedDetections.from_detections(per_image, args.classes), repeat=1)
    result["pack_s_per_100k"] = round(t_pack * 100_000 / n_pack, 3)
    scoring = {}
    for name in ("least-confidence-max", "margin-mean", "entropy-mean", "entropy-sum"):
        strategy = get_strategy(name)
        t, _ = timed(lambda s=strategy: s.scores(pool, ctx))
        scoring[name] = round(t, 3)
    result["score_s"] = scoring
    for name in (
        "random", "entropy-mean", "entropy-mean+class-balance", "time-aware",
        "entropy-sum+knapsack", "hybrid",
    ):  # fmt: skip
        strategy = get_strategy(name)
        t, sel = timed(
            lambda s=strategy: select_batch(s, pool, args.budget, ctx, dedup_threshold=0.95),
            repeat=1,
        )
        result[f"select_s[{name}]"] = round(t, 3)
        result[f"selected[{name}]"] = len(sel)  # type: ignore[arg-type]
    small = args.images // 10
    sub = PackedDetections(
        pool.class_probs[: pool.offsets[small]],
        pool.confidence[: pool.offsets[small]],
        pool.class_id[: pool.offsets[small]],
        pool.xyxy[: pool.offsets[small]],
        pool.offsets[: small + 1],
        pool.embeddings[:small],
    )
    t, _ = timed(lambda: select_batch(get_strategy("coreset"), sub, args.budget, ctx), repeat=1)
    result[f"select_s[coreset, {small} images]"] = round(t, 3)
    result["targets"] = {
        "score_100k_under_s": 2.0,
        "hybrid_select_under_s": 30.0,
        "score_ok": max(scoring.values()) < 2.0,
        "hybrid_ok": result["select_s[hybrid]"] < 30.0,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
