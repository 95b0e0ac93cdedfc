"""Benchmark of the workforce estimators on simulated annotators with planted skills.

Each seed plants a team of annotators (per-class recall, label accuracy, false positives,
box noise, acceptance of wrong pre-labels), lets them label the truths of a synthetic
dataset, and measures how well :mod:`hitl_active.workforce` recovers what was planted:

- gold: every annotator labels ``n_gold`` gold images; Spearman ρ between planted and
  estimated recall (per annotator × class with enough data) and box noise (per annotator),
  the mean absolute error of recall, and how often the 90% intervals cover the planted value;
- overlap, no gold: each image goes to ``overlap`` annotators; ρ between the planted
  reliability (object-weighted recall × label accuracy) and Dawid–Skene's;
- spammer: a random-box annotator works a stream of tasks (``gold_share`` honeypots,
  ``overlap_share`` shared with two team members); the task at which it is flagged. Each
  honest team member works such a stream too; the share of them flagged is the false-flag rate;
- null case: identical annotators; the share of pairs whose recall or precision differ.

Seeds: :data:`CALIBRATION_SEEDS` were used while choosing the estimators' settings;
:data:`TEST_SEEDS` are the reported ones and were never used to choose anything
(:data:`SPENT_TEST_SEEDS` were reported once and are not reused).
Targets count as met on the test seeds when the *median* ρ reaches its bound, the pooled
MAE, coverage and rates are within theirs, and the *slowest* spammer flag is within 30 tasks.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from hitl_active.bench.simulated_annotator import AnnotatorProfile, SimulatedAnnotator
from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.yolo import read_yolo_dataset
from hitl_active.workforce.consensus import pairwise_agreement
from hitl_active.workforce.flags import flag_skills, flag_spammers
from hitl_active.workforce.gold import score_gold
from hitl_active.workforce.latent import estimate_without_gold
from hitl_active.workforce.records import by_image
from hitl_active.workforce.stats import rates_differ

__all__ = [
    "CALIBRATION_SEEDS",
    "SPENT_TEST_SEEDS",
    "TEST_SEEDS",
    "BenchConfig",
    "run_bench",
    "run_seed",
]

CALIBRATION_SEEDS = tuple(range(0, 5))
TEST_SEEDS = tuple(range(200, 220))
# Test seeds already reported once, before the spammer test's alpha was re-chosen on the
# calibration seeds (0.005 -> 0.001); never used again, so no setting is fitted to them.
SPENT_TEST_SEEDS = tuple(range(100, 120))

TARGETS = {
    "recall_spearman": (">=", 0.9),
    "noise_spearman": (">=", 0.9),
    "recall_mae": ("<", 0.05),
    "interval_coverage": ("within", (0.85, 0.95)),
    "overlap_rank_spearman": (">=", 0.8),
    "spammer_flagged_after_tasks": ("<=", 30),
    "honest_false_flag_rate": ("<=", 0.05),
    "identical_pairs_differ_rate": ("<=", 0.05),
}


@dataclass(frozen=True)
class BenchConfig:
    n_annotators: int = 8
    n_gold: int = 100
    overlap: int = 3
    stream_tasks: int = 100
    gold_share: float = 0.1
    overlap_share: float = 0.3


def gold_truths(seed: int, n_images: int, workdir: Path) -> tuple[list[ImageLabels], int]:
    """Truths of a synthetic dataset (distinct frames), and its number of classes."""

    spec = SyntheticSpec(n_images=n_images, seed=seed, duplicate_fraction=0.0)
    ds = make_synthetic_dataset(workdir / f"gold-{seed}", spec, progress=False)
    return list(read_yolo_dataset(ds.images_dir, class_names=ds.class_names)), len(spec.classes)


def planted_team(rng: np.random.Generator, n: int, n_classes: int) -> list[SimulatedAnnotator]:
    team = []
    for i in range(n):
        base = rng.uniform(0.55, 0.98)
        recall = np.clip(base + rng.normal(0, 0.03, n_classes), 0.3, 0.995)
        acc = rng.uniform(0.8, 0.98)
        conf = np.full((n_classes, n_classes), (1 - acc) / (n_classes - 1))
        np.fill_diagonal(conf, acc)
        profile = AnnotatorProfile(
            recall,
            conf,
            fp_rate=rng.uniform(0.0, 0.3),
            box_noise=rng.uniform(0.01, 0.08),
            accept_wrong=rng.uniform(0.0, 0.5),
        )
        team.append(SimulatedAnnotator(f"annotator-{i}", profile))
    return team


def _gold_part(team, truths, n_classes, rng) -> tuple[dict, dict]:

    skills = score_gold(
        [a.annotate(t, rng) for a in team for t in truths], {t.image: t for t in truths}
    )
    planted, est, cover = [], [], []
    for a in team:
        for c in range(n_classes):
            pc = skills[a.name].per_class.get(c)
            if pc is not None and pc.recall.known:
                planted.append(a.profile.recall[c])
                est.append(pc.recall.value)
                cover.append(pc.recall.covers(a.profile.recall[c]))
    noise = [skills[a.name].box_noise for a in team]
    n_cover = [e.covers(a.profile.box_noise) for e, a in zip(noise, team, strict=True)]
    row = {
        "recall_spearman": float(spearmanr(planted, est).statistic),
        "noise_spearman": float(
            spearmanr([a.profile.box_noise for a in team], [e.value for e in noise]).statistic
        ),
        "recall_mae": float(np.mean(np.abs(np.subtract(planted, est)))),
        "recall_pairs": len(planted),
    }
    return row, {
        "recall_cover": cover,
        "noise_cover": n_cover,
        "abs_err": list(np.abs(np.subtract(planted, est))),
    }


def _overlap_part(team, truths, n_classes, k, rng) -> dict:

    answers = [
        team[j].annotate(t, rng) for t in truths for j in rng.choice(len(team), k, replace=False)
    ]
    latent = estimate_without_gold(answers, n_classes, rng=rng)
    freq = np.bincount(np.concatenate([t.class_id for t in truths]), minlength=n_classes)
    freq = freq / freq.sum()
    planted = [float(np.sum(freq * a.profile.reliability)) for a in team]
    est = [latent[a.name].reliability for a in team]
    agree = [pairwise_agreement(g) for g in by_image(answers).values()]
    return {
        "overlap_rank_spearman": float(spearmanr(planted, est).statistic),
        "overlap_noise_spearman": float(
            spearmanr(
                [a.profile.box_noise for a in team],
                [latent[a.name].box_noise.value or 0.0 for a in team],
            ).statistic
        ),
        "pairwise_agreement": float(np.mean(agree)),
    }


def _stream(person, team, truths, cfg: BenchConfig, rng) -> tuple[list, dict]:
    """``person``'s tasks in order: honeypots, tasks shared with two others, and lone tasks."""
    others = [a for a in team if a.name != person.name]
    answers, gold = [], {}
    for n, i in enumerate(rng.integers(0, len(truths), cfg.stream_tasks)):
        src = truths[i]  # the same frame may come twice: each task gets its own key
        t = ImageLabels(f"{src.image}#{n}", src.width, src.height, src.xyxy, src.class_id)
        u = rng.random()
        answers.append(person.annotate(t, rng))
        if u < cfg.gold_share:
            gold[t.image] = t
        elif u < cfg.gold_share + cfg.overlap_share:
            answers += [o.annotate(t, rng) for o in rng.choice(others, 2, replace=False)]
    return answers, gold


def _flag_part(team, truths, n_classes, cfg: BenchConfig, rng) -> dict:

    spammer = SimulatedAnnotator("spammer", AnnotatorProfile.random_spammer(n_classes))
    answers, gold = _stream(spammer, team, truths, cfg, rng)
    hit = [f for f in flag_spammers(answers, gold) if f.annotator == "spammer"]
    false_flags = 0
    for person in team:
        answers, gold = _stream(person, team, truths, cfg, rng)
        false_flags += any(f.annotator == person.name for f in flag_spammers(answers, gold))
    return {
        "spammer_flagged_after_tasks": hit[0].after_tasks if hit else None,
        "honest_flagged": false_flags,
        "honest_runs": len(team),
    }


def _null_part(truths, n_classes, n, rng) -> dict:

    same = AnnotatorProfile.uniform(n_classes, 0.8, 0.9, fp_rate=0.1, box_noise=0.04)
    team = [SimulatedAnnotator(f"twin-{i}", same) for i in range(n)]
    skills = score_gold(
        [a.annotate(t, rng) for a in team for t in truths], {t.image: t for t in truths}
    )
    names = sorted(skills)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    differ = 0
    for a, b in pairs:
        x, y = skills[a].overall.counts, skills[b].overall.counts
        differ += rates_differ(x.found, x.objects, y.found, y.objects) or rates_differ(
            x.correct_boxes, x.boxes, y.correct_boxes, y.boxes
        )
    return {
        "identical_pairs": len(pairs),
        "identical_differ": differ,
        "identical_flags": len(flag_skills(skills)),
    }


def run_seed(seed: int, cfg: BenchConfig, workdir: Path) -> dict:
    """Every part of the benchmark on one seed; the raw per-interval results under ``_``."""
    truths, n_classes = gold_truths(seed, cfg.n_gold, workdir)
    rng = np.random.default_rng(seed)
    team = planted_team(rng, cfg.n_annotators, n_classes)
    row, raw = _gold_part(team, truths, n_classes, rng)
    row.update(_overlap_part(team, truths, n_classes, cfg.overlap, rng))
    row.update(_flag_part(team, truths, n_classes, cfg, rng))
    row.update(_null_part(truths, n_classes, cfg.n_annotators, rng))
    return {"seed": seed, **row, "_": raw}


def _met(value, rule) -> bool | None:
    if value is None:
        return None
    op, bound = rule
    if op == "within":
        return bool(bound[0] <= value <= bound[1])
    return bool({">=": value >= bound, "<": value < bound, "<=": value <= bound}[op])


def summarize(rows: list[dict]) -> dict:
    """The figures the issue asks for, over the seeds of ``rows``, and whether each is met."""
    raw = [r.pop("_") for r in rows]
    rc = [c for r in raw for c in r["recall_cover"]]
    nc = [c for r in raw for c in r["noise_cover"]]
    flagged = [r["spammer_flagged_after_tasks"] for r in rows]
    out = {
        "recall_spearman": float(np.median([r["recall_spearman"] for r in rows])),
        "recall_spearman_min": float(np.min([r["recall_spearman"] for r in rows])),
        "noise_spearman": float(np.median([r["noise_spearman"] for r in rows])),
        "noise_spearman_min": float(np.min([r["noise_spearman"] for r in rows])),
        "recall_mae": float(np.mean([e for r in raw for e in r["abs_err"]])),
        "interval_coverage": float(np.mean(rc + nc)),
        "recall_interval_coverage": float(np.mean(rc)),
        "noise_interval_coverage": float(np.mean(nc)),
        "intervals": len(rc) + len(nc),
        "overlap_rank_spearman": float(np.median([r["overlap_rank_spearman"] for r in rows])),
        "overlap_rank_spearman_min": float(np.min([r["overlap_rank_spearman"] for r in rows])),
        "overlap_noise_spearman": float(np.median([r["overlap_noise_spearman"] for r in rows])),
        "pairwise_agreement": float(np.mean([r["pairwise_agreement"] for r in rows])),
        "spammer_flagged_after_tasks": None if None in flagged else int(max(flagged)),
        "spammer_flagged_after_tasks_median": None
        if None in flagged
        else float(np.median(flagged)),
        "spammer_missed": sum(f is None for f in flagged),
        "honest_false_flag_rate": sum(r["honest_flagged"] for r in rows)
        / sum(r["honest_runs"] for r in rows),
        "identical_pairs_differ_rate": sum(r["identical_differ"] for r in rows)
        / sum(r["identical_pairs"] for r in rows),
        "identical_team_flags": sum(r["identical_flags"] for r in rows),
    }
    out["targets"] = {
        k: {"rule": f"{op} {bound}", "met": _met(out[k], (op, bound))}
        for k, (op, bound) in TARGETS.items()
    }
    return out


def run_bench(seeds: tuple[int, ...], cfg: BenchConfig | None = None) -> dict:
    cfg = cfg or BenchConfig()
    with tempfile.TemporaryDirectory(prefix="bench-annotators-") as tmp:
        rows = [run_seed(s, cfg, Path(tmp)) for s in seeds]
    return {"summary": summarize(rows), "per_seed": rows}
