"""Benchmark the Label Studio push and pull paths against a real server; prints JSON.

    .venv/bin/python scripts/bench_labelstudio.py [--tasks 5000] [--boxes 5]

Uses the server at $LABEL_STUDIO_URL with $LABEL_STUDIO_API_KEY when both are set;
otherwise starts one with scripts/label-studio (temporary data folder, free port) and stops
it afterwards. Push: tasks with ~5-box pre-labels into a fresh project through
``push_tasks`` (batched import). Pull: a second fresh project whose tasks are imported with
one annotation each (setup, not timed), then one full ``pull_annotations`` (timed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hitl_active.formats import ImageLabels  # noqa: E402
from hitl_active.formats.labelstudio import to_ls_results  # noqa: E402
from hitl_active.labelstudio import (  # noqa: E402
    LabelStudioClient,
    PushItem,
    SQLiteSink,
    ensure_project,
    pull_annotations,
    push_tasks,
)

CLASSES = ["circle", "square", "triangle", "cross"]


def cpu_seconds(pid: int | None) -> float:
    """User+system CPU time of a local server process and its children (gunicorn workers)."""
    if pid is None:
        return 0.0
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


@contextmanager
def server(tmp: Path, pid: int | None, workers: int):
    url, token = os.environ.get("LABEL_STUDIO_URL"), os.environ.get("LABEL_STUDIO_API_KEY")
    if url and token:
        yield url, token, pid
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "bench-" + os.urandom(8).hex()
    env = dict(
        os.environ,
        LABEL_STUDIO_USER_TOKEN=token,
        LABEL_STUDIO_PASSWORD=os.urandom(8).hex(),
        LABEL_STUDIO_USERNAME="bench@example.com",
    )
    log = (tmp / "server.log").open("wb")
    cmd = [
        str(REPO / "scripts" / "label-studio"),
        "start",
        "--port",
        str(port),
        "--data-dir",
        str(tmp / "data"),
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        client = LabelStudioClient(url, token)
        deadline = time.monotonic() + 400
        while not client.health():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"Label Studio did not start; see {tmp / 'server.log'}")
            time.sleep(1)
        client.close()
        yield url, token, proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def fake_labels(rng: np.random.Generator, i: int, boxes: int) -> ImageLabels:
    w, h = int(rng.integers(320, 1920)), int(rng.integers(240, 1080))
    n = int(rng.poisson(boxes))
    x1, y1 = rng.uniform(0, w * 0.8, n), rng.uniform(0, h * 0.8, n)
    x2, y2 = (
        np.minimum(x1 + rng.uniform(8, w * 0.2, n), w),
        np.minimum(y1 + rng.uniform(8, h * 0.2, n), h),
    )
    return ImageLabels(
        f"img_{i:06d}.jpg",
        w,
        h,
        xyxy=np.stack([x1, y1, x2, y2], 1),
        class_id=rng.integers(0, len(CLASSES), n),
        scores=rng.uniform(0.05, 1, n),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--boxes", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server-pid", type=int, help="pid of a running local server (CPU use)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes when the benchmark starts its own (default: one per core)",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    labels = [fake_labels(rng, i, args.boxes) for i in range(args.tasks)]
    stamp = time.strftime("%H%M%S")
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp), args.server_pid, args.workers) as (url, token, pid),
    ):
        client = LabelStudioClient(url, token, timeout=300)
        version = client.request("GET", "/api/version").get("release")

        project = ensure_project(client, f"bench-push-{stamp}", CLASSES)
        items = [
            PushItem(
                lab.image,
                lab.width,
                lab.height,
                lab,
                float(rng.uniform()),
                image=f"https://images.example/{lab.image}",
            )
            for lab in labels
        ]
        sink = SQLiteSink(Path(tmp) / "push.db")
        start, cpu0, ccpu0 = time.perf_counter(), cpu_seconds(pid), time.process_time()
        report = push_tasks(
            client, project, items, sink, "bench-v1", batch_size=args.batch, progress=False
        )
        push_s = time.perf_counter() - start
        push_cpu, push_ccpu = cpu_seconds(pid) - cpu0, time.process_time() - ccpu0
        assert report.created == args.tasks

        project = ensure_project(client, f"bench-pull-{stamp}", CLASSES)
        setup_start = time.perf_counter()
        for start_i in range(0, args.tasks, args.batch):
            batch = labels[start_i : start_i + args.batch]
            client.import_tasks(
                project.id,
                [
                    {
                        "data": {
                            "image": f"https://images.example/{lab.image}",
                            "image_key": lab.image,
                            "width": lab.width,
                            "height": lab.height,
                        },
                        "annotations": [{"result": to_ls_results(lab, CLASSES), "lead_time": 5.0}],
                    }
                    for lab in batch
                ],
            )
        setup_s = time.perf_counter() - setup_start
        pull_sink = SQLiteSink(Path(tmp) / "pull.db")
        start, cpu0, ccpu0 = time.perf_counter(), cpu_seconds(pid), time.process_time()
        pulled = pull_annotations(client, project, pull_sink)
        pull_s = time.perf_counter() - start
        pull_cpu, pull_ccpu = cpu_seconds(pid) - cpu0, time.process_time() - ccpu0
        again_start = time.perf_counter()
        again = pull_annotations(client, project, pull_sink)
        again_s = time.perf_counter() - again_start
        client.close()
    n_boxes = int(sum(len(lab) for lab in labels))
    load = os.getloadavg()[0]
    print(
        json.dumps(
            {
                "label_studio": version,
                "machine": {
                    "cpus": os.cpu_count(),
                    "load_avg_1m": round(load, 2),
                    "python": platform.python_version(),
                },
                "server_workers": None if os.environ.get("LABEL_STUDIO_URL") else args.workers,
                "push": {
                    "tasks": report.created,
                    "boxes": n_boxes,
                    "batch_size": args.batch,
                    "seconds": round(push_s, 2),
                    "tasks_per_s": round(report.created / push_s, 1),
                    "server_cpu_s": round(push_cpu, 2),
                    "client_cpu_s": round(push_ccpu, 2),
                },
                "pull": {
                    "annotations": pulled.recorded,
                    "seconds": round(pull_s, 2),
                    "annotations_per_s": round(pulled.recorded / pull_s, 1),
                    "server_cpu_s": round(pull_cpu, 2),
                    "client_cpu_s": round(pull_ccpu, 2),
                    "setup_import_seconds": round(setup_s, 2),
                },
                "pull_again_nothing_new": {
                    "recorded": again.recorded,
                    "seconds": round(again_s, 2),
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
