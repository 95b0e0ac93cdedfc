"""CLI sub-commands (see :mod:`hitl_active.cli`): ``simulate``, ``strategies``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hitl_active.cli.errors import CLIError


def _seeds(text: str) -> tuple[int, ...]:
    """``3`` means seeds 0, 1, 2; ``0,5,9`` lists them."""
    try:
        if "," in text:
            return tuple(int(s) for s in text.split(",") if s.strip())
        return tuple(range(int(text)))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds takes a count (3) or a comma-separated list (0,5,9), got {text!r}"
        ) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    p = subparsers.add_parser(
        "simulate",
        help="benchmark sampling strategies with a simulated annotator",
        description=(
            "From a fully labelled dataset (YOLO images/+labels/+classes.txt, or VOC "
            "annotations/+images/): hold out a test split, start from a random seed set, and "
            "per round select, correct pre-labels (cost model), fine-tune and evaluate. "
            "Writes results.csv, learning_curve.png and summary.json to --out; re-running "
            "the same command resumes."
        ),
    )
    p.add_argument("dataset", type=Path, help="labelled dataset folder")
    p.add_argument(
        "--strategies",
        default=None,
        help="comma-separated (default: random, the default strategy and hybrid); "
        "box-review: the loop with review: boxes",
    )
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seeds", type=_seeds, default=(0, 1, 2), help="count or list (default 3)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default DATASET-sim)")
    p.add_argument("--initial", type=int, default=20, help="random seed set size")
    p.add_argument(
        "--round-size", "--batch", dest="round_size", type=int, default=20,
        help="images selected per round",
    )  # fmt: skip
    p.add_argument("--test-size", type=int, default=100)
    p.add_argument("--model", default="yolo11n.yaml", help="model YAML or .pt to start from")
    p.add_argument("--imgsz", type=int, default=160)
    p.add_argument("--initial-epochs", type=int, default=30)
    p.add_argument("--epochs", type=int, default=8, help="fine-tune epochs per round")
    p.add_argument("--train-batch", type=int, default=16)
    p.add_argument(
        "--train-extra",
        type=_json_object,
        default={},
        metavar="JSON",
        help='more Ultralytics training arguments, e.g. \'{"optimizer": "SGD", "lr0": 0.01}\'',
    )
    p.add_argument(
        "--retrain",
        action="store_true",
        help="train every round afresh from --model instead of fine-tuning the last round's",
    )
    p.add_argument(
        "--reference-epochs", type=int, default=None, help="also train on all data (95%% target)"
    )
    p.add_argument(
        "--budget-seconds",
        type=float,
        default=None,
        metavar="S",
        help="each round's batch is S estimated annotator seconds instead of --batch images",
    )
    p.add_argument(
        "--draw-s",
        type=float,
        default=None,
        metavar="S",
        help="seconds to draw a missed box (default 25.5; 7 for extreme clicking, 35 slow)",
    )
    p.add_argument(
        "--synthetic",
        type=int,
        default=None,
        metavar="N",
        help="first generate a synthetic dataset of N images at DATASET if missing",
    )
    p.add_argument(
        "--synthetic-side", type=int, nargs=2, default=(160, 256), metavar=("MIN", "MAX")
    )
    p.add_argument(
        "--synthetic-bursts",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="share of synthetic scenes filmed as bursts of 4-24 near-duplicate frames",
    )
    p.set_defaults(func=_simulate)

    s = subparsers.add_parser("strategies", help="list the sampling strategy names")
    s.add_argument("--json", action="store_true", help="the names and the default as JSON")
    s.set_defaults(func=_strategies)


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc}): {text!r}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object like '{\"lr0\": 0.01}'")
    return value


def _strategies(args: argparse.Namespace) -> int:
    from hitl_active.sampling import DEFAULT_STRATEGY, available_strategies

    if args.json:
        print(json.dumps({"strategies": available_strategies(), "default": DEFAULT_STRATEGY}))
        return 0
    for name in available_strategies():
        print(name + ("  (default)" if name == DEFAULT_STRATEGY else ""))
    print("any score strategy or hybrid may end in +class-balance")
    print("any score strategy may then end in +per-second (information per annotator-second)")
    print("or in +knapsack[-SHARE] (most information within SHARE x an average batch's seconds)")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from hitl_active.bench.simulate import SimulationConfig, run_simulation
    from hitl_active.bench.summary import format_summary
    from hitl_active.sampling.cost import CostModel

    if args.synthetic is not None and not (args.dataset / "images").is_dir():
        from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset

        lo, hi = args.synthetic_side
        spec = SyntheticSpec(
            n_images=args.synthetic, min_side=lo, max_side=hi, burst_fraction=args.synthetic_bursts
        )
        make_synthetic_dataset(args.dataset, spec, progress=not args.quiet)
    if not args.dataset.is_dir():
        raise CLIError(f"dataset folder {args.dataset} does not exist")
    strategies = {}
    if args.strategies:
        strategies["strategies"] = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    try:
        config = SimulationConfig(
            **strategies,
            seeds=args.seeds,
            rounds=args.rounds,
            initial=args.initial,
            round_size=args.round_size,
            test_size=args.test_size,
            model=args.model,
            imgsz=args.imgsz,
            initial_epochs=args.initial_epochs,
            warm_start=not args.retrain,
            train_extra=args.train_extra,
            epochs=args.epochs,
            train_batch=args.train_batch,
            reference_epochs=args.reference_epochs,
            budget_seconds=args.budget_seconds,
            **({} if args.draw_s is None else {"cost_model": CostModel(draw_s=args.draw_s)}),
            progress=not args.quiet,
        )
        out = args.out or args.dataset.with_name(args.dataset.name + "-sim")
        summary = run_simulation(args.dataset, config, out, title=args.dataset.name)
    except (ValueError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from exc
    print(format_summary(summary))
    print(json.dumps({"csv": summary["csv"], "png": summary["png"]}))
    return 0
