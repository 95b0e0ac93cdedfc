"""Benchmark pre-labelling throughput and memory; prints JSON.

Compares, on the same ONNX model, the same images and the same machine, in one run:

* ``ours``: ``Engine.predict_paths`` (threaded decode -> rect letterbox -> shape-grouped
  batches -> ONNX Runtime -> NMS -> Detections with class probabilities and embeddings);
* ``bare_session_run``: ``session.run`` alone on exactly the batch shapes our pipeline fed
  (random tensors, same session): the pipeline's overhead over inference;
* ``ultralytics_onnx``: ``YOLO(model.onnx).predict(path)`` one file at a time, same dynamic
  model (Ultralytics letterboxes it to the same minimal rectangles);
* ``ultralytics_pytorch``: ``YOLO(model.pt).predict(path)`` one file at a time;
* ``ultralytics_onnx_static``: for reference, Ultralytics on the default static (square 640)
  export of the same weights.

``compare`` runs all of them interleaved chunk by chunk in one process, so the drifting load
of a shared machine hits them alike. ``ours_alone`` runs ours in a fresh process for its peak
RSS. ``pool`` runs ours over a generator of ``--pool`` paths (the list repeated, never held),
sampling RSS, capped at ``--pool-seconds``: memory must not grow with the pool.

The model is YOLO11n from
``yolo11n.yaml`` (random weights: speed does not depend on them), exported with a dynamic
input and our ``embedding`` output. Random weights give class scores around 1e-4, so the
default ``--conf`` floor of 1e-4 lets ~260 candidate boxes per image into NMS.

    python scripts/bench_prelabel.py --images /path/to/jpegs --repeat 3 --out bench.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

RACCOON = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "raccoon-voc" / "images"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _paths(args: argparse.Namespace) -> list[str]:
    files = sorted(str(p) for p in Path(args.images).glob("*.jpg"))[: args.limit]
    if not files:
        raise SystemExit(f"no .jpg images in {args.images}")
    return files * args.repeat


def _build(args: argparse.Namespace) -> dict:
    from ultralytics import YOLO

    from hitl_active.models import export_onnx

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    pt = work / "yolo11n_random.pt"
    YOLO("yolo11n.yaml").save(str(pt))
    onnx = export_onnx(pt, work / "yolo11n_random.onnx", imgsz=args.imgsz, dynamic=True)
    static = export_onnx(pt, work / "yolo11n_random_static.onnx", imgsz=args.imgsz, dynamic=False)
    return {"pt": str(pt), "onnx": str(onnx), "onnx_static_for_reference": str(static)}


def _engine(args: argparse.Namespace):
    from hitl_active.serving import Engine, EngineConfig

    config = EngineConfig(
        conf_floor=args.conf, batch_size=args.batch_size, decode_workers=args.workers
    )
    return Engine(Path(args.work) / "yolo11n_random.onnx", config)


def _run_ours(engine, paths: list[str]) -> tuple[float, int]:
    """Seconds for our whole pipeline over ``paths``, and the boxes it kept."""
    boxes = 0
    start = time.perf_counter()
    for pred in engine.predict_paths(paths, progress=False):
        boxes += 0 if pred.detections is None else len(pred.detections)
    return time.perf_counter() - start, boxes


def _run_bare(session, input_name: str, shapes: dict, workers: int) -> float:
    """Wall seconds of ``session.run`` alone on tensors of exactly the batch shapes ours fed.

    With ``workers > 1`` the batches run concurrently, as our pipeline runs them.
    """
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    rng = np.random.default_rng(0)
    tensors = {shape: rng.random(shape, dtype=np.float32) for shape in shapes}
    jobs = [shape for shape, count in shapes.items() for _ in range(count)]
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda shape: session.run(None, {input_name: tensors[shape]}), jobs))
    return time.perf_counter() - start


def _ours(args: argparse.Namespace) -> dict:
    """Ours alone in a fresh process: throughput and peak RSS over the whole list."""
    paths = _paths(args)
    engine = _engine(args)
    _run_ours(engine, paths[: 2 * args.batch_size])  # warm-up
    engine.stats.reset()
    seconds, boxes = _run_ours(engine, paths)
    shapes = dict(engine.stats.batch_shapes)
    return {
        "images": len(paths),
        "seconds": round(seconds, 2),
        "img_per_s": round(len(paths) / seconds, 2),
        "boxes_per_image": round(boxes / len(paths), 1),
        "batches": engine.stats.batches,
        "distinct_batch_shapes": len(shapes),
        "input_pixels_vs_square_640": round(
            sum(s[0] * s[2] * s[3] * c for s, c in shapes.items())
            / (engine.stats.images * args.imgsz * args.imgsz),
            3,
        ),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "providers": engine.providers,
        "inference_workers": engine.infer_workers,
        "intra_op_threads_per_run": engine.session.get_session_options().intra_op_num_threads,
    }


def _compare(args: argparse.Namespace) -> dict:
    """All methods on the same images, interleaved chunk by chunk in one process.

    The machine is shared, so its load drifts: running every method on each chunk in turn
    exposes them all to the same conditions. Ultralytics runs one file per ``predict`` call.
    """
    from ultralytics import YOLO

    paths = _paths(args)
    work = Path(args.work)
    engine = _engine(args)
    from hitl_active.serving.session import create_session, default_threads

    # the classic setting for comparison: one run at a time over all cores
    single = create_session(engine.onnx_path, engine.providers, default_threads(), spin=False)
    kwargs = {"imgsz": args.imgsz, "conf": args.conf, "iou": 0.7, "verbose": False}
    baselines = {
        name: YOLO(str(work / weights), task="detect")
        for name, weights in (
            ("ultralytics_onnx", "yolo11n_random.onnx"),
            ("ultralytics_pytorch", "yolo11n_random.pt"),
            ("ultralytics_onnx_static", "yolo11n_random_static.onnx"),
        )
        if name not in args.skip
    }
    for model in baselines.values():  # warm-up: loads the models
        model.predict(paths[0], **kwargs)
    _run_ours(engine, paths[: 2 * args.batch_size])
    bares = ["bare_session_run", "bare_session_run_one_at_a_time_all_cores"]
    seconds = dict.fromkeys(["ours", *bares, *baselines], 0.0)
    boxes = dict.fromkeys(["ours", *baselines], 0)
    engine.stats.reset()
    for i in range(0, len(paths), args.chunk):
        chunk = paths[i : i + args.chunk]
        before = dict(engine.stats.batch_shapes)
        t, b = _run_ours(engine, chunk)
        seconds["ours"] += t
        boxes["ours"] += b
        fed = {k: v - before.get(k, 0) for k, v in engine.stats.batch_shapes.items()}
        fed = {k: v for k, v in fed.items() if v}
        seconds[bares[0]] += _run_bare(engine.session, engine.input_name, fed, engine.infer_workers)
        seconds[bares[1]] += _run_bare(single, engine.input_name, fed, 1)
        for name, model in baselines.items():
            start = time.perf_counter()
            for path in chunk:
                boxes[name] += len(model.predict(path, **kwargs)[0].boxes)
            seconds[name] += time.perf_counter() - start
    n = len(paths)
    out = {
        name: {
            "seconds": round(sec, 2),
            "img_per_s": round(n / sec, 2),
            **({"boxes_per_image": round(boxes[name] / n, 1)} if name in boxes else {}),
        }
        for name, sec in seconds.items()
    }
    out["ours"]["session_run_seconds_summed_over_workers"] = round(engine.stats.infer_seconds, 2)
    out["overhead_vs_bare_session_run"] = round(
        seconds["ours"] / seconds["bare_session_run"] - 1, 3
    )
    out["speedup"] = {f"vs_{name}": round(seconds[name] / seconds["ours"], 2) for name in baselines}
    out["images"] = n
    return out


def _pool(args: argparse.Namespace) -> dict:
    import psutil

    files = _paths(args)[: len(_paths(args)) // args.repeat]
    stream = itertools.islice(itertools.cycle(files), args.pool)  # never a list
    engine = _engine(args)
    proc = psutil.Process()
    samples: list[tuple[int, float]] = []
    done = 0
    start = time.perf_counter()
    for _ in engine.predict_paths(stream, progress=False):
        done += 1
        if done % 100 == 0:
            samples.append((done, round(proc.memory_info().rss / 2**20, 1)))
        if time.perf_counter() - start > args.pool_seconds:
            break
    seconds = time.perf_counter() - start
    rss = [r for _, r in samples]
    return {
        "pool_size": args.pool,
        "images_processed": done,
        "stopped_by_time_cap": done < args.pool,
        "seconds": round(seconds, 1),
        "img_per_s": round(done / seconds, 2),
        "rss_mb_at": dict(samples[:: max(1, len(samples) // 8)] + samples[-1:]),
        "rss_mb_first_sample": rss[0] if rss else None,
        "rss_mb_last_sample": rss[-1] if rss else None,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def _parity(args: argparse.Namespace) -> dict:
    """Our boxes vs Ultralytics' predict on the same (trained) ONNX model and images."""
    import numpy as np
    from ultralytics import YOLO

    from hitl_active.serving import Engine, EngineConfig

    paths = _paths(args)[: len(_paths(args)) // args.repeat]
    conf, size = args.parity_conf, args.parity_imgsz
    engine = Engine(args.parity_model, EngineConfig(conf_floor=conf, batch_size=8, imgsz=size))
    ours = list(engine.predict_paths(paths, progress=False))
    yolo = YOLO(args.parity_model, task="detect")
    worst, boxes, count_mismatch, class_mismatch = 0.0, 0, 0, 0
    for path, pred in zip(paths, ours, strict=True):
        ref = yolo.predict(path, imgsz=size, conf=conf, iou=0.7, verbose=False)[0]
        ref_xyxy, ref_cls = ref.boxes.xyxy.numpy(), ref.boxes.cls.numpy().astype(int)
        det = pred.detections
        if len(det) != len(ref_xyxy):
            count_mismatch += 1
            continue
        if not len(det):
            continue
        dist = np.abs(det.xyxy[:, None] - ref_xyxy[None]).max(-1)
        same_class = det.class_id[:, None] == ref_cls[None]
        nearest = np.where(same_class, dist, np.inf).min(axis=1)  # per box of ours
        class_mismatch += int(np.isinf(nearest).sum())
        if np.isfinite(nearest).any():
            worst = max(worst, float(nearest[np.isfinite(nearest)].max()))
        boxes += len(det)
    return {
        "model": args.parity_model,
        "images": len(paths),
        "imgsz": size,
        "conf": conf,
        "letterbox": "minimal stride-aligned rectangle on both sides (dynamic model, rect=True)",
        "boxes_compared": boxes,
        "max_abs_coordinate_difference_px": round(worst, 5),
        "images_with_different_box_count": count_mismatch,
        "boxes_without_same_class_partner": class_mismatch,
    }


def _child(name: str, args: argparse.Namespace) -> dict:
    """Run one measurement in a fresh interpreter so its peak RSS is its own."""
    cmd = [sys.executable, __file__, "--measure", name, *sys.argv[1:]]
    env = dict(os.environ, YOLO_OFFLINE="1", YOLO_VERBOSE="False")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"measurement {name} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--images", default=str(RACCOON), help="folder of .jpg files")
    p.add_argument("--limit", type=int, default=None, help="use only the first N files")
    p.add_argument("--repeat", type=int, default=3, help="repeat the file list (200 x 3 = 600)")
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--conf", type=float, default=1e-4, help="conf floor (and Ultralytics conf)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--workers", type=int, default=2, help="decode threads")
    p.add_argument("--pool", type=int, default=60000, help="paths in the memory run")
    p.add_argument("--pool-seconds", type=float, default=120.0, help="time cap of that run")
    p.add_argument(
        "--skip",
        default="",
        help="comma list of ultralytics_onnx, ultralytics_pytorch, ultralytics_onnx_static, pool",
    )
    p.add_argument("--work", default="/tmp/hitl_bench_prelabel", help="model folder")
    p.add_argument("--parity-model", default=None, help="trained .onnx for the parity check")
    p.add_argument("--parity-conf", type=float, default=0.05)
    p.add_argument("--parity-imgsz", type=int, default=640)
    p.add_argument("--chunk", type=int, default=50, help="images per interleaved round")
    p.add_argument("--out", default=None, help="also write the JSON here")
    p.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.skip = set(filter(None, args.skip.split(",")))

    if args.measure:
        fn = {
            "build": _build,
            "ours": _ours,
            "compare": _compare,
            "parity": _parity,
            "pool": _pool,
        }[args.measure]
        print(json.dumps(fn(args)))
        return

    import platform

    report: dict = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "settings": {
            k: sorted(v) if isinstance(v, set) else v
            for k, v in vars(args).items()
            if k not in {"measure", "out"}
        },
        "model": _child("build", args),
    }
    report["compare"] = _child("compare", args)
    report["ours_alone"] = _child("ours", args)
    if args.parity_model:
        report["parity"] = _child("parity", args)
    if "pool" not in args.skip:  # heavy: last, once
        report["pool"] = _child("pool", args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
