"""``hitl-active prelabel``: run an ONNX model over images into a resumable JSONL file."""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

from hitl_active.cli.errors import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    p = subparsers.add_parser(
        "prelabel",
        help="pre-label images with an ONNX model (resumable JSONL output)",
        description="Every candidate box above --conf-floor is stored with its per-class "
        "probabilities and the image embedding; --display-threshold only sets which boxes "
        "count as pre-labels in the summary (readers apply it with Detections.above). "
        "Re-running the same command skips images already in --out.",
    )
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGES", help="image folders or files")
    p.add_argument("--model", type=Path, required=True, help="ONNX model from `hitl-active export`")
    p.add_argument("--out", type=Path, required=True, help="predictions .jsonl (appended to)")
    p.add_argument("--conf-floor", type=float, default=0.01, help="default: %(default)s")
    p.add_argument("--display-threshold", type=float, default=0.25, help="default: %(default)s")
    p.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold")
    p.add_argument(
        "--infer-batch", "--batch-size", dest="infer_batch", type=int, default=8,
        help="images per inference call (default: %(default)s)",
    )  # fmt: skip
    p.add_argument("--imgsz", type=int, default=None, help="default: the model's export size")
    p.add_argument("--workers", type=int, default=2, help="decoding threads")
    p.add_argument("--providers", nargs="+", default=None, help="ONNX Runtime providers")
    p.add_argument("--model-version", default=None, help="default: from the model metadata")
    p.add_argument("--retry-errors", action="store_true", help="retry images that failed before")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_prelabel)


def _paths(roots: list[Path], skipped: list) -> Iterator[Path]:
    """Images under ``roots``; entries that cannot be listed are logged and added to ``skipped``."""
    from hitl_active.data.images import discover_images

    return itertools.chain.from_iterable(discover_images(r, skipped=skipped) for r in roots)


def _prelabel(args: argparse.Namespace) -> int:
    from hitl_active.serving import Engine, EngineConfig
    from hitl_active.serving.jsonl import write_predictions

    missing = [str(p) for p in args.images if not p.exists()]
    if missing:
        raise CLIError(f"image folder or file not found: {', '.join(missing)}")
    try:
        config = EngineConfig(
            conf_floor=args.conf_floor,
            iou=args.iou,
            batch_size=args.infer_batch,
            providers=args.providers,
            decode_workers=args.workers,
            imgsz=args.imgsz,
        )
        engine = Engine(args.model, config, model_version=args.model_version)
    except (ValueError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from exc
    skipped: list = []
    summary = write_predictions(
        engine,
        _paths(args.images, skipped),
        args.out,
        display_threshold=args.display_threshold,
        progress=not (args.no_progress or args.quiet),
        retry_errors=args.retry_errors,
    )
    print(
        json.dumps(
            {
                "out": str(args.out),
                "written": summary.written,
                "skipped_already_done": summary.skipped,
                "errors": summary.errors,
                "skipped_pool_entries": len(skipped),
                "boxes": summary.boxes,
                "prelabels_at_display_threshold": summary.shown,
                "model_version": engine.model_version,
                "provider": engine.provider,
                "providers": engine.providers,
            }
        )
    )
    return 0
