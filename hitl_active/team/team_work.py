"""Fair work in a workspace: the one bridge from the state store to the fair-work figures
(:mod:`hitl_active.workforce.hours`, ``pay``, ``workload``, ``signals``, ``roi``,
``transparency``).

:func:`work_events` reads the work log: every stored revision of every Label Studio
annotation and skip (with its ``lead_time``, ``created_at``, ``draft_created_at`` and
``updated_at``), the drafts read while they existed, and the training track's answered
practice tasks (:func:`practice_events`); the work of an account that administers the
project and was never added as an annotator is not the team's and is left out. Each event's
project is its *pay project*: a project with a pay entry of its own in ``work.pay`` stays
itself; the workspace's queues and practice projects count under the workspace's Label
Studio project, paid by ``work.pay["default"]``.
:func:`~hitl_active.team.team_work_figures.team_work` turns the log into everyone's hours,
pay, effective wage against the floor of their location, today's workload and room left
under the caps, and the team's signals, ROI and transparency rows (see :class:`TeamWork`).

A stored row the figures cannot use (a time outside the sane window, an impossible lead
time: :func:`hitl_active.labelstudio.sink.check_work`, the rule intake applies) is left out
and named (:class:`SkippedRecord`, :meth:`TeamWork.skipped_note`), so one bad row never
takes a page or a report down.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from hitl_active.labelstudio.sink import InvalidRecordError, check_work
from hitl_active.workforce.flags import WorkFlag
from hitl_active.workforce.hours import Hours, Session, sessions
from hitl_active.workforce.pay import (
    BatchEstimate,
    Pay,
    PayModel,
    WageFloor,
    load_floors,
    task_times,
)  # fmt: skip
from hitl_active.workforce.roi import Roi
from hitl_active.workforce.signals import Signal
from hitl_active.workforce.transparency import ProjectFigures
from hitl_active.workforce.workload import Workload
from hitl_active.workforce.worklog import WorkEvent
from hitl_active.workspace.config import WorkspaceError
from hitl_active.workspace.workspace import Workspace

__all__ = [
    "DEFAULT_TASK_SECONDS", "PersonWork", "SkippedRecord", "TeamWork", "pay_models",
    "pay_project", "practice_events", "work_events", "work_log",
    "work_sessions",
]  # fmt: skip

logger = logging.getLogger(__name__)

DEFAULT_TASK_SECONDS = 60.0  # the expected task length before any task was timed


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def pay_project(ws: Workspace, project: int | None) -> int:
    """The project an event's work is paid and reported under (see the module docstring)."""
    if project is not None and str(project) in ws.config.work.pay:
        return int(project)
    main = ws.config.label_studio_project
    return int(main if main is not None else (project or 0))


def _names(ws: Workspace) -> dict[str, str]:
    """Label Studio's name for a user (e-mail) and the record's name, to the record's name."""
    out: dict[str, str] = {}
    for p in ws.store.annotators():
        out[p.name] = p.name
        if p.email:
            out[p.email] = p.name
    return out


def _admins(ws: Workspace, names: dict[str, str]) -> set[str]:
    """The e-mails of the accounts that administer the project and are not annotators: their
    work is not the team's (no hours, no pay)."""
    return {a["email"] for a in ws.store.admin_accounts() if a["email"]} - set(names)


def _sensitive(ws: Workspace, project: int, practice: bool) -> bool:
    work = ws.config.work
    return project in work.sensitive_projects or (work.sensitive and not practice)


def practice_events(ws: Workspace) -> list[WorkEvent]:
    """Paid practice from the training track: one ``practice=True`` event per answered
    practice task (``practice_attempts`` rows with their seconds), ending when it was graded.
    Practice tasks are counted from here only, never again from the annotations table."""
    names = {p.id: p.name for p in ws.store.annotators()}
    out = []
    for row in ws.store.practice_log():
        seconds = float(row["seconds"])
        if not (math.isfinite(seconds) and seconds >= 0):
            logger.warning("practice task %s: %r seconds left out", row["task_key"], seconds)
            continue
        project = pay_project(ws, row["project_id"])
        out.append(
            WorkEvent(
                names[row["annotator_id"]], int(row["ls_task_id"] or 0), project, "annotation",
                -int(row["id"]), datetime.fromtimestamp(row["answered_at"], timezone.utc),
                seconds, practice=True, sensitive=_sensitive(ws, project, True),
            )
        )  # fmt: skip
    return out


@dataclass(frozen=True)
class SkippedRecord:
    """A stored row the work figures left out: whose it is and why, naming the row."""

    annotator: str
    reason: str  # e.g. "annotation 12: updated_at 9999-12-31... is outside ..."


def _usable(
    skipped: list[SkippedRecord], who: str, row: str, lead: float | None,
    times: dict[str, str | None],
) -> bool:  # fmt: skip
    """Whether a stored row passes the intake checks; if not, it is noted in ``skipped``."""
    try:
        check_work(lead, times)
    except InvalidRecordError as exc:
        logger.warning("%s of %s left out of the work figures: %s", row, who, exc)
        skipped.append(SkippedRecord(who, f"{row}: {exc}"))
        return False
    return True


def work_log(ws: Workspace) -> tuple[list[WorkEvent], list[SkippedRecord]]:
    """The workspace's work log (annotation and skip revisions, drafts, practice tasks) and
    the stored rows left out of it."""
    store = ws.store
    names = _names(ws)
    admins = _admins(ws, names)
    practice = practice_events(ws)
    practice_tasks = {e.task for e in practice if e.task}
    practice_projects = {p.practice_project_id for p in store.annotators()} - {None}
    out: list[WorkEvent] = []
    skipped: list[SkippedRecord] = []
    for r in store.annotation_log():
        if r["ls_task_id"] in practice_tasks or not r["annotator"] or r["annotator"] in admins:
            continue
        project_id, _, record = r["external_id"].partition(":")
        who = names.get(r["annotator"], r["annotator"])
        times = {k: r[k] for k in ("updated_at", "created_at", "draft_created_at")}
        if not _usable(skipped, who, f"annotation {record}", r["lead_time"], times):
            continue
        is_practice = int(project_id) in practice_projects
        project = pay_project(ws, int(project_id))
        ended = _when(r["updated_at"]) or datetime.fromtimestamp(r["recorded_at"], timezone.utc)
        out.append(
            WorkEvent(
                who, int(r["ls_task_id"] or 0), project,
                "skip" if r["cancelled"] else "annotation", int(record), ended,
                float(r["lead_time"] or 0.0),
                created=_when(r["created_at"]), draft_created=_when(r["draft_created_at"]),
                practice=is_practice, sensitive=_sensitive(ws, int(project_id), is_practice),
                boxes=len(json.loads(r["boxes_json"])),
            )
        )  # fmt: skip
    for d in store.drafts():
        if d["ls_task_id"] in practice_tasks or d["annotator"] in admins:
            continue
        who = names.get(d["annotator"], d["annotator"])
        times = {k: d[k] for k in ("updated_at", "created_at")}
        if not _usable(skipped, who, f"draft {d['draft_id']}", d["lead_time"], times):
            continue
        is_practice = d["project_id"] in practice_projects
        project = pay_project(ws, d["project_id"])
        out.append(
            WorkEvent(
                who, int(d["ls_task_id"]), project,
                "draft", int(d["draft_id"]), _when(d["updated_at"]), float(d["lead_time"]),  # type: ignore[arg-type]
                created=_when(d["created_at"]), annotation=d["annotation_id"],
                practice=is_practice, sensitive=_sensitive(ws, d["project_id"], is_practice),
            )
        )  # fmt: skip
    return [*out, *practice], skipped


def work_events(ws: Workspace) -> list[WorkEvent]:
    """The workspace's work log: annotation and skip revisions, drafts, practice tasks (rows
    the figures cannot use left out, see :func:`work_log`)."""
    return work_log(ws)[0]


def work_sessions(ws: Workspace, events: list[WorkEvent] | None = None) -> list[Session]:
    """The working sessions of the log, cut at ``work.idle_gap_s`` and local midnight."""
    work = ws.config.work
    found = work_events(ws) if events is None else events
    return sessions(found, float(work.idle_gap_s), work.tz()) if found else []


def pay_models(ws: Workspace, projects: set[int]) -> dict[int, PayModel]:
    """The pay model of each pay project; empty when ``work.pay`` is not set."""
    if not ws.config.work.pay:
        return {}
    out = {}
    for project in sorted(projects):
        pay = ws.config.work.pay_for(project)
        if pay is None:
            raise WorkspaceError(
                f"project {project} has work but no pay model; add work.pay.default (or "
                f"work.pay.'{project}') to {ws.config_path}"
            )
        out[project] = pay.model(project)
    return out


def floors(ws: Workspace) -> dict[str, WageFloor]:
    """The living-wage floors of ``work.floors`` (none when it is not set)."""
    path = ws.config.work.floors_path(ws.root)
    if path is None:
        return {}
    if not path.is_file():
        raise WorkspaceError(f"work.floors: {path} does not exist; write the floor table there")
    try:
        return load_floors(path)
    except ValueError as exc:
        raise WorkspaceError(f"work.floors: {exc}") from None


def task_seconds(ws: Workspace, found: list[Session]) -> float:
    """The expected length of a task: ``work.task_seconds``, else the measured median."""
    if ws.config.work.task_seconds is not None:
        return float(ws.config.work.task_seconds)
    times = sorted(t for t in task_times(found) if t > 0)
    return times[len(times) // 2] if times else DEFAULT_TASK_SECONDS


@dataclass(frozen=True)
class PersonWork:
    """One person's figures; ``hours`` over the period asked, ``week`` this ISO week."""

    name: str
    tier: str
    location: str | None
    hours: Hours
    week: Hours
    tasks: int  # client tasks first submitted in the period
    skipped: int  # tasks skipped in the period
    practice_tasks: int
    pay: Pay | None  # None: no pay model configured
    wage: float | None  # effective hourly wage: pay / active hours
    floor: WageFloor | None
    workload: Workload
    room_left: int  # tasks of the expected length still to route today
    flags: list[WorkFlag] = field(default_factory=list)

    @property
    def below_floor(self) -> bool:
        return any(f.kind == "wage_below_floor" for f in self.flags)

    @property
    def capped(self) -> bool:
        return self.room_left == 0


@dataclass(frozen=True)
class TeamWork:
    """Everything fair work measures about a workspace's team (field names are stable)."""

    days: tuple[date, date] | None  # the period, inclusive (None: all time)
    now: datetime
    timezone: str
    currency: str | None
    task_seconds: float
    people: dict[str, PersonWork]
    flags: list[WorkFlag]  # wage below floor, caps reached: for the manager
    skip_signals: list[Signal]
    disagreement_signals: list[Signal]
    roi: Roi
    transparency: list[ProjectFigures]
    floors: dict[str, WageFloor]
    # what to show an annotator before a batch of ``batch_size`` tasks of the workspace's
    # project: the time it takes at the median task time so far, and the wage its pay implies
    estimate: BatchEstimate | None = None
    skipped: list[SkippedRecord] = field(default_factory=list)  # stored rows left out

    def skipped_note(self, annotator: str | None = None, shown: int = 5) -> str:
        """One line naming the stored rows left out of the figures (only ``annotator``'s,
        when given); ``""`` when there are none."""
        mine = [s.reason for s in self.skipped if annotator is None or s.annotator == annotator]
        if not mine:
            return ""
        more = f"; {len(mine) - shown} more in the log" if len(mine) > shown else ""
        plural = "" if len(mine) == 1 else "s"
        return f"{len(mine)} work record{plural} skipped: {'; '.join(mine[:shown])}{more}"

    @property
    def signals(self) -> list[Signal]:
        return [*self.skip_signals, *self.disagreement_signals]
