"""The team's fair-work figures (:func:`team_work`, from the work log read by
:mod:`hitl_active.team.team_work`), and the room each person has left under the caps
(:func:`room_left_today`, what routing gives as ``capacity``)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import date, datetime, timezone

from hitl_active.loop.registry import gold_map
from hitl_active.team.team_skill import answers_from_store
from hitl_active.team.team_work import (
    PersonWork,
    TeamWork,
    floors,
    pay_models,
    pay_project,
    task_seconds,
    work_log,
    work_sessions,
)  # fmt: skip
from hitl_active.workforce.hours import Hours, Session
from hitl_active.workforce.pay import (
    BatchEstimate,
    Pay,
    PayModel,
    batch_estimate,
    pay_for_period,
    task_times,
    wage_flags,
)  # fmt: skip
from hitl_active.workforce.roi import Roi, roi
from hitl_active.workforce.signals import Signal, disagreement_signals, skip_signals
from hitl_active.workforce.transparency import transparency
from hitl_active.workforce.workload import Caps, Workload, cap_flags, room_left, workload
from hitl_active.workforce.worklog import WorkEvent, latest_versions
from hitl_active.workspace.config import WorkspaceError
from hitl_active.workspace.workspace import Workspace

__all__ = ["build", "capacities", "room_left_today", "team_work"]

logger = logging.getLogger(__name__)


def _opted_out(ws: Workspace) -> set[str]:
    return {p.name for p in ws.store.annotators() if p.sensitive_opt_out}


def room_left_today(
    ws: Workspace, now: datetime, found: list[Session] | None = None
) -> dict[str, tuple[int, Workload, str | None]]:
    """Per annotator: tasks of the expected length that still fit today under the caps, their
    load, and why they have none (``None`` when they have room)."""
    found = work_sessions(ws) if found is None else found
    work = ws.config.work
    caps, tz = work.caps.caps(), work.tz()
    people = [p.name for p in ws.store.annotators()]
    loads = workload(found, now, caps, tz, people=people)
    seconds = task_seconds(ws, found)
    out_ = _opted_out(ws)
    out: dict[str, tuple[int, Workload, str | None]] = {}
    for who in people:
        w = loads[who]
        n = room_left(w, caps, seconds, sensitive=work.sensitive, opted_out=out_)
        out[who] = (n, w, None if n else _why(w, caps, seconds, who in out_ and work.sensitive))
    return out


def _with_honeypots(tasks: int, share: float) -> int:
    """Tasks plus the honeypots routing adds to a queue of ``tasks``
    (:func:`hitl_active.workforce.routing.plan_round`)."""
    if tasks == 0 or share <= 0:
        return tasks
    return tasks + max(1, round(tasks * share / (1 - share)))


def capacities(ws: Workspace, honeypot_share: float, now: datetime | None = None) -> dict[str, int]:
    """Per annotator, how many frames routing may give them this round: the most that fit,
    with the honeypots added to them, in the room left today under the caps (0 at a cap).
    Who is capped, and why, is logged."""
    out = {}
    for who, (room, _, why) in room_left_today(ws, now or datetime.now(timezone.utc)).items():
        n = room
        while n > 0 and _with_honeypots(n, honeypot_share) > room:
            n -= 1
        out[who] = n
        if n == 0:
            logger.info("%s gets no tasks this round: %s", who, why or "room for one task only")
    return out


def _why(w: Workload, caps: Caps, seconds: float, opted_out: bool) -> str:
    """Which cap leaves no room for another task of ``seconds``."""
    if opted_out:
        return "opted out of sensitive content"
    if w.current_stretch >= caps.stretch_minutes * 60:
        return f"{w.current_stretch / 60:.0f} min without a break (cap {caps.stretch_minutes:g})"
    left = {
        f"{w.day_seconds / 3600:.2f} h today (cap {caps.hours_per_day:g})":
            caps.hours_per_day * 3600 - w.day_seconds,
        f"{w.week_seconds / 3600:.2f} h this week (cap {caps.hours_per_week:g})":
            caps.hours_per_week * 3600 - w.week_seconds,
    }  # fmt: skip
    if w.sensitive_seconds > 0:
        key = f"{w.sensitive_seconds / 60:.0f} sensitive min today"
        left[f"{key} (cap {caps.sensitive_minutes_per_day:g})"] = (
            caps.sensitive_minutes_per_day * 60 - w.sensitive_seconds
        )
    return min(left, key=lambda k: left[k])


def _in(day: date, days: tuple[date, date] | None) -> bool:
    return days is None or days[0] <= day <= days[1]


def _counts(events: list[WorkEvent], tz, days) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """Per person: client tasks, skips and practice tasks first submitted in the period."""
    first: dict[tuple[str, int], datetime] = {}
    for e in events:
        if e.kind != "draft":
            key = (e.annotator, e.record)
            first[key] = min(first.get(key, e.ended), e.ended)
    out: dict[str, list[int]] = {}
    for e in latest_versions(events):
        if not _in(first[(e.annotator, e.record)].astimezone(tz).date(), days):
            continue
        n = out.setdefault(e.annotator, [0, 0, 0])
        n[2 if e.practice else 1 if e.kind == "skip" else 0] += 1
    return out


def _task_classes(ws: Workspace) -> dict[int, tuple[int, ...]]:
    """The classes each Label Studio task showed (its pre-label above the threshold)."""
    store, out = ws.store, {}
    versions = {t.ls_task_id: t.prediction_model_version for t in store.tasks()}
    pairs = [(t.ls_task_id, t.image_id) for t in store.tasks() if t.ls_task_id is not None]
    for r in store.rounds():
        pairs += [(a.ls_task_id, a.image_id) for a in store.assignments(round_id=r.id)
                  if a.ls_task_id is not None]  # fmt: skip
        for a in store.assignments(round_id=r.id):
            versions.setdefault(a.ls_task_id, r.model_version)
    for task, image in pairs:
        version = versions.get(task)
        dets = None if version is None else store.prediction(version, image)
        if dets is not None:
            shown = dets.above(ws.config.conf_threshold)
            out[int(task)] = tuple(sorted({int(c) for c in shown.class_id}))
    return out


def _signals(ws: Workspace, events: list[WorkEvent]) -> tuple[list[Signal], list[Signal]]:

    names = dict(enumerate(ws.config.classes))
    skips = skip_signals(events, _task_classes(ws), names)
    return skips, disagreement_signals(answers_from_store(ws), class_names=names)


def _roi(ws: Workspace, found: list[Session], pays: Mapping[str, Pay],
         provenance: Mapping[str, int] | None, human: Collection[str]) -> Roi:  # fmt: skip

    curve = []
    for v in sorted(ws.store.model_versions(), key=lambda v: v.created_at):
        m = gold_map(v)
        if m is not None:
            spent = sum(s.active_seconds for s in found if s.end.timestamp() <= v.created_at)
            curve.append((spent / 3600, m))
    currencies = sorted({p.currency for p in pays.values() if p.currency})
    if len(currencies) > 1:
        logger.warning("pay in %s: the ROI's cost counts %s only", currencies, currencies[0])
    currency = currencies[0] if currencies else ""
    cost = sum(p.amount for p in pays.values() if p.currency == currency)
    return roi(curve, cost, currency, dict(provenance or {}), human)


def _estimate(ws: Workspace, found: list[Session], events: list[WorkEvent],
              models: Mapping[int, PayModel]) -> BatchEstimate | None:  # fmt: skip
    """A batch of the workspace's project at the median task time measured so far (the
    tasks done are its pilot), and the wage its pay implies."""
    model = models.get(pay_project(ws, ws.config.label_studio_project))
    if model is None:
        return None
    times = [t for t in task_times(found, model.project) if t > 0]
    if not times:
        return None
    done = [e for e in latest_versions(events) if e.kind == "annotation" and not e.practice]
    boxes = [e.boxes for e in done if e.project == model.project]
    return batch_estimate(model, times, ws.config.round_size, boxes)


def build(
    ws: Workspace, days: tuple[date, date] | None, now: datetime,
    provenance: Mapping[str, int] | None, human: Collection[str],
) -> TeamWork:  # fmt: skip
    work = ws.config.work
    tz = work.tz()
    events, skipped = work_log(ws)
    found = work_sessions(ws, events)
    models = pay_models(ws, {e.project for e in events})
    try:
        pays_all = pay_for_period(found, events, models, None, tz) if models else {}
        pays = pay_for_period(found, events, models, days, tz) if models else {}
        table = floors(ws)
        rows = {p.name: p for p in ws.store.annotators()}
        locations = {n: p.location for n, p in rows.items() if p.location}
        flags = wage_flags(pays, table, locations) if table else []
    except ValueError as exc:
        raise WorkspaceError(f"fair work: {exc}") from None
    rooms = room_left_today(ws, now, found)
    loads = {who: w for who, (_, w, _) in rooms.items()}
    flags += cap_flags(loads, work.caps.caps(), _opted_out(ws))
    week = now.astimezone(tz).date().isocalendar()[:2]
    counts = _counts(events, tz, days)
    people = {}
    for who in sorted(set(rows) | {s.annotator for s in found}):
        mine = [s for s in found if s.annotator == who]
        period = sum((s.hours() for s in mine if _in(s.day, days)), Hours())
        this_week = sum((s.hours() for s in mine if s.day.isocalendar()[:2] == week), Hours())
        row = rows.get(who)
        location = row.location if row is not None else None
        pay = pays.get(who)
        if who in rooms:
            n, load, _ = rooms[who]
        else:  # someone in the log without a record: no room is routed to them
            n, load = 0, workload(mine, now, work.caps.caps(), tz, people=[who])[who]
        people[who] = PersonWork(
            who, row.tier if row else "unknown", location, period, this_week,
            *counts.get(who, [0, 0, 0]), pay, None if pay is None else pay.effective_wage,
            table.get(location or ""), load, n, [f for f in flags if f.annotator == who],
        )  # fmt: skip
    skips, disagreements = _signals(ws, events)
    currencies = {p.currency for p in pays_all.values() if p.currency}
    return TeamWork(
        days, now, work.timezone, currencies.pop() if len(currencies) == 1 else None,
        task_seconds(ws, found), people, flags, skips, disagreements,
        _roi(ws, found, pays_all, provenance, human), transparency(pays), table,
        _estimate(ws, found, events, models), skipped,
    )  # fmt: skip


def team_work(
    ws: Workspace,
    days: tuple[date, date] | None = None,
    now: datetime | None = None,
    provenance: Mapping[str, int] | None = None,
    human_sources: Collection[str] = (),
) -> TeamWork:
    """The team's fair-work figures for ``days`` (inclusive, local dates; ``None``: all
    time) as of ``now`` (default: the current time). ``provenance`` counts the delivered
    dataset's boxes per source and ``human_sources`` names the sources a person drew,
    corrected or confirmed, for the ROI's cost per accepted box and human-verified share
    (:func:`hitl_active.cli.work.delivered_sources` reads both from the delivery module);
    without them those two figures are ``None``."""
    return build(ws, days, now or datetime.now(timezone.utc), provenance, human_sources)
