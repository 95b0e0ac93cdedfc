"""Pre-labelling throughput: the local runner against Ray Data on the same pool; prints JSON.

    .venv/bin/python scripts/bench_ray.py [--images DIR] [--repeat 3] [--actors 2] [--imgsz 640]

Needs the ``scale`` extra (``uv sync --extra scale``). A random-init YOLO11n (from
``yolo11n.yaml``, nothing downloaded) is exported to ONNX; the raccoon JPEGs (200, repeated
to 600 by hard links so every pool path is distinct) are registered in two workspaces. One
is pre-labelled by ``steps.prelabel`` (the local engine), the other by
``ray_prelabel.prelabel_on_ray`` on a local Ray cluster of ``--actors`` engine actors; both
write to their state store. ``ray_init_s`` (starting Ray) is reported apart from the pass.
``ray_vs_local`` is the whole pass against the local one (the target's measure);
``ray_first_chunk_s`` is how long the first stored chunk took (actor start-up and the first
batches) and ``ray_steady_img_s`` the rate after it, to tell fixed start-up from per-image
overhead. A second Ray pass, on a fresh workspace in the same Ray session, is timed as
``ray_warm_s`` / ``ray_warm_vs_local``: Ray Data's own service actors (stats, autoscaling
coordinator, actor locations; the last two detached, so they outlive a driver on a long-lived
cluster) are then already up, as in every round after the first of one ``hitl-active loop
--ray`` and on a cluster that has run Ray Data before; only the engine actors start. Peak
RSS is sampled every 0.1 s over this process and everything it started (Ray's head processes
and engine actors), for the local pass and for the Ray passes. Last, ``ray_data_noop_s``: a
fresh Ray passing as many rows through an actor pool that does nothing (Ray Data's own fixed
cost here, the floor under the gap between the two passes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import psutil

os.environ.setdefault("YOLO_OFFLINE", "1")

from hitl_active.loop import steps
from hitl_active.workspace.workspace import LoopConfig, Workspace

RACCOON = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "raccoon-voc" / "images"


def _model(work: Path, imgsz: int) -> tuple[Path, list[str]]:
    from ultralytics import YOLO

    from hitl_active.models import export_onnx, read_model_metadata

    pt = work / "yolo11n_random.pt"
    YOLO("yolo11n.yaml").save(str(pt))
    onnx = export_onnx(pt, work / "model.onnx", imgsz=imgsz, dynamic=True, model_version="bench")
    return onnx, read_model_metadata(onnx).class_names


def _pool(work: Path, source: Path, repeat: int) -> Path:
    files = sorted(source.glob("*.jpg"))
    if not files:
        raise SystemExit(f"no .jpg images in {source}; pass --images DIR")
    pool = work / "pool"
    pool.mkdir()
    for r in range(repeat):
        for f in files:
            os.link(f, pool / f"{r}_{f.name}")
    return pool


def _workspace(root: Path, pool: Path, classes: list[str], onnx: Path) -> Workspace:
    ws = Workspace.create(root, LoopConfig(images=str(pool), classes=classes))
    ws.store.add_model_version("bench", None, status="promoted")
    ws.store.update_model_version("bench", onnx=str(onnx))
    return ws


class PeakRss:
    """Largest RSS (MB) of this process plus its descendants while the block runs."""

    def __enter__(self) -> PeakRss:
        self.peak_mb, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(0.1)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class _Identity:
    def __call__(self, batch: dict) -> dict:
        return batch


def _ray_data_noop(n: int, actors: int, batch_size: int) -> float:
    """Seconds for a fresh local Ray to pass ``n`` rows through an actor pool that does
    nothing: Ray Data's own fixed cost on this machine, the floor under ``ray_s - local_s``."""
    import ray

    ray.init(num_cpus=actors, include_dashboard=False, log_to_driver=False)
    try:
        start = time.perf_counter()
        ds = ray.data.from_items([{"i": i} for i in range(n)]).map_batches(
            _Identity, batch_size=batch_size, concurrency=actors, num_cpus=1
        )
        for _ in ds.iter_batches(batch_size=None):
            pass
        return time.perf_counter() - start
    finally:
        ray.shutdown()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=Path, default=RACCOON, help="folder of .jpg files")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--actors", type=int, default=os.cpu_count() or 1)
    p.add_argument(
        "--batch-size", type=int, default=None, help="images per Ray batch (default: the product's)"
    )
    p.add_argument("--imgsz", type=int, default=640)
    args = p.parse_args()

    import ray

    from hitl_active.loop.ray_prelabel import prelabel_on_ray

    sizes = {} if args.batch_size is None else {"batch_size": args.batch_size}

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        onnx, classes = _model(work, args.imgsz)
        pool = _pool(work, args.images, args.repeat)
        local = _workspace(work / "local", pool, classes, onnx)
        images = local.store.images("pool")
        start = time.perf_counter()
        with PeakRss() as local_rss:
            steps.prelabel(local, local.store.model_version("bench"), images)
        local_s = time.perf_counter() - start

        ray_rss = PeakRss().__enter__()  # Ray's own processes count too
        start = time.perf_counter()
        ray.init(num_cpus=args.actors, include_dashboard=False, log_to_driver=False)
        ray_init_s = time.perf_counter() - start
        on_ray = _workspace(work / "ray", pool, classes, onnx)
        start = time.perf_counter()
        first: list[tuple[float, int]] = []  # when the first chunk was stored, and its size

        def on_chunk(count: int) -> None:
            if not first:
                first.append((time.perf_counter() - start, count))

        n = prelabel_on_ray(
            on_ray, on_ray.store.model_version("bench"), on_ray.store.images("pool"),
            actors=args.actors, on_chunk=on_chunk, **sizes,
        )  # fmt: skip
        ray_s = time.perf_counter() - start
        first_s, first_n = first[0] if first else (ray_s, n)
        steady = (n - first_n) / max(ray_s - first_s, 1e-9)
        warm = _workspace(work / "ray_warm", pool, classes, onnx)
        start = time.perf_counter()
        prelabel_on_ray(
            warm, warm.store.model_version("bench"), warm.store.images("pool"),
            actors=args.actors, **sizes,
        )  # fmt: skip
        warm_s = time.perf_counter() - start
        warm.close()
        ray_rss.__exit__()
        ray.shutdown()
        noop_s = _ray_data_noop(len(images), args.actors, sizes.get("batch_size", 16))
        same = len(local.store.predictions("bench")) == len(on_ray.store.predictions("bench"))
        local.close()
        on_ray.close()
    print(json.dumps({
        "images": len(images), "imgsz": args.imgsz, "actors": args.actors,
        "local_s": round(local_s, 2), "local_img_s": round(len(images) / local_s, 1),
        "ray_s": round(ray_s, 2), "ray_img_s": round(n / ray_s, 1),
        "ray_init_s": round(ray_init_s, 2), "ray_vs_local": round(local_s / ray_s, 2),
        "ray_first_chunk_s": round(first_s, 2), "ray_steady_img_s": round(steady, 1),
        "ray_steady_vs_local": round(steady / (len(images) / local_s), 2),
        "ray_data_noop_s": round(noop_s, 2),
        "ray_warm_s": round(warm_s, 2), "ray_warm_vs_local": round(local_s / warm_s, 2),
        "local_peak_rss_mb": round(local_rss.peak_mb), "ray_peak_rss_mb": round(ray_rss.peak_mb),
        "same_rows": same, "cpu_count": os.cpu_count(), "machine": platform.machine(),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
