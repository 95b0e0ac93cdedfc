"""Fair-work figures as the pages show them: hours, pay and the wage against the floor,
workload left under the caps, flags, signals about the task design, ROI and the transparency
report.

The figures are the workspace's (:func:`hitl_active.team.team_work_figures.team_work`, a
:class:`~hitl_active.team.team_work.TeamWork`); this module turns them into the plain values
that ``templates/pages/fairwork.html`` lays out, with the note naming any stored row the
figures left out (:func:`~hitl_active.server.pages.report.skipped_note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hitl_active.i18n import money
from hitl_active.server.pages import charts
from hitl_active.server.pages.report import skipped_note, transparency_cells
from hitl_active.team.team_work import work_sessions
from hitl_active.workforce.hours import hours_per_day

__all__ = ["Bar", "annotator_work", "bar", "manager_work"]

GOOD = "#3f9d5a"
BAD = "#d05a4a"


@dataclass(frozen=True)
class Bar:
    """A meter's bar in the SVG's units (0 to 100): its ``width``, the ``mark`` of the limit,
    and its ``colour`` (green on the good side of the limit, red on the other)."""

    width: str
    mark: str
    colour: str


def bar(value: float, limit: float, good_above: bool = True) -> Bar:
    """``value`` against a marked ``limit``, with room to spare beyond the larger of them."""
    top = max(value, limit, 1e-9) * 1.15
    good = value >= limit if good_above else value <= limit
    return Bar(f"{100.0 * value / top:.2f}", f"{100.0 * limit / top:.2f}", GOOD if good else BAD)


def _week_days(ws: Any, work: Any, name: str) -> list[tuple[str, dict[str, float]]]:
    """This ISO week's days (up to today) with the person's seconds per part."""
    today = work.now.astimezone(ws.config.work.tz()).date()
    mine = hours_per_day(s for s in work_sessions(ws) if s.annotator == name).get(name, {})
    out = []
    for k in range(today.isoweekday()):
        day = today - timedelta(days=today.isoweekday() - 1 - k)
        h = mine.get(day)
        parts = {} if h is None else {p: getattr(h, p) for p, _, _ in charts.PARTS}
        out.append((day.strftime("%a %d"), parts))
    return out


def _pay(p: Any) -> dict | None:
    """What the person was paid, for how many active hours, and their wage against the floor
    of their location (``floor``: ``None`` without a wage or a floor); ``None`` without a pay
    model."""
    if p.pay is None:
        return None
    parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(p.pay.parts.items())) or "nothing yet"
    floor = None
    if p.wage is not None and p.floor is not None:
        f = p.floor
        floor = {
            "wage": p.wage,
            "hourly": f.hourly,
            "currency": f.currency,
            "location": f.location,
            "source": f.source,
            "date": f.date,
            "bar": bar(p.wage, f.hourly),
        }
    return {
        "amount": p.pay.amount,
        "currency": p.pay.currency,
        "parts": parts,
        "hours": p.pay.active_seconds / 3600,
        "floor": floor,
    }


def annotator_work(ws: Any, work: Any, person: Any) -> dict:
    """The person's hours this week, effective wage against the floor and workload left today
    (``figures``: ``None`` while no working time of theirs is recorded), with ``skipped``, the
    note on their stored rows left out."""
    p = None if work is None else work.people.get(person.name)
    note = skipped_note(work, person.name)
    if p is None or (p.hours.active == 0 and p.week.active == 0):
        return {"figures": None, "skipped": note}
    caps = ws.config.work.caps
    compared = p.floor is not None and p.wage is not None
    wage_state = ("bad" if p.wage < p.floor.hourly else "ok") if compared else ""
    w = p.workload
    day_hours = w.day_seconds / 3600
    days = _week_days(ws, work, person.name)
    figures = {
        "week_hours": p.week.active / 3600,
        "wage": p.wage,
        "currency": p.pay.currency if p.pay else None,
        "wage_state": wage_state,
        "room_left": p.room_left,
        "room_state": "bad" if p.room_left == 0 else "",
        "beside": p.week.invisible_share,
        "chart": charts.hours_chart(days, "Your active hours this week, by day and part"),
        "pay": _pay(p),
        "day_hours": day_hours,
        "cap": float(caps.hours_per_day),
        "task_seconds": round(work.task_seconds),
        "load": bar(day_hours, float(caps.hours_per_day), good_above=False),
        "flags": [f.message() for f in p.flags],
    }
    return {"figures": figures, "skipped": note}


def _people(work: Any) -> list[list[Any]]:
    rows = []
    for p in work.people.values():
        floor = "–" if p.floor is None else f"{p.floor.hourly:.2f} ({p.floor.location})"
        rows.append(
            [
                p.name,
                p.tier,
                f"{p.week.active / 3600:.2f}",
                f"{p.week.invisible_share:.0%}",
                p.tasks,
                p.skipped,
                p.practice_tasks,
                money(p.pay.amount if p.pay else None, p.pay.currency if p.pay else None),
                money(p.wage, None),
                floor,
                p.room_left,
                len(p.flags),
            ]
        )
    return rows


def _roi(work: Any) -> dict | None:
    r = work.roi
    if r is None:
        return None
    box = r.cost_per_accepted_box
    share = r.human_verified_share
    return {
        "hours_per_point": "–" if r.hours_per_point is None else f"{r.hours_per_point:.2f}",
        "cost": money(r.cost, r.currency),
        "per_box": "–" if box is None else money(box, r.currency),
        "human_share": "–" if share is None else f"{share:.0%}",
    }


def manager_work(work: Any) -> dict:
    """The team's hours, pay and workload (``people``: a row per person, ``None`` while no
    working time is recorded), fair-work flags, signals about the task design, the ROI and
    the transparency report's rows, with ``skipped``, the note on stored rows left out."""
    note = skipped_note(work)
    if work is None or not work.people:
        return {"people": None, "skipped": note}
    return {
        "people": _people(work),
        "skipped": note,
        "flags": [f.message() for f in work.flags],
        "signals": [s.message for s in work.signals],
        "roi": _roi(work),
        "transparency": transparency_cells(work),
    }
