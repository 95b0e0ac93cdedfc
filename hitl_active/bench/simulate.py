"""Simulated active-learning benchmark: strategies compared on a fully labelled dataset.

For each strategy and seed: hold out a test split (whole scenes, one frame each: see
:mod:`hitl_active.data.splits`), label a random seed set, then per round
score the whole unlabelled pool with the current model through the ONNX engine, select a
batch through the loop's own selection (:func:`hitl_active.loop.selection.choose_batch`,
with the benchmark's settings as a :class:`~hitl_active.workspace.config.LoopConfig`: no second
implementation), let :class:`~hitl_active.bench.annotator.SimulatedAnnotator` correct the pre-labels
(charged by the cost model), fine-tune from the previous round's weights (or train afresh
from the start model: ``warm_start=False``) and evaluate
mAP on the test split. One CSV row per (strategy, seed, round); finished rows are skipped
when the same command is run again, so an interrupted benchmark resumes.

CSV columns: ``labelled_images``, cumulative ``annotator_seconds``/``annotator_hours`` and
correction counts (verified, fixed, relabelled, deleted, drawn; the seed set is drawn from
scratch), ``map50_95``/``map50`` and per-class ``ap50_95:<class>``/``ap50:<class>`` on the
test split; for the selection that led to the round: ``inference_s`` (one engine pass over
the unlabelled pool), ``extra_inference_s`` (the flip pass, when the strategy needs one),
``select_s`` (scoring + selection + dedup), ``duplicates_dropped``, and ``train_s`` (wall
time of the whole round: passes, selection, annotation and fine-tuning).

Round 0 (the seed set) is the same for every strategy of a seed, so it is trained once
per seed and shared. Flip-stability needs a second inference pass over the pool, on
mirrored copies in memory (the loop's :func:`~hitl_active.loop.steps.predict_flipped`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hitl_active.bench.annotator import SimulatedAnnotator
from hitl_active.bench.curves import plot_curves, read_curves
from hitl_active.bench.results import (
    ResultWriter,
    checked_by_round,
    finished_rows,
    labels_from_json,
    labels_to_json,
    state_row,
)
from hitl_active.bench.runner import SimRunner
from hitl_active.bench.selection import BOX_REVIEW, bench_select, loop_config
from hitl_active.bench.summary import summarise
from hitl_active.boxes import box_iou
from hitl_active.data.labelled import load_labelled_dataset
from hitl_active.data.splits import scene_groups
from hitl_active.sampling.cost import CorrectionCost, CostModel
from hitl_active.sampling.registry import DEFAULT_STRATEGY, get_strategy
from hitl_active.sampling.review import ReviewPlan, trust_unchecked

__all__ = ["SimulationConfig", "load_labelled_dataset", "run_simulation"]

logger = logging.getLogger(__name__)


@dataclass
class SimulationConfig:
    """A benchmark run. Epoch counts are per round; round 0 trains ``initial_epochs``.

    ``warm_start=True`` fine-tunes each round from the previous round's weights, as the
    loop does. ``False`` trains every round afresh from ``model`` for ``epochs``, so a
    round's model depends on its labelled set alone and not on how many rounds came before:
    the fairer comparison of strategies, at a higher training cost.
    """

    strategies: tuple[str, ...] = ("random", DEFAULT_STRATEGY, "hybrid")
    seeds: tuple[int, ...] = (0, 1, 2)
    rounds: int = 5
    initial: int = 20
    round_size: int = 20  # images selected per round
    test_size: int = 100
    split_seed: int = 0
    model: str = "yolo11n.yaml"
    imgsz: int = 160
    initial_epochs: int = 30
    epochs: int = 8
    warm_start: bool = True
    train_batch: int = 16
    reference_epochs: int | None = None  # full-data model; None: skip it
    conf_floor: float = 0.01
    display_threshold: float = 0.25
    budget_seconds: float | None = None  # a batch of annotator seconds instead of images
    cost_model: CostModel = field(default_factory=CostModel)
    train_extra: dict = field(default_factory=dict)
    progress: bool = False

    def __post_init__(self) -> None:
        for name in self.strategies:
            if name != BOX_REVIEW:
                get_strategy(name)  # fail early on a typo, listing valid names
        if self.rounds < 0 or self.initial < 1 or self.round_size < 1 or self.test_size < 1:
            raise ValueError("rounds >= 0 and initial, round_size, test_size >= 1 are required")


def _scratch_cost(annotator: SimulatedAnnotator, keys: Sequence[str]) -> CorrectionCost:
    total = CorrectionCost()
    for key in keys:
        total = total + annotator.annotate(key, None)[1]
    return total


def _load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _select_round(
    runner: SimRunner, strategy_name: str, seed: int, r: int, state: dict, annotator
) -> tuple[list[int], CorrectionCost, dict, dict[str, dict]]:
    """One round's selection (:func:`bench_select`), annotated by the simulated annotator.

    Returns the picked train indices, their cost, the timings and, for a box review, the
    labels each reviewed image leaves to train on (keyed by train index, as JSON).
    """
    cfg = runner.cfg
    labelled = list(state["labelled"])
    taken = set(labelled)
    pool = [i for i in range(len(runner.train)) if i not in taken]
    pool_paths = [str(runner.train[i][0]) for i in pool]
    sel, preds, timing = bench_select(
        loop_config(cfg, strategy_name, seed, runner.names), r + 1,
        runner.onnx(Path(state["weights"])), pool_paths, runner.training_items(state),
        cfg.cost_model, cfg.conf_floor, runner.engines,
    )  # fmt: skip
    cost = CorrectionCost()
    reviewed: dict[str, dict] = {}
    for pos, j in enumerate(sel.indices.tolist()):
        if isinstance(sel, ReviewPlan) and not sel.full[pos]:
            labels, c, checked = annotator.review(pool_paths[j], sel.for_image(pos, preds[j]))
            reviewed[str(pool[j])] = {**labels_to_json(labels), "round": r + 1,
                                      "checked": list(checked)}  # fmt: skip
        else:
            c = annotator.annotate(pool_paths[j], preds[j])[1]
        cost = cost + c
    logger.info(
        "%s seed %d round %d: picked %d images, %.0f annotator s (pool pass %.2f s, select %.3f s)",
        strategy_name, seed, r + 1, len(sel), cost.seconds, timing["inference_s"], sel.seconds,
    )  # fmt: skip
    return [pool[j] for j in sel.indices.tolist()], cost, timing, reviewed


def _run_strategy(runner: SimRunner, name: str, seed: int, start: dict, writer, done) -> None:
    cfg = runner.cfg
    run_dir = runner.out / "runs" / f"{name.replace('+', '_')}-s{seed}"
    annotator = SimulatedAnnotator(runner.truth, cfg.cost_model, cfg.display_threshold)
    state = start
    for r in range(cfg.rounds + 1):
        round_dir = run_dir / f"round{r}"
        if r > 0:
            saved = _load_json(round_dir / "state.json")
            if saved is None:
                train_start = time.perf_counter()
                picked, cost, timing, reviewed = _select_round(
                    runner, name, seed, r - 1, state, annotator
                )
                labelled = list(state["labelled"]) + picked
                reviewed = {**state.get("reviewed", {}), **reviewed}
                start_from = state["weights"] if cfg.warm_start else cfg.model
                weights = runner.fit(
                    labelled, round_dir, start_from, cfg.epochs, seed, reviewed=reviewed
                )
                timing["train_s"] = round(time.perf_counter() - train_start, 1)
                total = CorrectionCost(**state["cost"]) + cost
                saved = {
                    "labelled": labelled,
                    "weights": str(weights),
                    "trained_from": str(start_from),
                    "cost": total.to_dict(),
                    "timing": timing,
                    **({"reviewed": reviewed} if reviewed else {}),
                }
                (round_dir / "state.json").write_text(json.dumps(saved))
            state = saved
        if (name, seed, r) in done:
            continue
        metrics = _load_json(round_dir / "eval.json") if r > 0 else start.get("eval")
        if metrics is None:
            metrics = runner.evaluate(runner.onnx(Path(state["weights"])))
            (round_dir / "eval.json").write_text(json.dumps(metrics))
        writer.write({"strategy": name, "seed": seed, "round": r, **state_row(state), **metrics})
        logger.info("%s seed %d round %d: mAP50-95 %.3f", name, seed, r, metrics["map50_95"])


def _seed_start(runner: SimRunner, seed: int) -> dict:
    """Round 0 of one seed (random seed set, trained from ``cfg.model``), shared by strategies."""
    cfg = runner.cfg
    seed_dir = runner.out / "runs" / f"seed{seed}-round0"
    state = _load_json(seed_dir / "state.json")
    if state is None:
        rng = np.random.default_rng(seed)
        labelled = sorted(rng.choice(len(runner.train), cfg.initial, replace=False).tolist())
        start = time.perf_counter()
        weights = runner.fit(labelled, seed_dir, cfg.model, cfg.initial_epochs, seed)
        annotator = SimulatedAnnotator(runner.truth, cfg.cost_model, cfg.display_threshold)
        cost = _scratch_cost(annotator, [str(runner.train[i][0]) for i in labelled])
        state = {
            "labelled": labelled,
            "weights": str(weights),
            "cost": cost.to_dict(),
            "timing": {"train_s": round(time.perf_counter() - start, 1)},
            "eval": runner.evaluate(runner.onnx(weights)),
        }
        (seed_dir / "state.json").write_text(json.dumps(state))
    return state


def _reference(runner: SimRunner, writer, done) -> None:
    cfg = runner.cfg
    if cfg.reference_epochs is None or ("full-data", cfg.split_seed, 0) in done:
        return
    ref_dir = runner.out / "runs" / "full-data"
    all_idx = list(range(len(runner.train)))
    start = time.perf_counter()
    weights = runner.fit(all_idx, ref_dir, cfg.model, cfg.reference_epochs, cfg.split_seed)
    annotator = SimulatedAnnotator(runner.truth, cfg.cost_model, cfg.display_threshold)
    cost = _scratch_cost(annotator, list(runner.truth))
    state = {"labelled": all_idx, "cost": cost.to_dict(), "timing": {}}
    row = {"strategy": "full-data", "seed": cfg.split_seed, "round": 0, **state_row(state)}
    row["train_s"] = round(time.perf_counter() - start, 1)
    writer.write({**row, **runner.evaluate(runner.onnx(weights))})


def unasked_quality(runner: SimRunner, seeds: Sequence[int]) -> dict:
    """What box review left unasked, against the truth, over the last round of each seed:
    the unchecked sure boxes (how many are right: a true box of the same class at IoU 0.5),
    the masked regions (how many lay on a true object), the check items people found right,
    and in how many rounds the unchecked boxes were trusted to train on
    (:func:`~hitl_active.sampling.review.trust_unchecked`; masked in the others)."""
    cm = runner.cfg.cost_model
    counts = {"unchecked": 0, "unchecked_right": 0, "ignored": 0, "ignored_on_objects": 0}
    checked: dict[tuple[int, int], tuple[int, int]] = {}
    for seed in seeds:
        rounds = sorted((runner.out / "runs" / f"{BOX_REVIEW}-s{seed}").glob("round*/state.json"))
        if not rounds:
            continue
        last = max(rounds, key=lambda p: int(p.parent.name.removeprefix("round")))
        reviewed = json.loads(last.read_text()).get("reviewed", {})
        for r, tally in checked_by_round(reviewed).items():
            checked[(seed, r)] = tally
        for key, data in reviewed.items():
            truth = runner.train[int(key)][1]
            labels = labels_from_json(data, truth)
            for box, cls, meta in zip(labels.xyxy, labels.class_id, labels.box_meta, strict=True):
                if meta.get("source") != "model":
                    continue
                iou = box_iou(box[None], truth.xyxy)[0] if len(truth) else np.zeros(0)
                if meta.get("ignore"):
                    counts["ignored"] += 1
                    counts["ignored_on_objects"] += int(bool((iou >= cm.match_iou).any()))
                else:
                    counts["unchecked"] += 1
                    right = (iou >= cm.match_iou) & (truth.class_id == cls)
                    counts["unchecked_right"] += int(bool(right.any()))
    n = counts["unchecked"]
    counts["unchecked_precision"] = round(counts["unchecked_right"] / n, 4) if n else None
    counts["check_items_right"] = sum(t[0] for t in checked.values())
    counts["check_items"] = sum(t[1] for t in checked.values())
    counts["rounds_trusted"] = sum(trust_unchecked(*t) for t in checked.values())
    counts["rounds"] = len(checked)
    return counts


def run_simulation(
    dataset: str | Path,
    config: SimulationConfig,
    out_dir: str | Path,
    title: str = "",
    about: dict | None = None,
) -> dict:
    """Run or resume the benchmark; write results.csv, learning_curve.png and summary.json.

    Returns the summary (see :func:`hitl_active.bench.summary.summarise`) with the paths
    and ``about`` (what the figures belong to: the protocol command, the start model).
    """

    items, names = load_labelled_dataset(dataset)
    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2, default=str))
    groups = scene_groups(dataset, [p for p, _ in items])
    runner = SimRunner(items, names, config, out, groups)
    logger.info(
        "%d images in %d scenes: %d test images (one per held-out scene), %d in the pool",
        len(items), len(set(groups)), len(runner.test), len(runner.train),
    )  # fmt: skip
    csv_path = out / "results.csv"
    columns = runner.columns()
    done = finished_rows(csv_path, columns)
    writer = ResultWriter(csv_path, columns)
    for seed in config.seeds:
        start = _seed_start(runner, seed)
        for name in config.strategies:
            _run_strategy(runner, name, seed, start, writer, done)
    _reference(runner, writer, done)
    counts = np.zeros(len(names), np.int64)
    for _, lab in runner.train:
        counts += np.bincount(lab.class_id, minlength=len(names))
    rare = names[int(np.argmin(counts))] if len(names) > 1 else None
    curves, reference = read_curves(csv_path)
    curves = {k: v for k, v in curves.items() if k in config.strategies}
    summary = summarise(curves, reference, rare_class=rare)
    png = plot_curves(curves, reference, out / "learning_curve.png", title=title, rare_class=rare)
    summary.update({"csv": str(csv_path), "png": str(png), "rare_class": rare, **(about or {})})
    if BOX_REVIEW in config.strategies:
        summary["box_review_unasked"] = unasked_quality(runner, config.seeds)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
