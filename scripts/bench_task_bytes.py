"""What an annotator downloads per task, with and without light task images; prints JSON.

    .venv/bin/python scripts/bench_task_bytes.py --docs docs
    .venv/bin/python scripts/bench_task_bytes.py --dataset raccoon=../shared/datasets/raccoon-voc \
        --max-side 1280 --quality 80 --browser-sample 8

For each dataset (by default the demo's generated images and the raccoon photos) and the
product's light-image settings (:mod:`hitl_active.labelstudio.light`, through
:func:`~hitl_active.labelstudio.light.light_copy_or_original`, the code a push runs):

* ``bytes_ratio``: bytes per task before (the client's file) / after (what the task
  shows). The target is >= 5 on the demo's and raccoon's images;
* label accuracy: a simulated annotator draws each true box on the image it is shown,
  each edge on the nearest displayed pixel (a person clicks pixels), and the box is read
  back into the original's pixels by the product's reader
  (:func:`~hitl_active.formats.labelstudio.from_ls_results` with the task's original size).
  Mean IoU with the truth and the share of boxes at IoU >= 0.9, before and after;
* time until the image is shown in headless Chromium on a throttled link (network
  emulation: ``--kbps`` down and up, ``--latency-ms``), median over ``--browser-sample``
  images per dataset, before and after (skipped with ``--browser-sample 0`` or when no
  Chromium is found).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import logging
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
from benchjson import emit

from hitl_active.bench.demo import DemoConfig, demo_dataset
from hitl_active.boxes import box_iou
from hitl_active.data.images import image_size
from hitl_active.data.labelled import load_labelled_dataset
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.labelstudio import from_ls_results, to_ls_results
from hitl_active.labelstudio.light import TaskImageSpec, light_copy_or_original

logger = logging.getLogger("bench_task_bytes")

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETS = {"demo": None, "raccoon": ROOT.parent / "shared" / "datasets" / "raccoon-voc"}


def _parse_set(text: str) -> tuple[str, Path]:
    name, _, path = text.partition("=")
    if not path:
        raise argparse.ArgumentTypeError("write NAME=FOLDER (a VOC or YOLO dataset)")
    return name, Path(path)


def _parse_setting(text: str) -> TaskImageSpec:
    side, _, quality = text.partition(":")
    try:
        return TaskImageSpec(max_side=int(side), quality=int(quality or 80))
    except ValueError as exc:
        msg = f"{text!r}: write MAX_SIDE:QUALITY, e.g. 1280:80 ({exc})"
        raise argparse.ArgumentTypeError(msg) from None


def drawn(labels: ImageLabels, shown: tuple[int, int]) -> ImageLabels:
    """The true boxes as a person draws them on an image shown at ``shown`` pixels, read
    back by the product into the original's pixels."""
    sx, sy = shown[0] / labels.width, shown[1] / labels.height
    on_screen = np.round(labels.xyxy * [sx, sy, sx, sy]) / [sx, sy, sx, sy]  # pixel clicks
    seen = ImageLabels(labels.image, labels.width, labels.height,
                       on_screen.astype(np.float32), labels.class_id)  # fmt: skip
    names = [str(i) for i in range(int(labels.class_id.max(initial=0)) + 1)]
    results = to_ls_results(seen, names)
    for region in results:  # Label Studio keeps the size of the image it showed
        region["original_width"], region["original_height"] = shown
    size = (labels.width, labels.height)
    return from_ls_results(results, names, labels.image, size=size)


def accuracy(pairs: list[tuple[ImageLabels, tuple[int, int]]]) -> dict[str, float]:
    ious = []
    for truth, shown in pairs:
        if len(truth) == 0:
            continue
        back = drawn(truth, shown)
        ious.extend(np.diag(box_iou(truth.xyxy, back.xyxy)).tolist())
    arr = np.asarray(ious)
    return {"boxes": len(arr), "mean_iou": round(float(arr.mean()), 5),
            "share_iou_0.9": round(float((arr >= 0.9).mean()), 5)}  # fmt: skip


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


PAGE = """<!doctype html><html><body style="margin:0">
<img id="t" src="{src}" style="max-width:100vw" onload="window.shown=performance.now()">
</body></html>"""


def time_to_show(files: list[Path], kbps: float, latency_ms: float) -> list[float]:
    """Seconds from navigation until each image is shown, on an emulated slow link."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        folder = Path(tmp)
        for i, f in enumerate(files):
            shutil.copy(f, folder / f"{i}{f.suffix}")
            (folder / f"{i}.html").write_text(PAGE.format(src=f"{i}{f.suffix}"))
        server, base = _serve(folder)
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])  # fmt: skip
        out = []
        try:
            for i in range(len(files)):
                page = browser.new_page(viewport={"width": 412, "height": 915})  # a phone
                cdp = page.context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                rate = kbps * 1000 / 8  # bytes per second
                cdp.send("Network.emulateNetworkConditions", {
                    "offline": False, "latency": latency_ms,
                    "downloadThroughput": rate, "uploadThroughput": rate,
                })  # fmt: skip
                page.goto(f"{base}/{i}.html", wait_until="load", timeout=300_000)
                out.append(float(page.evaluate("window.shown")) / 1000.0)
                page.close()
        finally:
            browser.close()
            server.shutdown()
        return out


def bench_set(name: str, folder: Path, spec: TaskImageSpec, args: argparse.Namespace) -> dict:
    items, _ = load_labelled_dataset(folder, check=False)
    root = folder.resolve()
    before, after, shown_files, originals = [], [], [], []
    pairs_before, pairs_after = [], []
    for path, labels in items:
        shown = Path(light_copy_or_original(path, root, spec))
        before.append(path.stat().st_size)
        after.append(shown.stat().st_size)
        originals.append(path)
        shown_files.append(shown)
        size = (labels.width, labels.height)
        pairs_before.append((labels, size))
        pairs_after.append((labels, image_size(shown)))
    result = {
        "images": len(items),
        "bytes_per_task_before": round(statistics.mean(before)),
        "bytes_per_task_after": round(statistics.mean(after)),
        "bytes_ratio": round(sum(before) / sum(after), 3),
        "median_long_side_before": statistics.median(max(s) for _, s in pairs_before),
        "median_long_side_after": statistics.median(max(s) for _, s in pairs_after),
        "copied": sum(s != o for s, o in zip(shown_files, originals, strict=True)),
        "label_accuracy_before": accuracy(pairs_before),
        "label_accuracy_after": accuracy(pairs_after),
    }
    n = min(args.browser_sample, len(items))
    if n and CHROMIUM.is_file():
        idx = np.random.default_rng(0).choice(len(items), n, replace=False)
        t0 = time_to_show([originals[i] for i in idx], args.kbps, args.latency_ms)
        t1 = time_to_show([shown_files[i] for i in idx], args.kbps, args.latency_ms)
        result["seconds_to_show_before"] = round(statistics.median(t0), 3)
        result["seconds_to_show_after"] = round(statistics.median(t1), 3)
        result["browser_sample"] = n
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", type=_parse_set, action="append", default=None,
                   metavar="NAME=FOLDER",
                   help="(default: the demo's images and raccoon)")  # fmt: skip
    p.add_argument("--setting", type=_parse_setting, action="append", default=None,
                   metavar="MAX_SIDE:QUALITY",
                   help="light-image settings to measure (default: the product's, 1280:80, "
                   "and a phone's on a metered link, 480:60); the first is reported as "
                   "bytes_ratio")  # fmt: skip
    p.add_argument("--browser-sample", type=int, default=8, help="images timed per dataset")
    p.add_argument("--kbps", type=float, default=400.0, help="emulated link, kbit/s")
    p.add_argument("--latency-ms", type=float, default=400.0)
    p.add_argument("--work", type=Path, default=None, help="where the demo images are made")
    p.add_argument("--docs", type=Path, default=None, help="also write bench_task_bytes.json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = args.setting or [TaskImageSpec(1280, 80), TaskImageSpec(480, 60)]
    by_setting: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sets = dict(args.dataset) if args.dataset else dict(DEFAULT_SETS)
        if "demo" in sets and sets["demo"] is None:
            work = args.work or Path(tmp)
            sets["demo"] = demo_dataset(DemoConfig(workspace=work / "demo", progress=False))
        for spec in settings:
            results = by_setting.setdefault(f"{spec.max_side}:{spec.quality}", {})
            for name, folder in sets.items():
                # copies go to a scratch local-files root, never into the dataset's folder
                staged = Path(tmp) / "copies" / spec.tag / name
                shutil.copytree(folder, staged)
                results[name] = bench_set(name, staged, spec, args)
                logger.info("%s %s: %s", spec.tag, name, results[name])
    first = next(iter(by_setting.values()))
    out = {
        "bytes_ratio": {k: v["bytes_ratio"] for k, v in first.items()},
        "setting": next(iter(by_setting)),
        "target": "bytes_ratio >= 5 on the demo's and raccoon's images, no loss of accuracy",
        "link": {"kbps": args.kbps, "latency_ms": args.latency_ms, "viewport": "412x915"},
        "by_setting": by_setting,
        "command": " ".join(["scripts/bench_task_bytes.py", *(argv or sys.argv[1:])]),
    }
    emit(out, args.docs, "bench_task_bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
