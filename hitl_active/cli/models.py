"""``hitl-active train``: train or fine-tune a YOLO detector on a YOLO-format dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hitl_active.cli.errors import CLIError
from hitl_active.models.train import TrainConfig

_TRAIN = TrainConfig()  # the CLI's defaults are the library's


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    p = subparsers.add_parser(
        "train",
        help="train a YOLO detector (Ultralytics) on a YOLO data.yaml",
        description="Train from a model YAML (random init) or fine-tune a local .pt file. "
        "Nothing is downloaded.",
    )
    p.add_argument("data_yaml", type=Path, metavar="DATA_YAML", help="Ultralytics data.yaml")
    p.add_argument("--out", type=Path, required=True, help="output folder (runs live here)")
    p.add_argument(
        "--model",
        default=_TRAIN.model,
        help="model YAML or local weights .pt (default: %(default)s)",
    )
    p.add_argument("--epochs", type=int, default=_TRAIN.epochs)
    p.add_argument("--imgsz", type=int, default=_TRAIN.imgsz)
    p.add_argument(
        "--train-batch", "--batch", dest="train_batch", type=int, default=_TRAIN.batch,
        help="images per training step (default: %(default)s)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=_TRAIN.seed)
    p.add_argument(
        "--device", default=_TRAIN.device, help="cpu, 0, 0,1 ... (default: every GPU, else cpu)"
    )
    p.add_argument("--patience", type=int, default=_TRAIN.patience)
    p.add_argument(
        "--timeout-s", type=float, default=None, help="stop training after this many seconds"
    )
    p.add_argument("--lr0", type=float, default=None)
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from hitl_active.models import TrainConfig, train_detector

    try:
        config = TrainConfig(
            model=args.model,
            epochs=args.epochs,
            imgsz=args.imgsz,
            batch=args.train_batch,
            seed=args.seed,
            device=args.device,
            patience=args.patience,
            lr0=args.lr0,
            timeout_s=args.timeout_s,
        )
        result = train_detector(args.data_yaml, args.out, config)
    except (ValueError, FileNotFoundError, TimeoutError) as exc:
        raise CLIError(str(exc)) from exc
    print(
        json.dumps(
            {
                "weights": str(result.weights),
                "epochs_run": result.epochs_run,
                "seconds": round(result.seconds, 1),
                "metrics": {k: round(v, 4) for k, v in result.metrics.items()},
            },
            indent=2,
        )
    )
    return 0
