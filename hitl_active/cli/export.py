"""``hitl-active export``: export a model to ONNX (``--format onnx``, the default).

Exporters are looked up by format in :data:`EXPORTERS`; dataset formats (yolo, coco, voc)
are added there by the dataset-delivery code, each with the flags it needs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from hitl_active.cli.errors import CLIError

# format name -> function(args) -> exit code
EXPORTERS: dict[str, Callable[[argparse.Namespace], int]] = {}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    p = subparsers.add_parser(
        "export",
        help="export a model to ONNX, or a workspace's labelled dataset (yolo, coco, voc)",
        description="--format onnx: export Ultralytics weights to ONNX with class names, "
        "input size and an `embedding` output in the model. --format yolo|coco|voc: deliver "
        "a workspace's dataset with per-box provenance and a dataset card.",
    )
    p.add_argument(
        "--format",
        default="onnx",
        help="onnx (model), or yolo|coco|voc (dataset); default: %(default)s",
    )
    p.add_argument("--weights", type=Path, help="Ultralytics .pt weights (for --format onnx)")
    p.add_argument("--out", type=Path, required=True, help="output file or folder")
    p.add_argument("--imgsz", type=int, default=None, help="export size (default: training size)")
    p.add_argument("--no-embedding", action="store_true", help="do not add the embedding output")
    p.add_argument("--static", action="store_true", help="fixed input shape (no rect batches)")
    p.add_argument("--model-version", default=None, help="version stamped into the metadata")
    p.set_defaults(func=_export)


def _export_onnx(args: argparse.Namespace) -> int:
    from hitl_active.models import export_onnx, read_model_metadata

    if args.weights is None:
        raise CLIError("--format onnx needs --weights PATH.pt (e.g. runs/train/weights/best.pt)")
    try:
        out = export_onnx(
            args.weights,
            args.out,
            imgsz=args.imgsz,
            dynamic=not args.static,
            embedding=not args.no_embedding,
            model_version=args.model_version,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from exc
    meta = read_model_metadata(out)
    print(
        f"exported {out}: classes {meta.class_names}, imgsz {list(meta.imgsz)}, "
        f"embedding {meta.has_embedding}"
    )
    return 0


EXPORTERS["onnx"] = _export_onnx


def _export(args: argparse.Namespace) -> int:
    exporter = EXPORTERS.get(args.format)
    if exporter is None:
        raise CLIError(
            f"--format {args.format!r} is not available yet; available: {sorted(EXPORTERS)}"
        )
    return exporter(args)
