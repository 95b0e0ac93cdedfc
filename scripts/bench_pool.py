"""Time one round's selection from a 100,000-image pool's stored predictions; prints JSON.

    .venv/bin/python scripts/bench_pool.py [--images 100000] [--boxes 10] [--classes 10]
                                           [--dim 256] [--select 1000] [--workdir DIR]

The pool's predictions are synthetic (about ``--boxes`` candidate boxes per image with
per-class probabilities, a ``--dim`` embedding and an image size) but are written through
the real store API a pre-label pass uses (``Store.put_predictions``, chunks of
``steps.CHUNK`` images, one transaction each). The selection then runs in a fresh process
(the script re-invokes itself with ``--select-only``), so its peak RSS is not inflated by
the build: it opens the workspace and calls the loop's own ``steps.select_images`` with the
default strategy, exactly what a round runs. The selection reads the image files of the
candidates it walks (colour fingerprints against near-duplicate frames), so the pool has
real files: small distinct 96x72 JPEGs (``--files`` fewer makes pool paths hard links to
them, i.e. duplicate frames). Reported:

    select_s              candidates + read + score + select, as a round runs them
    select_cpu_s          the same in CPU seconds of the process (steadier on a busy machine)
    read_s                of which: reading the stored predictions into packed arrays
    score_select_s        of which: scoring, de-duplication and picking the batch
    fingerprint_s         of which (inside score_select_s): reading the walked images' files
    peak_rss_mb           peak resident memory of the selecting process
    store_mb_per_version  growth of the state database for one version's predictions

Targets: select_s <= 5, peak_rss_mb <= 2048 on 2 cores, store_mb_per_version <= 200.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from hitl_active.data import fingerprint as fingerprint_mod
from hitl_active.detections import Detections
from hitl_active.loop import steps
from hitl_active.sampling.registry import DEFAULT_STRATEGY
from hitl_active.workspace.workspace import LoopConfig, Workspace

VERSION = "v0001"
SIZE = (96, 72)


def _config(root: Path, args: argparse.Namespace) -> LoopConfig:
    return LoopConfig(
        images=str(root / "images"),
        classes=[f"class{i}" for i in range(args.classes)],
        batch_size=args.select,
        strategy=DEFAULT_STRATEGY,
    )


def _db_bytes(ws: Workspace) -> int:
    ws.store._one("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in ws.root.glob("state.db*"))


def _synthetic(rng: np.random.Generator, n: int, args: argparse.Namespace) -> list[Detections]:
    out = []
    for _ in range(n):
        k = int(rng.poisson(args.boxes))
        xy = rng.uniform(0, 64, (k, 2)).astype(np.float32)
        wh = rng.uniform(2, 32, (k, 2)).astype(np.float32)
        probs = rng.beta(0.3, 3.0, (k, args.classes)).astype(np.float32)
        out.append(
            Detections.from_class_probs(
                np.concatenate([xy, xy + wh], axis=1),
                probs,
                image_size=SIZE,
                embedding=rng.standard_normal(args.dim).astype(np.float32),
                model_version=VERSION,
            )
        )
    return out


def _image_files(root: Path, args: argparse.Namespace) -> list[str]:
    """``args.images`` pool paths, hard links to ``args.files`` distinct small JPEGs."""
    rng = np.random.default_rng(args.seed + 1)
    sources = root / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    for k in range(args.files):
        blocks = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        image = Image.fromarray(blocks).resize(SIZE, Image.Resampling.BILINEAR)
        image.save(sources / f"{k:05d}.jpg", quality=80)
    paths = []
    for i in range(args.images):
        path = root / "images" / f"{i:06d}.jpg"
        os.link(sources / f"{i % args.files:05d}.jpg", path)
        paths.append(str(path))
    return paths


def build(root: Path, args: argparse.Namespace) -> dict[str, float]:
    """A workspace whose pool of ``args.images`` has one version's stored predictions."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    ws = Workspace(root, _config(root, args))
    ws.save_config()
    store = ws.store
    store.add_images((p, *SIZE, None, "pool") for p in _image_files(root, args))
    store.add_model_version(VERSION, None, status="promoted")
    before = _db_bytes(ws)
    rng = np.random.default_rng(args.seed)
    ids = [img.id for img in store.images("pool")]
    start, write_s = time.perf_counter(), 0.0
    for lo in range(0, len(ids), steps.CHUNK):
        part = ids[lo : lo + steps.CHUNK]
        dets = _synthetic(rng, len(part), args)
        t = time.perf_counter()
        store.put_predictions(
            VERSION, [(i, d, None, None) for i, d in zip(part, dets, strict=True)]
        )
        write_s += time.perf_counter() - t
    build_s = time.perf_counter() - start
    growth = _db_bytes(ws) - before
    ws.close()
    return {"build_s": round(build_s, 2), "write_s": round(write_s, 2),
            "store_mb_per_version": round(growth / 1e6, 1)}  # fmt: skip


def select_only(root: Path) -> dict[str, float]:
    """One round's selection, timed in parts, in this (fresh) process."""
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ws = Workspace.open(root)
    store = ws.store
    read_s = 0.0
    real_read = store.packed_predictions

    def timed_read(*a, **k):  # type: ignore[no-untyped-def]
        nonlocal read_s
        t = time.perf_counter()
        out = real_read(*a, **k)
        read_s += time.perf_counter() - t
        return out

    store.packed_predictions = timed_read  # type: ignore[method-assign]
    fingerprint_s = 0.0
    real_fingerprint = fingerprint_mod.image_fingerprint

    def timed_fingerprint(*a, **k):  # type: ignore[no-untyped-def]
        nonlocal fingerprint_s
        t = time.perf_counter()
        out = real_fingerprint(*a, **k)
        fingerprint_s += time.perf_counter() - t
        return out

    fingerprint_mod.image_fingerprint = timed_fingerprint
    start, cpu_start = time.perf_counter(), time.process_time()
    tasked = {t.image_id for t in store.tasks()}
    candidates = [img for img in store.images("pool") if img.id not in tasked]
    candidates_s = time.perf_counter() - start
    version = store.model_version(VERSION)
    rows = steps.select_images(ws, 1, version, candidates)
    select_s = time.perf_counter() - start
    select_cpu_s = time.process_time() - cpu_start
    ws.close()
    return {
        "select_s": round(select_s, 3),
        "select_cpu_s": round(select_cpu_s, 3),
        "candidates_s": round(candidates_s, 3),
        "read_s": round(read_s, 3),
        "score_select_s": round(select_s - candidates_s - read_s, 3),
        "fingerprint_s": round(fingerprint_s, 3),
        "selected": len(rows),
        "pool": len(candidates),
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=100_000)
    p.add_argument("--boxes", type=int, default=10, help="mean candidate boxes per image")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--dim", type=int, default=256, help="embedding size")
    p.add_argument("--select", type=int, default=1000, help="images selected")
    p.add_argument("--files", type=int, help="distinct image files (default: one per image)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path, help="keep the workspace here (default: a temp dir)")
    p.add_argument("--select-only", type=Path, metavar="WORKSPACE", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.files = min(args.files or args.images, args.images)
    if args.select_only:
        print(json.dumps(select_only(args.select_only)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.workdir or Path(tmp)) / "bench-ws"
        built = build(root, args)
        cmd = [sys.executable, __file__, "--select-only", str(root)]
        child = subprocess.run(cmd, check=True, capture_output=True, text=True)
        selected = json.loads(child.stdout.strip().splitlines()[-1])
        print(json.dumps({
            "images": args.images, "boxes_per_image": args.boxes, "classes": args.classes,
            "dim": args.dim, "strategy": DEFAULT_STRATEGY, **selected, **built,
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
        }, indent=2), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
