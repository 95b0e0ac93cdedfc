"""Workload: hours per day and week, stretches without a break, caps, sensitive content.

Hours are the active time of :mod:`.hours` (the same sessions pay is computed from). A
*stretch* is work with no gap of at least ``break_minutes`` in it. Caps stop routing: a person
at the daily or weekly cap, in a stretch as long as the cap, or (on a project tagged
sensitive) at the daily sensitive-content minutes, gets no new tasks: :func:`room_left` gives
how many tasks of the expected length still fit today, for ``routing.Person.capacity``.
Sensitive exposure is the lead time spent on tasks of sensitive projects; a person on the
opt-out list gets none of them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo

from hitl_active.workforce.flags import WorkFlag
from hitl_active.workforce.hours import Piece, Session

__all__ = ["Caps", "Workload", "cap_flags", "room_left", "stretches", "workload"]


@dataclass(frozen=True)
class Caps:
    """Limits per person; a gap of at least ``break_minutes`` is a break."""

    hours_per_day: float = 8.0
    hours_per_week: float = 40.0
    stretch_minutes: float = 120.0
    break_minutes: float = 10.0
    sensitive_minutes_per_day: float = 60.0

    def __post_init__(self) -> None:
        bad = {k: v for k, v in vars(self).items() if not (math.isfinite(v) and v > 0)}
        if bad:
            raise ValueError(f"caps must be finite numbers > 0, got {bad}")


@dataclass(frozen=True)
class Workload:
    """One person's load on ``day`` (seconds); ``current_stretch`` is the stretch still
    running at the time asked (0 after a break)."""

    annotator: str
    day: date
    day_seconds: float
    week_seconds: float
    longest_stretch: float
    current_stretch: float
    sensitive_seconds: float


def stretches(pieces: Iterable[Piece], break_minutes: float) -> list[tuple[datetime, datetime]]:
    """``(start, end)`` of each stretch of one person's pieces without a break."""
    out: list[list[datetime]] = []
    for p in sorted(pieces, key=lambda p: (p.start, p.end)):
        if out and (p.start - out[-1][1]).total_seconds() < break_minutes * 60:
            out[-1][1] = max(out[-1][1], p.end)
        else:
            out.append([p.start, p.end])
    return [(a, b) for a, b in out]


def workload(
    found: Sequence[Session],
    now: datetime,
    caps: Caps | None = None,
    tz: tzinfo = timezone.utc,
    people: Iterable[str] = (),
) -> dict[str, Workload]:
    """Each person's load on the local day of ``now`` (sessions from :func:`~.hours.sessions`
    with the same ``tz``); ``people`` adds those who have not worked yet, with no load."""
    caps = caps or Caps()
    today = now.astimezone(tz).date()
    week = today.isocalendar()[:2]
    out = {}
    for who in sorted({s.annotator for s in found} | set(people)):
        mine = [s for s in found if s.annotator == who and s.day <= today]
        day = [s for s in mine if s.day == today]
        runs = stretches([p for s in mine for p in s.pieces], caps.break_minutes)
        spans = [(b - a).total_seconds() for a, b in runs if b.astimezone(tz).date() == today]
        last = runs[-1] if runs else None
        running = last is not None and (now - last[1]).total_seconds() < caps.break_minutes * 60
        out[who] = Workload(
            annotator=who,
            day=today,
            day_seconds=sum(s.active_seconds for s in day),
            week_seconds=sum(s.active_seconds for s in mine if s.day.isocalendar()[:2] == week),
            longest_stretch=max(spans, default=0.0),
            current_stretch=(last[1] - last[0]).total_seconds() if running else 0.0,  # type: ignore[index]
            sensitive_seconds=sum(p.seconds for s in day for p in s.pieces if p.sensitive),
        )
    return out


def room_left(
    load: Workload,
    caps: Caps,
    task_seconds: float,
    *,
    sensitive: bool = False,
    opted_out: Collection[str] = (),
) -> int:
    """How many more tasks of ``task_seconds`` a person may be routed today: 0 at any cap
    (exactly at it too), in a stretch as long as the cap, or on sensitive work they opted out
    of (``opted_out``: the names on the opt-out list)."""
    if not task_seconds > 0:
        raise ValueError(f"task_seconds must be > 0, got {task_seconds}")
    if sensitive and load.annotator in opted_out:
        return 0
    if load.current_stretch >= caps.stretch_minutes * 60:
        return 0
    left = [
        caps.hours_per_day * 3600 - load.day_seconds,
        caps.hours_per_week * 3600 - load.week_seconds,
    ]
    if sensitive:
        left.append(caps.sensitive_minutes_per_day * 60 - load.sensitive_seconds)
    return max(0, math.floor(min(left) / task_seconds + 1e-9))


def cap_flags(
    loads: Mapping[str, Workload], caps: Caps, opted_out: Collection[str] = ()
) -> list[WorkFlag]:
    """Caps reached (or passed) today, and sensitive content shown to someone who opted out."""
    out = []
    for who, w in sorted(loads.items()):
        day = f"on {w.day.isoformat()}"
        checks = [
            ("hours_per_day", "hours worked today", w.day_seconds / 3600, caps.hours_per_day),
            ("hours_per_week", "hours this week", w.week_seconds / 3600, caps.hours_per_week),
            ("stretch", "longest stretch (min)", w.longest_stretch / 60, caps.stretch_minutes),
            ("sensitive", "sensitive content (min)", w.sensitive_seconds / 60,
             caps.sensitive_minutes_per_day),
        ]  # fmt: skip
        for kind, figure, value, limit in checks:
            if value >= limit:
                evidence = (f"{figure} {day}: {value:.2f}, cap {limit:.2f}",)
                look = "new tasks stop at the cap; check the queue and whether a break was taken"
                out.append(WorkFlag(who, kind, figure, value, limit, evidence, look))
        if who in opted_out and w.sensitive_seconds > 0:
            value = w.sensitive_seconds / 60
            evidence = (f"{value:.2f} minutes of sensitive content {day} after opting out",)
            look = "how sensitive tasks reached a person on the opt-out list"
            out.append(WorkFlag(who, "sensitive_opt_out", "minutes of sensitive content", value,
                                0.0, evidence, look))  # fmt: skip
    return out
