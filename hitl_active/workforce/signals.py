"""Signals about the task design, never about a person: skips and disagreement per class.

A class whose tasks are skipped more often than the others', or whose objects annotators
disagree on more often (than on other classes, or than on the same class before), points
at instructions that may be unclear; two labels often given to the same object point at
classes that may be confusable. A :class:`Signal` names classes and counts only: it carries
no annotator, so it cannot be attached to anyone as a penalty.

Rates are compared with :func:`~.stats.rates_differ` (the interval of their difference
excludes zero), so a class is not signalled on a handful of tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from hitl_active.workforce.consensus import cluster_boxes
from hitl_active.workforce.records import Answer, by_image
from hitl_active.workforce.stats import rates_differ
from hitl_active.workforce.worklog import WorkEvent, latest_versions

__all__ = ["Signal", "disagreement_signals", "skip_signals"]


@dataclass(frozen=True)
class Signal:
    """What the manager should look at in the task design; ``n`` items back ``value``."""

    kind: str  # "skips", "disagreement" or "confusable"
    classes: tuple[int, ...]
    value: float
    baseline: float | None
    n: int
    message: str


def _name(c: int, names: Mapping[int, str]) -> str:
    return repr(names.get(c, str(c)))


def _spikes(
    counts: Mapping[int, tuple[int, int]],
    before: Mapping[int, tuple[int, int]] | None,
    min_items: int,
    level: float,
) -> list[tuple[int, float, float, int]]:
    """``(class, rate, baseline rate, n)`` for each class whose rate is above its baseline:
    the other classes' pooled rate, or its own rate ``before`` when that is given."""
    out = []
    for c, (k, n) in sorted(counts.items()):
        if before is not None:
            bk, bn = before.get(c, (0, 0))
        else:
            bk = sum(v[0] for d, v in counts.items() if d != c)
            bn = sum(v[1] for d, v in counts.items() if d != c)
        if n < min_items or bn == 0 or k / n <= bk / bn:
            continue
        if rates_differ(k, n, bk, bn, level):
            out.append((c, k / n, bk / bn, n))
    return out


def skip_signals(
    events: Iterable[WorkEvent],
    task_classes: Mapping[int, Sequence[int]],
    class_names: Mapping[int, str] | None = None,
    min_tasks: int = 20,
    level: float = 0.99,
) -> list[Signal]:
    """Classes whose tasks are skipped more than the rest. ``task_classes`` holds the classes a
    task shows (its pre-label's); each person's latest answer to a client task counts once."""
    names = class_names or {}
    counts: dict[int, tuple[int, int]] = {}
    for e in latest_versions(events):
        if e.practice:
            continue
        for c in set(task_classes.get(e.task, ())):
            k, n = counts.get(c, (0, 0))
            counts[c] = (k + (e.kind == "skip"), n + 1)
    return [
        Signal("skips", (c, ), rate, base, n,
               f"class {_name(c, names)}: {rate:.0%} of {n} tasks skipped against {base:.0%} on "
               "other classes; its instructions may be unclear")
        for c, rate, base, n in _spikes(counts, None, min_tasks, level)
    ]  # fmt: skip


def _object_counts(
    answers: Sequence[Answer], min_iou: float
) -> tuple[dict[int, tuple[int, int]], dict[tuple[int, int], int]]:
    """Per class (the object's most given label, ties to the lower id): objects disputed (not
    drawn by everyone, or drawn with several labels) of objects; per label pair: objects."""
    per: dict[int, tuple[int, int]] = {}
    pairs: dict[tuple[int, int], int] = {}
    for group in by_image(answers).values():
        if len(group) < 2:
            continue
        labels = {a.annotator: a.labels.class_id for a in group}
        for cl in cluster_boxes(group, min_iou=min_iou):
            given = [int(labels[who][i]) for who, i in cl.members.items()]
            label = min(set(given), key=lambda c: (-given.count(c), c))
            disputed = len(given) < len(group) or len(set(given)) > 1
            k, n = per.get(label, (0, 0))
            per[label] = (k + disputed, n + 1)
            for pair in combinations(sorted(set(given)), 2):
                pairs[pair] = pairs.get(pair, 0) + 1
    return per, pairs


def disagreement_signals(
    answers: Sequence[Answer],
    earlier: Sequence[Answer] = (),
    class_names: Mapping[int, str] | None = None,
    min_objects: int = 20,
    min_confused: float = 0.1,
    min_iou: float = 0.5,
    level: float = 0.99,
) -> list[Signal]:
    """Disagreement spikes per class on overlapped images (against the other classes, or
    against ``earlier`` answers when given), and label pairs given to the same objects."""
    names = class_names or {}
    per, pairs = _object_counts(answers, min_iou)
    before = _object_counts(earlier, min_iou)[0] if earlier else None
    against = "before" if before is not None else "on other classes"
    out = [
        Signal("disagreement", (c, ), rate, base, n,
               f"class {_name(c, names)}: annotators disagree on {rate:.0%} of {n} objects "
               f"against {base:.0%} {against}; its instructions may be unclear")
        for c, rate, base, n in _spikes(per, before, min_objects, level)
    ]  # fmt: skip
    for (a, b), k in sorted(pairs.items()):
        n = per.get(a, (0, 0))[1] + per.get(b, (0, 0))[1]
        if n >= min_objects and k / n >= min_confused:
            says = (
                f"classes {_name(a, names)} and {_name(b, names)}: {k} of {n} objects were "
                "given both labels; they may be confusable"
            )
            out.append(Signal("confusable", (a, b), k / n, None, n, says))
    return out
