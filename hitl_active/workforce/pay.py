"""Pay and the effective hourly wage, against a living-wage floor per location.

A project pays by the hour, per submitted task or per box (:class:`PayModel`). Work that no
piece rate pays is paid by the hour at the project's ``time_rate``: practice tasks always,
and skipped tasks on piece-rate projects, each for its share of session time (its lead time
plus its share of the time between tasks, :meth:`Session.shares`). An hourly project pays
every active second. The effective wage is pay ÷ active time (:mod:`.hours`), and a wage
below the floor of the person's location is flagged with its evidence.

Before a piece-rate batch, a pilot's task times (lead time plus the time around it) give the
implied wage and the time to show the annotator up front (:func:`batch_estimate`).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timezone, tzinfo
from pathlib import Path

import numpy as np

from hitl_active.safeyaml import load_yaml
from hitl_active.workforce.flags import WorkFlag
from hitl_active.workforce.hours import Session
from hitl_active.workforce.worklog import WorkEvent, latest_versions

__all__ = [
    "BatchEstimate", "Pay", "PayModel", "WageFloor", "batch_estimate", "implied_wage",
    "load_floors", "pay_for_period", "task_times", "wage_flags",
]  # fmt: skip

logger = logging.getLogger(__name__)

PAY_KINDS = ("hourly", "per_task", "per_box")
FLOOR_COLUMNS = ("location", "currency", "hourly", "source", "date")


@dataclass(frozen=True)
class PayModel:
    """How a project pays: ``rate`` per hour, per submitted task or per box, in ``currency``.

    ``time_rate`` is the hourly rate of practice tasks, and on piece-rate projects of skipped
    tasks too; an hourly project defaults it to ``rate``, a piece-rate project must set it.
    """

    project: int
    kind: str
    rate: float
    currency: str
    time_rate: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in PAY_KINDS:
            raise ValueError(f"project {self.project}: pay kind must be one of {PAY_KINDS}")
        if not self.rate >= 0 or (self.time_rate is not None and not self.time_rate >= 0):
            raise ValueError(f"project {self.project}: pay rates must be >= 0")
        if self.kind != "hourly" and self.time_rate is None:
            raise ValueError(
                f"project {self.project}: {self.kind} pay needs time_rate, the hourly rate "
                "paid for practice and skipped tasks"
            )

    @property
    def hourly(self) -> float:
        """The hourly rate of time-paid work."""
        return self.rate if self.time_rate is None else self.time_rate


@dataclass(frozen=True)
class WageFloor:
    """A living-wage floor the manager keeps, with where the figure comes from."""

    location: str
    currency: str
    hourly: float
    source: str
    date: str


def load_floors(path: str | Path) -> dict[str, WageFloor]:
    """Floors per location from a CSV (header ``location,currency,hourly,source,date``) or a
    YAML list of mappings with those keys."""
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        rows = load_yaml(path) or []
    else:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    out: dict[str, WageFloor] = {}
    for i, row in enumerate(rows, start=1):
        missing = [c for c in FLOOR_COLUMNS if not str((row or {}).get(c, "")).strip()]
        if missing:
            raise ValueError(f"{path} row {i}: missing {', '.join(missing)}; need {FLOOR_COLUMNS}")
        try:
            hourly = float(row["hourly"])
            date.fromisoformat(str(row["date"]))
            if not hourly > 0:
                raise ValueError(f"hourly floor {hourly}")
        except ValueError as e:
            raise ValueError(f"{path} row {i}: {e}; hourly is a number > 0, date YYYY-MM-DD") from e
        loc = str(row["location"]).strip()
        if loc in out:
            raise ValueError(f"{path} row {i}: location {loc!r} appears twice; keep one row")
        cur, src, day = (str(row[c]) for c in ("currency", "source", "date"))
        out[loc] = WageFloor(loc, cur, hourly, src, day)
    return out


@dataclass(frozen=True)
class Pay:
    """One annotator's pay for a period, its parts, and the active time it paid for."""

    annotator: str
    currency: str
    active_seconds: float
    by_project: dict[int, dict[str, float]] = field(default_factory=dict)  # money per part
    project_seconds: dict[int, float] = field(default_factory=dict)  # active time's shares
    tasks: int = 0
    boxes: int = 0

    @property
    def parts(self) -> dict[str, float]:
        """Money per part over all projects: "hours", "tasks", "boxes", "practice", "skipped"."""
        out: dict[str, float] = {}
        for parts in self.by_project.values():
            for k, v in parts.items():
                out[k] = out.get(k, 0.0) + v
        return out

    @property
    def amount(self) -> float:
        return sum(self.parts.values())

    @property
    def effective_wage(self) -> float | None:
        """Pay per active hour; ``None`` without active time."""
        return self.amount * 3600 / self.active_seconds if self.active_seconds > 0 else None


def _model(models: Mapping[int, PayModel], project: int) -> PayModel:
    if project not in models:
        raise ValueError(f"no pay model for project {project}; add one to the pay table")
    return models[project]


def _currency(seen: dict[str, str], who: str, m: PayModel) -> PayModel:
    if seen.setdefault(who, m.currency) != m.currency:
        raise ValueError(
            f"{who} works on projects paid in {seen[who]} and {m.currency}; "
            "pay them in one currency per period"
        )
    return m


def pay_for_period(
    found: Iterable[Session],
    events: Iterable[WorkEvent],
    models: Mapping[int, PayModel],
    days: tuple[date, date] | None = None,
    tz: tzinfo = timezone.utc,
) -> dict[str, Pay]:
    """Pay per annotator for the sessions (and tasks first submitted) on ``days`` (inclusive).

    ``found`` are the sessions of ``events`` (:func:`~.hours.sessions`, in the same ``tz``); a
    piece-rate task is paid once, on the day of its first submission, with the boxes of its
    latest version.
    """
    lo, hi = days or (date.min, date.max)
    active: dict[str, float] = {}
    seconds: dict[str, dict[int, float]] = {}
    money: dict[str, dict[int, dict[str, float]]] = {}
    counts: dict[str, list[int]] = {}
    currency: dict[str, str] = {}

    def add(who: str, m: PayModel, part: str, amount: float) -> None:
        parts = money.setdefault(who, {}).setdefault(_currency(currency, who, m).project, {})
        parts[part] = parts.get(part, 0.0) + amount

    for s in found:
        if not lo <= s.day <= hi:
            continue
        who = s.annotator
        active[who] = active.get(who, 0.0) + s.active_seconds
        for p, share in s.shares():
            m = _currency(currency, who, _model(models, p.project))
            mine = seconds.setdefault(who, {})
            mine[p.project] = mine.get(p.project, 0.0) + share
            if p.practice:
                add(who, m, "practice", share / 3600 * m.hourly)
            elif m.kind == "hourly":
                add(who, m, "hours", share / 3600 * m.rate)
            elif p.kind == "skip":
                add(who, m, "skipped", share / 3600 * m.hourly)
    events = list(events)
    first = {}
    for e in events:
        if e.kind != "draft":
            key = (e.annotator, e.record)
            first[key] = min(first.get(key, e.ended), e.ended)
    for e in latest_versions(events):
        m = _model(models, e.project)
        day = first[(e.annotator, e.record)].astimezone(tz).date()
        if e.kind != "annotation" or e.practice or m.kind == "hourly" or not lo <= day <= hi:
            continue
        per_task = m.kind == "per_task"
        add(e.annotator, m, "tasks" if per_task else "boxes", m.rate * (1 if per_task else e.boxes))
        n = counts.setdefault(e.annotator, [0, 0])
        n[0], n[1] = n[0] + 1, n[1] + e.boxes
    out = {}
    for who in sorted(set(active) | set(money)):
        n = counts.get(who, [0, 0])
        out[who] = Pay(
            who, currency.get(who, ""), active.get(who, 0.0), money.get(who, {}),
            seconds.get(who, {}), n[0], n[1],
        )  # fmt: skip
    return out


def wage_flags(
    pays: Mapping[str, Pay], floors: Mapping[str, WageFloor], locations: Mapping[str, str]
) -> list[WorkFlag]:
    """A flag for each effective wage below the floor of the person's location."""
    out = []
    for who, pay in sorted(pays.items()):
        wage = pay.effective_wage
        floor = floors.get(locations.get(who, ""))
        if floor is None:
            logger.warning("%s: no wage floor for location %r", who, locations.get(who))
            continue
        if wage is not None and pay.currency != floor.currency:  # not comparable: say so
            evidence = (
                f"paid in {pay.currency}",
                f"the {floor.location} floor is in {floor.currency} ({floor.source}, {floor.date})",
            )
            look = f"give the {floor.location} floor in {pay.currency}, the currency of pay"
            figure = f"effective hourly wage ({pay.currency}) against a floor in {floor.currency}"
            out.append(WorkFlag(who, "floor_currency", figure, wage, floor.hourly, evidence, look))
            continue
        if wage is None or wage >= floor.hourly:
            continue
        paid = ", ".join(f"{k} {v:.2f}" for k, v in sorted(pay.parts.items()))
        evidence = (
            f"paid {pay.amount:.2f} {pay.currency} ({paid}) for {pay.active_seconds / 3600:.2f} "
            f"active hours",
            f"floor {floor.hourly:.2f} {floor.currency}/h in {floor.location} "
            f"({floor.source}, {floor.date})",
        )
        look = "the piece rate against the time tasks really take, and unpaid time between tasks"
        figure = f"effective hourly wage ({pay.currency})"
        out.append(WorkFlag(who, "wage_below_floor", figure, wage, floor.hourly, evidence, look))
    return out


def task_times(found: Iterable[Session], project: int | None = None) -> list[float]:
    """Seconds per submitted client task (of ``project``, or of every project), with its share
    of the time around it (a pilot's figures "including associated activities")."""
    per: dict[tuple[str, int], float] = {}
    for s in found:
        for p, share in s.shares():
            if p.kind == "annotation" and not p.practice and project in (None, p.project):
                per[(p.annotator, p.task)] = per.get((p.annotator, p.task), 0.0) + share
    return list(per.values())


def implied_wage(
    model: PayModel, task_seconds: Sequence[float], boxes_per_task: Sequence[int] = ()
) -> float:
    """The hourly wage a rate implies at the pilot's median task time (and median boxes)."""
    if model.kind == "hourly":
        return model.rate
    if len(task_seconds) == 0 or not np.median(task_seconds) > 0:
        raise ValueError("the pilot has no timed tasks; run a pilot batch first")
    median = float(np.median(task_seconds))
    if model.kind == "per_task":
        return model.rate * 3600 / median
    if len(boxes_per_task) == 0:
        raise ValueError("per-box pay needs the pilot's boxes per task (boxes_per_task)")
    return model.rate * float(np.median(boxes_per_task)) * 3600 / median


@dataclass(frozen=True)
class BatchEstimate:
    """What to show an annotator before they start a batch."""

    tasks: int
    task_seconds: float
    total_seconds: float
    wage: float
    currency: str
    pilot_tasks: int

    def message(self) -> str:
        return (
            f"{self.tasks} tasks, about {self.total_seconds / 60:.0f} min "
            f"({self.task_seconds:.0f} s each, from a pilot of {self.pilot_tasks} tasks); "
            f"about {self.wage:.2f} {self.currency} an hour"
        )


def batch_estimate(
    model: PayModel, task_seconds: Sequence[float], tasks: int, boxes_per_task: Sequence[int] = ()
) -> BatchEstimate:
    """The expected time of ``tasks`` tasks at the pilot's median, and the wage it implies."""
    wage = implied_wage(model, task_seconds, boxes_per_task)
    median = float(np.median(task_seconds)) if len(task_seconds) else 0.0
    return BatchEstimate(tasks, median, median * tasks, wage, model.currency, len(task_seconds))
