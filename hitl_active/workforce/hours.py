"""Working time, honestly counted: active time per annotator from Label Studio's records.

Label Studio measures ``lead_time`` in the browser per annotation and per draft; the time
between tasks (loading the next one, reading instructions) is in no record. Here records
become *pieces* of work (when, how long, on what), pieces become *sessions* (cut at idle gaps,
default 5 min, and at local midnight), and a session's active time runs from the start of its
first piece to the end of its last, never less than the lead time inside it. The part of it
that is not lead time on submitted client tasks (time between tasks, practice, skipped tasks,
unsubmitted drafts) is the invisible share, shown apart.

Traps in the records, each handled in one place (:func:`work_pieces`):

- ``lead_time`` is cumulative per annotation: a task reopened and updated later carries the
  old time plus the new, so each stored version counts only its increment (no interval twice).
- A draft's ``lead_time`` is already inside the annotation it becomes (or the update it feeds;
  Label Studio PR #6406): it is counted once, at the draft's own time, and taken out of the
  annotation's increment.
- A skipped task (``was_cancelled``) is work: its lead time counts, under "skipped".
- ``created_at`` and ``draft_created_at`` show the person was there then: they join a session
  (zero-length marks) when within the idle gap, and add no time on their own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from hitl_active.workforce.worklog import WorkEvent

__all__ = [
    "Hours", "Piece", "Session", "hours_per_day", "hours_per_week", "sessions", "total_hours",
    "work_pieces",
]  # fmt: skip

logger = logging.getLogger(__name__)

IDLE_GAP_S = 300.0


@dataclass(frozen=True)
class Piece:
    """A stretch of recorded work; ``seconds`` of lead time inside ``[start, end]``.

    ``kind`` is ``"annotation"``, ``"skip"``, ``"draft"`` (not submitted) or ``"mark"``.
    """

    annotator: str
    task: int
    project: int
    kind: str
    start: datetime
    end: datetime
    seconds: float
    practice: bool = False
    sensitive: bool = False

    @property
    def category(self) -> str:
        if self.practice:
            return "practice"
        return {"annotation": "tasks", "skip": "skipped", "draft": "drafts"}.get(self.kind, "")


@dataclass(frozen=True)
class Hours:
    """Active seconds and their parts: lead time on client tasks, practice, skipped tasks,
    unsubmitted drafts, and the time between them (``active`` is the sum of the parts)."""

    active: float = 0.0
    tasks: float = 0.0
    practice: float = 0.0
    skipped: float = 0.0
    drafts: float = 0.0
    between: float = 0.0

    @property
    def invisible(self) -> float:
        """Active time that is not lead time on submitted client tasks."""
        return self.active - self.tasks

    @property
    def invisible_share(self) -> float:
        return self.invisible / self.active if self.active > 0 else 0.0

    def __add__(self, other: Hours) -> Hours:
        return Hours(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class Session:
    """Pieces of one annotator on one local day with no idle gap longer than the limit."""

    annotator: str
    day: date
    pieces: tuple[Piece, ...] = field(repr=False)

    @property
    def start(self) -> datetime:
        return min(p.start for p in self.pieces)

    @property
    def end(self) -> datetime:
        return max(p.end for p in self.pieces)

    @property
    def lead_seconds(self) -> float:
        return sum(p.seconds for p in self.pieces)

    @property
    def active_seconds(self) -> float:
        return max((self.end - self.start).total_seconds(), self.lead_seconds)

    def hours(self) -> Hours:
        parts = {"tasks": 0.0, "practice": 0.0, "skipped": 0.0, "drafts": 0.0}
        for p in self.pieces:
            if p.category:
                parts[p.category] += p.seconds
        active = self.active_seconds
        return Hours(active=active, between=active - self.lead_seconds, **parts)

    def shares(self) -> list[tuple[Piece, float]]:
        """The session's active time split over its pieces in proportion to their lead time
        (evenly when it has none): what time-based pay attributes to each piece."""
        lead, n, active = self.lead_seconds, len(self.pieces), self.active_seconds
        return [(p, active * (p.seconds / lead if lead > 0 else 1 / n)) for p in self.pieces]


def _piece(e: WorkEvent, kind: str, end: datetime, seconds: float) -> Piece:
    start = end - timedelta(seconds=seconds)
    return Piece(e.annotator, e.task, e.project, kind, start, end, seconds, e.practice, e.sensitive)


def _chain(versions: list[WorkEvent], drafts: list[WorkEvent]) -> list[Piece]:
    """Pieces of one annotation: each version's lead-time increment, its drafts inside it."""
    out: list[Piece] = []
    prev_lead = 0.0
    pending = sorted(drafts, key=lambda d: d.ended)
    for v in versions:
        inc = v.lead_time - prev_lead
        if inc < 0:
            logger.warning("%s %d: lead_time went down; counting it as new", v.kind, v.record)
            inc = v.lead_time
        fed = [d for d in pending if d.ended <= v.ended]  # drafts saved since the last version
        pending = [d for d in pending if d not in fed]
        in_drafts = sum(d.lead_time for d in fed)
        scale = min(1.0, inc / in_drafts) if in_drafts > 0 else 1.0
        flags = {"practice": v.practice, "sensitive": v.sensitive}  # the task's, as submitted
        out += [replace(_piece(d, v.kind, d.ended, d.lead_time * scale), **flags) for d in fed]
        out.append(_piece(v, v.kind, v.ended, max(0.0, inc - in_drafts)))
        for t in (v.created, v.draft_created):
            if t is not None and t != v.ended:
                out.append(_piece(v, "mark", t, 0.0))
        prev_lead = v.lead_time
    out += [_piece(d, "draft", d.ended, d.lead_time) for d in pending]
    return out


def work_pieces(events: Iterable[WorkEvent]) -> list[Piece]:
    """Pieces of work from stored records, each second of lead time counted once."""
    events = list(events)
    drafts: dict[tuple[str, int], WorkEvent] = {}
    for e in events:
        if e.kind == "draft":
            key = (e.annotator, e.record)
            if key not in drafts or e.ended >= drafts[key].ended:
                drafts[key] = e  # a draft's lead_time is its running total: keep the latest
    chains: dict[tuple[str, int], list[WorkEvent]] = {}
    for e in sorted((e for e in events if e.kind != "draft"), key=lambda e: e.ended):
        chain = chains.setdefault((e.annotator, e.record), [])
        if not chain or (e.ended, e.lead_time) != (chain[-1].ended, chain[-1].lead_time):
            chain.append(e)
    out: list[Piece] = []
    used: set[tuple[str, int]] = set()
    for (who, record), versions in chains.items():
        first = versions[0]
        mine = [
            d for d in drafts.values()
            if d.annotator == who and (d.annotation == record or (
                d.annotation is None and d.task == first.task
                and d.created is not None and d.created == first.draft_created))
        ]  # fmt: skip
        used |= {(d.annotator, d.record) for d in mine}
        out += _chain(versions, mine)
    for key, d in drafts.items():
        if key not in used:
            out.append(_piece(d, "draft", d.ended, d.lead_time))
            if d.created is not None and d.created < d.ended - timedelta(seconds=d.lead_time):
                out.append(_piece(d, "mark", d.created, 0.0))
    return sorted(out, key=lambda p: (p.annotator, p.start, p.end))


def _split_at_midnight(p: Piece, tz: tzinfo) -> list[Piece]:
    out, piece = [], p
    while True:
        day = piece.start.astimezone(tz).date()
        midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        if piece.end <= midnight:
            return [*out, piece]
        span = (piece.end - piece.start).total_seconds()
        head = (midnight - piece.start).total_seconds()
        out.append(replace(piece, end=midnight, seconds=piece.seconds * head / span))
        piece = replace(piece, start=midnight, seconds=piece.seconds * (1 - head / span))


def sessions(
    events: Iterable[WorkEvent] | Sequence[Piece],
    idle_gap_s: float = IDLE_GAP_S,
    tz: tzinfo = timezone.utc,
) -> list[Session]:
    """Sessions per annotator, cut where nothing happened for more than ``idle_gap_s`` seconds
    and at midnight in ``tz`` (the annotator's local time)."""
    if not idle_gap_s > 0:
        raise ValueError(f"idle_gap_s must be > 0, got {idle_gap_s}")
    items = list(events)
    pieces = work_pieces(items) if items and isinstance(items[0], WorkEvent) else items
    cut: list[Piece] = []
    for p in pieces:
        try:
            cut += _split_at_midnight(p, tz)
        except OverflowError:  # a time at the end of the calendar, which no clock made
            logger.warning(
                "%s's %s on task %d (%s to %s) has no day after it: left out", p.annotator,
                p.kind, p.task, p.start.isoformat(), p.end.isoformat(),
            )  # fmt: skip
    out: list[Session] = []
    current: list[Piece] = []
    out_day = date.min
    for p in sorted(cut, key=lambda p: (p.annotator, p.start, p.end)):
        day = p.start.astimezone(tz).date()
        if current:
            last_end = max(q.end for q in current)
            same = current[0].annotator == p.annotator and out_day == day
            if same and (p.start - last_end).total_seconds() <= idle_gap_s:
                current.append(p)
                continue
            out.append(Session(current[0].annotator, out_day, tuple(current)))
        current, out_day = [p], day
    if current:
        out.append(Session(current[0].annotator, out_day, tuple(current)))
    return out


def total_hours(found: Iterable[Session]) -> dict[str, Hours]:
    """Hours per annotator over all the sessions given."""
    out: dict[str, Hours] = {}
    for s in found:
        out[s.annotator] = out.get(s.annotator, Hours()) + s.hours()
    return out


def hours_per_day(found: Iterable[Session]) -> dict[str, dict[date, Hours]]:
    """Hours per annotator per local day."""
    out: dict[str, dict[date, Hours]] = {}
    for s in found:
        days = out.setdefault(s.annotator, {})
        days[s.day] = days.get(s.day, Hours()) + s.hours()
    return out


def hours_per_week(found: Iterable[Session]) -> dict[str, dict[tuple[int, int], Hours]]:
    """Hours per annotator per ISO week ``(year, week)`` of the local day."""
    out: dict[str, dict[tuple[int, int], Hours]] = {}
    for s in found:
        weeks = out.setdefault(s.annotator, {})
        key = tuple(s.day.isocalendar())[:2]
        weeks[key] = weeks.get(key, Hours()) + s.hours()  # type: ignore[index]
    return out
