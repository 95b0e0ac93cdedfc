"""CLI: ``synthetic``: a generated dataset to try the whole walk without client images."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from hitl_active.cli.errors import CLIError

__all__ = ["register"]


def _cli_error(message: str) -> Exception:
    return CLIError(message)


def _classes(text: str) -> tuple[str, ...]:
    from hitl_active.data.synthetic import SHAPES

    names = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in names if c not in SHAPES]
    if unknown or len(names) < 1:
        raise argparse.ArgumentTypeError(
            f"unknown classes {unknown or [text]}; choose from {','.join(SHAPES)}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"class names repeat in {text!r}; give each once")
    return names


def _prepare(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty folder unless ``--overwrite`` and it holds an earlier synthetic set."""
    if out.exists() and not out.is_dir():
        raise _cli_error(f"{out} is a file; pass a folder to create")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise _cli_error(f"{out} is not empty; pass an empty folder, or --overwrite to replace it")
    if not (out / "manifest.json").is_file():
        raise _cli_error(
            f"{out} holds files that are not a synthetic dataset (no manifest.json); "
            "--overwrite only replaces an earlier synthetic dataset, pass another folder"
        )
    for sub in ("images", "labels"):
        shutil.rmtree(out / sub, ignore_errors=True)


def _synthetic(args: argparse.Namespace) -> int:
    from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset

    out = Path(args.out)
    weights = {"circle": 0.42, "square": 0.3, "triangle": 0.22, "cross": 0.06}
    try:
        spec = SyntheticSpec(
            n_images=args.images,
            classes=args.classes,
            class_weights=tuple(weights.get(c, 0.25) for c in args.classes),
            burst_fraction=args.burst_fraction,
            duplicate_fraction=args.retake_fraction,
            seed=args.seed,
        )
    except ValueError as exc:
        raise _cli_error(str(exc)) from None
    _prepare(out, args.overwrite)
    data = make_synthetic_dataset(out, spec, progress=not args.quiet)
    gold = max(1, min(20, args.images // 10))
    print(
        f"wrote {args.images} images ({len(data.duplicates)} near-duplicate frames), "
        f"YOLO labels and classes.txt to {out}\n"
        "next, create a workspace on it (the labels of the gold images score each model):\n"
        f"  hitl-active init ws --images {out / 'images'} --classes {','.join(data.class_names)}"
        f" --gold-size {gold} --gold-labels {out / 'labels'}\n"
        "  hitl-active round -w ws"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synthetic`` sub-command."""
    p = subparsers.add_parser(
        "synthetic",
        help="generate a synthetic dataset (images, YOLO labels, classes.txt) to try the loop",
    )
    p.add_argument("out", help="folder to write (created; must be empty)")
    p.add_argument("--images", type=int, default=200, help="number of images (default 200)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same dataset")
    p.add_argument(
        "--classes",
        type=_classes,
        default=("circle", "square", "triangle", "cross"),
        help="shapes to draw, comma-separated (default circle,square,triangle,cross; "
        "cross is rare)",
    )
    p.add_argument(
        "--burst-fraction",
        type=float,
        default=0.3,
        help="share of scenes filmed as bursts of near-duplicate frames (default 0.3)",
    )
    p.add_argument(
        "--retake-fraction",
        type=float,
        default=0.15,
        help="chance that a frame re-takes the previous scene, a near-duplicate of it "
        "(default 0.15); with --burst-fraction 0, 0 makes every frame its own scene",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier synthetic set")
    p.set_defaults(func=_synthetic)
