"""Flags for a person to review, each with its evidence. Nothing here excludes anyone.

- **Low skill**: an annotator's recall or precision (per class, and pooled) whose whole 90%
  interval lies more than ``margin`` below the team's median for that figure.
- **Automation bias**: the share of wrong pre-labels left uncorrected, when the interval's
  lower end is above ``max_automation_bias``.
- **Spammer**: Page's CUSUM of the log-likelihood ratio "agrees like a spammer" (rate
  ``p_spam``) against "agrees like the weakest honest annotator" (rate ``p_honest``), over the
  annotator's tasks in the order done. Per task the evidence is agreement counts: matched
  boxes (IoU, any label) against the gold boxes on a honeypot, else against each other
  annotator's answer on an overlapped task; tasks with neither carry no evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.gold import ALL, AnnotatorSkill
from hitl_active.workforce.records import Answer, Gold, by_image
from hitl_active.workforce.stats import Estimate, beta_rate

__all__ = ["Flag", "SpamTest", "WorkFlag", "agreement_counts", "flag_skills", "flag_spammers"]


@dataclass(frozen=True)
class Flag:
    """A figure that a person should look at, with the evidence behind it."""

    annotator: str
    kind: str  # "low_recall", "low_precision", "automation_bias", "spammer"
    figure: str  # e.g. "recall of class 2"
    estimate: Estimate
    team_value: float | None
    look_at: str
    after_tasks: int | None = None  # spammer flags: tasks done when the test crossed

    def message(self, counts: bool = True) -> str:
        """The flag in one line; ``counts=False`` leaves out how many items it rests on (for
        the person themselves: on gold figures that count would say how much was gold)."""
        e = self.estimate
        team = "" if self.team_value is None else f"; team median {self.team_value:.2f}"
        n = f", {e.n} items" if counts else ""
        return (
            f"{self.annotator}: {self.figure} {e.value:.2f} "
            f"({int(e.level * 100)}% interval {e.low:.2f}–{e.high:.2f}{n}{team}). "
            f"Look at: {self.look_at}"
        )


@dataclass(frozen=True)
class WorkFlag:
    """A fair-work figure past its limit (a wage below the floor, a workload cap reached), with
    its evidence: it asks the manager to act on pay or load, never counts against the person."""

    annotator: str
    kind: str  # "wage_below_floor", "floor_currency", "hours_per_day", "hours_per_week",
    # "stretch", "sensitive"
    figure: str  # e.g. "effective hourly wage (EUR)"
    value: float
    limit: float
    evidence: tuple[str, ...]
    look_at: str

    def message(self) -> str:
        return (
            f"{self.annotator}: {self.figure} {self.value:.2f} against {self.limit:.2f} "
            f"({'; '.join(self.evidence)}). Look at: {self.look_at}"
        )


def _class_name(c: int) -> str:
    return "all classes" if c == ALL else f"class {c}"


def flag_skills(
    skills: Mapping[str, AnnotatorSkill], margin: float = 0.1, max_automation_bias: float = 0.3
) -> list[Flag]:
    """Low recall / precision against the team, and high automation bias, from gold scores."""
    flags = []
    for fig, kind in (("recall", "low_recall"), ("precision", "low_precision")):
        classes = {c for s in skills.values() for c in s.per_class}
        for c in sorted(classes):
            known = {
                who: getattr(s.per_class[c], fig)
                for who, s in skills.items()
                if c in s.per_class and getattr(s.per_class[c], fig).known
            }
            if len(known) < 3:
                continue  # no team to compare with
            team = float(np.median([e.value for e in known.values()]))
            for who, e in sorted(known.items()):
                if e.high < team - margin:
                    what = "missed objects" if fig == "recall" else "extra or mislabelled boxes"
                    look = f"their {_class_name(c)} gold items: {what}"
                    flags.append(Flag(who, kind, f"{fig} of {_class_name(c)}", e, team, look))
    for who, s in sorted(skills.items()):
        e = s.overall.automation_bias
        if e.known and e.low > max_automation_bias:
            look = "pre-labels they accepted on gold items that were wrong"
            flags.append(Flag(who, "automation_bias", "wrong pre-labels left", e, None, look))
    return flags


def agreement_counts(
    labels: ImageLabels, reference: ImageLabels, min_iou: float = 0.5
) -> tuple[int, int]:
    """``(2 × matched boxes, boxes on both sides)``: their ratio is the F1 (any label)."""
    trials = len(labels.class_id) + len(reference.class_id)
    if trials == 0:
        return 0, 0
    pairs = match_boxes(box_iou(labels.xyxy, reference.xyxy), min_iou, method="hungarian")
    return 2 * len(pairs), trials


@dataclass(frozen=True)
class SpamTest:
    """The sequential test. ``alpha`` sets the CUSUM threshold ``log(1 / alpha)``.

    The defaults were chosen on the benchmark's calibration seeds: ``alpha=0.001`` flagged
    0.5% of honest simulated annotators over 100 tasks (0.005 flagged 1.5%) while still
    flagging every spammer within 15 tasks.
    """

    p_honest: float = 0.45
    p_spam: float = 0.1
    alpha: float = 0.001

    def __post_init__(self) -> None:
        if not 0 < self.p_spam < self.p_honest < 1 or not 0 < self.alpha < 1:
            raise ValueError("need 0 < p_spam < p_honest < 1 and 0 < alpha < 1")

    def first_crossing(self, counts: Sequence[tuple[int, int]]) -> int | None:
        """1-based index of the task at which the CUSUM crosses the threshold, or ``None``."""
        hit = np.log(self.p_spam / self.p_honest)
        miss = np.log((1 - self.p_spam) / (1 - self.p_honest))
        s, h = 0.0, np.log(1 / self.alpha)
        for t, (hits, trials) in enumerate(counts, start=1):
            s = max(0.0, s + hits * hit + (trials - hits) * miss)
            if s >= h:
                return t
        return None


def flag_spammers(
    answers: Iterable[Answer], gold: Gold, test: SpamTest | None = None, min_iou: float = 0.5
) -> list[Flag]:
    """Spammer flags; each annotator's answers are read in the order given (order of work)."""
    test = test or SpamTest()
    answers = list(answers)
    images = by_image(answers)
    per: dict[str, list[tuple[int, int]]] = {}
    for a in answers:
        truth = gold.get(a.image)
        refs = (
            [truth]
            if truth is not None
            else [b.labels for b in images[a.image] if b.annotator != a.annotator]
        )
        counts = [agreement_counts(a.labels, r, min_iou) for r in refs]
        per.setdefault(a.annotator, []).append(
            (sum(c[0] for c in counts), sum(c[1] for c in counts))
        )
    flags = []
    for who, counts in sorted(per.items()):
        t = test.first_crossing(counts)
        if t is None:
            continue
        hits, trials = (int(sum(c[i] for c in counts[:t])) for i in (0, 1))
        e = beta_rate(hits, trials, min_count=0, what="box comparisons")
        look = "their last tasks: boxes that match neither gold nor other annotators"
        flags.append(Flag(who, "spammer", "agreement (F1, any label)", e, None, look, t))
    return flags
