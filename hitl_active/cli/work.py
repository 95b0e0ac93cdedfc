"""``hitl-active work``: fair work of the team, per person and per project.

A table per person (active hours, the invisible share of them, tasks, practice hours, skips,
pay, effective hourly wage against the floor of their location, room left today under the
caps, flags), the signals about the task design, the client's ROI, and the transparency
report per project (``--csv`` / ``--html`` export it). ``--week`` is this ISO week,
``--from``/``--to`` any period (local dates, inclusive); without them, all time. Stored rows
the figures cannot use (an impossible time or lead time) are left out and named first.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hitl_active.cli.errors import CLIError

__all__ = ["delivered_sources", "register"]


def _error(message: str) -> Exception:
    return CLIError(message)


def _day(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _error(f"{flag} {value!r} is not a date; write YYYY-MM-DD") from None


def _period(args: argparse.Namespace, today: date) -> tuple[date, date] | None:
    if args.week and (args.date_from or args.date_to):
        raise _error("--week and --from/--to both name a period; pass one of them")
    if args.week:
        monday = today - timedelta(days=today.weekday())
        return monday, monday + timedelta(days=6)
    if not (args.date_from or args.date_to):
        return None
    lo = _day(args.date_from, "--from") if args.date_from else date.min
    hi = _day(args.date_to, "--to") if args.date_to else today
    if lo > hi:
        raise _error(f"--from {lo} is after --to {hi}; swap them")
    return lo, hi


def delivered_sources(ws: Any) -> tuple[dict[str, int], tuple[str, ...]]:
    """Delivered boxes per provenance source, and the sources that are a person's work."""
    from hitl_active.delivery.export import HUMAN_SOURCES, collect_labels, dataset_card

    return dataset_card(ws, collect_labels(ws))["boxes_per_source"], HUMAN_SOURCES


def _money(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _people(work: Any) -> list[str]:
    head = (f"{'person':<14} {'tier':<9} {'active h':>8} {'invisible':>9} {'tasks':>5} "
            f"{'practice h':>10} {'skipped':>7} {'pay':>8} {'wage/h':>7} {'floor/h':>7} "
            f"{'room':>4}  flags")  # fmt: skip
    lines = [head, "-" * len(head)]
    for p in work.people.values():
        h = p.hours
        flags = ", ".join(sorted({f.kind for f in p.flags})) or "-"
        pay = None if p.pay is None else p.pay.amount
        lines.append(
            f"{p.name[:14]:<14} {p.tier[:9]:<9} {h.active / 3600:>8.2f} "
            f"{h.invisible_share:>9.0%} {p.tasks:>5} {h.practice / 3600:>10.2f} "
            f"{p.skipped:>7} {_money(pay):>8} {_money(p.wage):>7} "
            f"{_money(None if p.floor is None else p.floor.hourly):>7} {p.room_left:>4}  {flags}"
        )
    return lines


def _roi_line(work: Any) -> str:
    r = work.roi
    cur = r.currency or ""
    if r.hours_per_point is not None:
        per_point = f"{r.hours_per_point:.2f} annotator-hours per gold mAP point"
    elif r.steps:
        per_point = "no gold mAP gained yet"
    else:
        per_point = "hours per gold mAP point after two evaluated model versions"
    box, share = r.cost_per_accepted_box, r.human_verified_share
    return (
        f"ROI: {per_point}; pay to date {r.cost:.2f} {cur}; cost per accepted box "
        f"{_money(box)} {cur}; human-verified share of delivered boxes "
        f"{'-' if share is None else f'{share:.0%}'}"
    )


def _rows(work: Any) -> list[dict[str, Any]]:
    return [r.to_dict() for r in work.transparency]


def _transparency(work: Any) -> list[str]:
    lines = [f"{'project':>8} {'people':>6} {'hours':>7} {'pay':>9} {'wage/h':>7} "
             f"{'lowest/h':>8} {'training paid':>13}"]  # fmt: skip
    for r in work.transparency:
        lines.append(
            f"{r.project:>8} {r.people:>6} {r.hours:>7.2f} {r.pay:>9.2f} {_money(r.wage):>7} "
            f"{_money(r.lowest_wage):>8} {r.training_paid:>13.2f}  {r.currency}"
        )
    return lines


def _json(work: Any) -> dict[str, Any]:
    def person(p: Any) -> dict[str, Any]:
        return {
            "tier": p.tier, "location": p.location,
            "hours": {**asdict(p.hours), "invisible_share": p.hours.invisible_share},
            "week_hours": p.week.active / 3600, "tasks": p.tasks, "skipped": p.skipped,
            "practice_tasks": p.practice_tasks,
            "pay": None if p.pay is None else {"amount": p.pay.amount, "parts": p.pay.parts,
                                               "currency": p.pay.currency},
            "wage": p.wage, "floor": None if p.floor is None else asdict(p.floor),
            "today_seconds": p.workload.day_seconds, "room_left": p.room_left,
            "flags": [f.message() for f in p.flags],
        }  # fmt: skip

    r = work.roi
    return {
        "days": None if work.days is None else [str(d) for d in work.days],
        "now": work.now.isoformat(), "timezone": work.timezone, "currency": work.currency,
        "task_seconds": work.task_seconds,
        "people": {name: person(p) for name, p in work.people.items()},
        "signals": [s.message for s in work.signals],
        "roi": {"hours": r.hours, "hours_per_map_point": r.hours_per_point, "cost": r.cost,
                "currency": r.currency, "cost_per_accepted_box": r.cost_per_accepted_box,
                "human_verified_share": r.human_verified_share},
        "transparency": _rows(work),
        "estimate": None if work.estimate is None else asdict(work.estimate),
        "skipped": [s.reason for s in work.skipped],
    }  # fmt: skip


def _work(args: argparse.Namespace) -> int:
    from hitl_active.cli.loop import _open
    from hitl_active.server.pages.report import transparency_csv, transparency_html
    from hitl_active.team.team_work_figures import team_work

    now = datetime.now(timezone.utc)
    with _open(args) as ws:
        days = _period(args, now.astimezone(ws.config.work.tz()).date())
        boxes, human = delivered_sources(ws)
        work = team_work(ws, days, now, boxes, human)
        if args.csv:  # the same exports as the manager's page
            Path(args.csv).write_text(transparency_csv(work), encoding="utf-8")
        if args.html:
            Path(args.html).write_text(transparency_html(ws, work), encoding="utf-8")
    period = "all time" if days is None else f"{days[0]} to {days[1]}"
    if work.skipped and not args.json:
        print(work.skipped_note(shown=len(work.skipped)))
    if args.json:
        print(json.dumps(_json(work), indent=2))
        return 0
    if not work.people:
        print("no annotators and no recorded work yet")
        return 0
    print(f"fair work, {period} ({work.timezone}); today's room in tasks of "
          f"{work.task_seconds:.0f} s")  # fmt: skip
    print("\n".join(_people(work)))
    print("\nflags (for the manager to act on pay or load; never a penalty):")
    print("\n".join(f"  {f.message()}" for f in work.flags) or "  none")
    print("\nsignals about the task design (never about a person):")
    print("\n".join(f"  {s.message}" for s in work.signals) or "  none")
    print(f"\n{_roi_line(work)}")
    if work.estimate is not None:
        print(f"before a batch (shown to the annotator): {work.estimate.message()}")
    print(f"\ntransparency report, {period}:")
    print("\n".join(_transparency(work)))
    for path in (args.csv, args.html):
        if path:
            print(f"wrote {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "work",
        help="fair work: hours, pay against living-wage floors, caps, signals, ROI",
        description="Per person and per project; without a period, all time.",
    )
    p.add_argument("-w", "--workspace", default=".", help="workspace folder (default: .)")
    p.add_argument("--week", action="store_true", help="this ISO week (Monday to Sunday)")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day (default: today)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--csv", metavar="OUT", help="write the transparency report as CSV")
    p.add_argument("--html", metavar="OUT", help="write the transparency report as HTML")
    p.set_defaults(func=_work)
