"""The simulated-annotator benchmark behind the learning-curve figures in docs/.

    .venv/bin/python scripts/bench_simulate.py --out /tmp/sim-synth --docs docs   # synthetic
    .venv/bin/python scripts/bench_simulate.py --dataset ../shared/datasets/raccoon-voc \
        --out /tmp/sim-raccoon --rounds 4 --test-size 50

With ``--docs DIR`` the summary is also written to DIR/bench_simulate_synthetic.json (or
_<dataset>) and the figure, annotator-hours first, to DIR/learning_curve_hours_synthetic.png.
The summary gives, per strategy and at every one of random's budgets, the hours and labels
needed to reach random's mAP50-95, the rare class's AP50-95 at random's hours, and the
hours ratios with the selections re-priced at draw_s 7, 25.5 and 35 s (``--draw-s`` runs
the whole benchmark, selection included, at another drawing time).

``--strategies`` takes the loop's strategy names and ``box-review``: the loop with
``review: boxes`` (sure pre-labels checked, uncertain regions fixed, chosen with their images
in one knapsack: hitl_active/sampling/review.py), whose labels count as the boxes a person
touched (``boxes_touched`` in the summary).

The defaults are the protocol of docs/learning_curve_hours_synthetic.png: 10 random seed
labels, then 10 rounds of 10; every round's model is trained afresh from the base (25
epochs, SGD), so it reflects its labelled set and not how many rounds came before; the test
split is held-out scenes, one frame each; 5 seeds of ``random``, ``entropy-sum`` and the
default ``entropy-sum+knapsack``. About 8 minutes per strategy and seed on 2 CPU cores;
every finished round is kept, so a stopped run resumes.

No pretrained weights can be downloaded, and YOLO trained from random weights on 20
images learns nothing in a few epochs, so every strategy starts from the same *generic*
base model: YOLO11n trained once on a separate synthetic dataset of two shapes that the
benchmark never asks for (diamond, ring) - the stand-in for COCO pre-training. Its class
head is re-initialised for the benchmark's classes. Prints the summary as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import shutil
import sys
from pathlib import Path

from hitl_active.bench.simulate import SimulationConfig, run_simulation
from hitl_active.data.labelled import load_labelled_dataset
from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
from hitl_active.models import TrainConfig, prepare_yolo_dataset, train_detector
from hitl_active.models.start import weights_sha256
from hitl_active.sampling.cost import CostModel


def base_model(work: Path, imgsz: int, epochs: int) -> Path:
    """Generic pre-training on shapes the benchmark does not use (cached)."""
    weights = work / "base.pt"
    if weights.exists():
        return weights
    spec = SyntheticSpec(
        n_images=320, classes=("diamond", "ring"), class_weights=(0.5, 0.5),
        min_side=160, max_side=256, seed=101, duplicate_fraction=0.0,
    )  # fmt: skip
    ds = make_synthetic_dataset(work / "base-data", spec, progress=False)
    items, names = load_labelled_dataset(ds.root)
    data_yaml = prepare_yolo_dataset(items[:300], items[300:], names, work / "base-yolo")
    extra = {"optimizer": "SGD", "lr0": 0.01, "warmup_epochs": 1}
    config = TrainConfig(epochs=epochs, imgsz=imgsz, batch=16, extra=extra)
    result = train_detector(data_yaml, work / "base-run", config)
    shutil.copy2(result.weights, weights)
    return weights


def _protocol_value(flag: str, value: str, dataset: str) -> str:
    if flag == "--dataset":
        return value if value == "synthetic" else f"BENCH/{Path(dataset).name}"
    return Path(value).name


def protocol_command(argv: list[str], dataset: str) -> str:
    """The command line that defines the run, for the summary: where it writes (``--out``,
    ``--docs``, ``--png``) left out, a dataset folder named ``BENCH/<name>`` (see
    docs/base_model.md) and a base by its file name."""
    out, skip = ["scripts/bench_simulate.py"], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        flag = arg.split("=", 1)[0]
        if flag in ("--out", "--docs", "--png"):
            skip = "=" not in arg
            continue
        prev = argv[i - 1] if i else ""
        if flag in ("--dataset", "--base") and "=" in arg:  # --dataset=DIR: the same rule
            value = arg.split("=", 1)[1]
            out.append(f"{flag}={_protocol_value(flag, value, dataset)}")
            continue
        if prev in ("--dataset", "--base"):
            arg = _protocol_value(prev, arg, dataset)
        out.append(arg)
    return shlex.join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="synthetic", help="'synthetic' or a dataset folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--base", type=Path, default=None, help="base .pt (default: pre-train one)")
    p.add_argument("--strategies", default="random,entropy-sum,entropy-sum+knapsack")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--initial", type=int, default=10)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--test-size", type=int, default=120, help="held-out scenes")
    p.add_argument("--n-images", type=int, default=1400)
    p.add_argument("--bursts", type=float, default=0.3, help="share of scenes filmed as bursts")
    p.add_argument("--burst-frames", type=int, nargs=2, default=(4, 30), metavar=("MIN", "MAX"))
    p.add_argument("--imgsz", type=int, default=160)
    p.add_argument("--initial-epochs", type=int, default=25)
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--reference-epochs", type=int, default=20, help="0: no full-data run")
    p.add_argument("--base-epochs", type=int, default=50)
    p.add_argument(
        "--warm-start",
        action="store_true",
        help="fine-tune each round from the last (as the loop does) instead of training afresh",
    )
    p.add_argument(
        "--train-extra",
        type=json.loads,
        default={"optimizer": "SGD", "lr0": 0.01},
        help="Ultralytics training arguments as JSON (default SGD, lr0 0.01: Ultralytics' "
        "'auto' AdamW gave mAP50-95 from 0.17 to 0.36 on the same 50 images depending on the "
        "seed, SGD 0.37-0.42)",
    )
    p.add_argument("--png", type=Path, default=None, help="also copy the PNG here")
    p.add_argument("--docs", type=Path, default=None, help="write the JSON and PNG here too")
    p.add_argument("--draw-s", type=float, default=None, help="seconds to draw a box (25.5)")
    p.add_argument(
        "--budget-seconds", type=float, default=None, help="batches of S annotator seconds"
    )
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    dataset = Path(args.dataset)
    if args.dataset == "synthetic":
        dataset = args.out / "dataset"
        if not (dataset / "images").is_dir():
            spec = SyntheticSpec(
                n_images=args.n_images, min_side=160, max_side=256, seed=5,
                burst_fraction=args.bursts, burst_frames=tuple(args.burst_frames),
            )  # fmt: skip
            make_synthetic_dataset(dataset, spec, progress=False)
    base = args.base or base_model(args.out, args.imgsz, args.base_epochs)
    config = SimulationConfig(
        strategies=tuple(args.strategies.split(",")),
        seeds=tuple(range(args.seeds)),
        rounds=args.rounds,
        initial=args.initial,
        round_size=args.batch,
        test_size=args.test_size,
        model=str(base),
        imgsz=args.imgsz,
        initial_epochs=args.initial_epochs,
        epochs=args.epochs,
        warm_start=args.warm_start,
        train_extra=args.train_extra,
        reference_epochs=args.reference_epochs or None,
        budget_seconds=args.budget_seconds,
        **({} if args.draw_s is None else {"cost_model": CostModel(draw_s=args.draw_s)}),
    )
    title = (
        f"synthetic: {args.n_images} frames, {args.bursts:.0%} of scenes filmed as bursts, "
        "rare class 'cross'"
        if args.dataset == "synthetic"
        else dataset.name
    )
    about: dict = {"command": protocol_command(sys.argv[1:], args.dataset)}
    if args.base:  # which start the figures belong to
        shipped = args.base.with_suffix(".json")
        epochs = json.loads(shipped.read_text()).get("epochs") if shipped.is_file() else None
        about["base"] = {
            "path": str(args.base),
            "sha256": weights_sha256(args.base),
            **({"epochs": epochs} if epochs is not None else {}),
        }
    summary = run_simulation(dataset, config, args.out / "sim", title=title, about=about)
    if args.png:
        args.png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(summary["png"], args.png)
    if args.docs:
        name = "synthetic" if args.dataset == "synthetic" else dataset.name
        args.docs.mkdir(parents=True, exist_ok=True)
        shutil.copy2(summary["png"], args.docs / f"learning_curve_hours_{name}.png")
        # the committed copy names its files relative to --out, not this machine's folders
        relative = {
            k: str(Path(summary[k]).resolve().relative_to(args.out.resolve()))
            for k in ("csv", "png")
        }
        (args.docs / f"bench_simulate_{name}.json").write_text(
            json.dumps({**summary, **relative}, indent=2)
        )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
