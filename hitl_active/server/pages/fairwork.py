"""Fair-work sections of the pages: hours, pay and the wage against the floor, workload left
under the caps, flags, signals about the task design, ROI and the transparency report.

The figures are the workspace's (:func:`hitl_active.team.team_work_figures.team_work`, a
:class:`~hitl_active.team.team_work.TeamWork`); this module only lays them out, with a note
naming any stored row the figures left out (:func:`skipped`).
"""

from __future__ import annotations

from typing import Any

from hitl_active.server.pages import charts
from hitl_active.server.pages.html import card, cards, esc, meter, png_img, section, table

__all__ = ["annotator_work_sections", "manager_work_sections", "skipped"]

NO_WORK = (
    '<p class="note">No working time recorded yet: hours and pay appear once '
    "annotations with their times are recorded.</p>"
)


def skipped(work: Any, annotator: str | None = None) -> str:
    """The note naming the stored rows left out of the figures (``annotator``'s only, when
    given); ``""`` when none were."""
    note = "" if work is None else work.skipped_note(annotator)
    return f'<div class="flag">{esc(note)}</div>' if note else ""


def _money(value: float | None, currency: str | None) -> str:
    return "–" if value is None else f"{value:.2f} {currency or ''}".strip()


def _week_days(ws: Any, work: Any, name: str) -> list[tuple[str, dict[str, float]]]:
    """This ISO week's days (up to today) with the person's seconds per part."""
    from datetime import timedelta

    from hitl_active.team.team_work import work_sessions
    from hitl_active.workforce.hours import hours_per_day

    today = work.now.astimezone(ws.config.work.tz()).date()
    mine = hours_per_day(s for s in work_sessions(ws) if s.annotator == name).get(name, {})
    out = []
    for k in range(today.isoweekday()):
        day = today - timedelta(days=today.isoweekday() - 1 - k)
        h = mine.get(day)
        parts = {} if h is None else {p: getattr(h, p) for p, _, _ in charts.PARTS}
        out.append((day.strftime("%a %d"), parts))
    return out


def _wage(p: Any, currency: str | None) -> str:
    if p.pay is None:
        return '<p class="note">No pay model is set for this workspace yet.</p>'
    parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(p.pay.parts.items())) or "nothing yet"
    lines = [
        f"<p>Paid {esc(_money(p.pay.amount, p.pay.currency))} ({esc(parts)}) for "
        f"{p.pay.active_seconds / 3600:.2f} active hours.</p>"
    ]
    if p.wage is not None and p.floor is not None:
        f = p.floor
        label = (
            f"your effective wage {p.wage:.2f} {f.currency}/h; the line: the living-wage "
            f"floor {f.hourly:.2f} {f.currency}/h in {f.location} ({f.source}, {f.date})"
        )
        lines.append(meter(p.wage, f.hourly, label))
    return "".join(lines)


def annotator_work_sections(ws: Any, work: Any, person: Any) -> list[str]:
    """Hours this week, effective wage against the floor, workload left today."""
    p = None if work is None else work.people.get(person.name)
    if p is None or (p.hours.active == 0 and p.week.active == 0):
        return [section("Your hours and pay", NO_WORK, skipped(work, person.name), id="work")]
    caps = ws.config.work.caps
    below = p.floor is not None and p.wage is not None and p.wage < p.floor.hourly
    glance = cards(
        [
            card("hours this week", f"{p.week.active / 3600:.2f}"),
            card(
                "effective wage / hour",
                _money(p.wage, p.pay.currency if p.pay else None),
                "bad" if below else "ok" if p.floor is not None and p.wage is not None else "",
            ),
            card("tasks left today", str(p.room_left), "bad" if p.room_left == 0 else ""),
            card("paid time beside client tasks", f"{p.week.invisible_share:.0%}"),
        ]
    )
    days = _week_days(ws, work, person.name)
    chart = png_img(
        charts.hours_chart(days, "Your active hours this week, by day and part"),
        "your hours this week",
    )
    w = p.workload
    load = meter(
        w.day_seconds / 3600,
        float(caps.hours_per_day),
        f"{w.day_seconds / 3600:.2f} h worked today; the line: the cap of "
        f"{caps.hours_per_day:g} h. About {p.room_left} more tasks of "
        f"{work.task_seconds:.0f} s fit today.",
        good_above=False,
    )
    notes = [f'<div class="flag">{esc(f.message())}</div>' for f in p.flags]
    return [
        section(
            "Your hours and pay",
            glance,
            chart,
            '<p class="note">Every active minute counts: tasks, practice, skipped tasks and '
            "the time between them.</p>",
            _wage(p, work.currency),
            skipped(work, person.name),
            id="work",
        ),
        section("Your workload today", load, *notes, id="workload"),
    ]


def _people(work: Any) -> str:
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
                _money(p.pay.amount if p.pay else None, p.pay.currency if p.pay else None),
                _money(p.wage, None),
                floor,
                p.room_left,
                len(p.flags),
            ]
        )
    head = [
        "annotator",
        "tier",
        "hours this week",
        "beside client tasks",
        "tasks",
        "skipped",
        "practice",
        "pay",
        "wage / h",
        "floor / h",
        "tasks left today",
        "flags",
    ]
    return table(head, rows)


def _roi(work: Any) -> str:
    r = work.roi
    if r is None:
        return "<p>No model version evaluated on gold yet.</p>"
    per = "–" if r.hours_per_point is None else f"{r.hours_per_point:.2f}"
    box = r.cost_per_accepted_box
    share = r.human_verified_share
    return cards(
        [
            card("annotator-hours per mAP point", per),
            card("paid so far", _money(r.cost, r.currency)),
            card("cost per accepted box", "–" if box is None else _money(box, r.currency)),
            card("boxes verified by people", "–" if share is None else f"{share:.0%}"),
        ]
    )


def manager_work_sections(ws: Any, work: Any) -> list[str]:
    from hitl_active.server.pages.report import transparency_table

    if work is None or not work.people:
        return [section("Hours, pay and workload", NO_WORK, skipped(work), id="work")]
    flags = [f'<div class="flag">{esc(f.message())}</div>' for f in work.flags]
    signals = [f'<div class="tip">{esc(s.message)}</div>' for s in work.signals]
    links = (
        '<p><a href="manager/transparency.csv">CSV</a> · '
        '<a href="manager/transparency.html">HTML page</a></p>'
    )
    return [
        section("Hours, pay and workload", _people(work), skipped(work), id="work"),
        section(
            "Fair-work flags",
            *(
                flags
                or ["<p>None: every wage is at or above its floor and nobody reached a cap.</p>"]
            ),
            id="work-flags",
        ),
        section(
            "Signals about the task design",
            '<p class="note">About instructions and classes, never about a person.</p>',
            *(signals or ["<p>None.</p>"]),
            id="signals",
        ),
        section("Return on the annotation hours", _roi(work), id="roi"),
        section("Transparency report", transparency_table(work), links, id="transparency"),
    ]
