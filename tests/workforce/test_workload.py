"""Caps on hand-built logs: routing stops at the cap exactly; expected figures by hand."""

from datetime import date, datetime, timedelta, timezone

import pytest

from hitl_active.workforce.hours import sessions
from hitl_active.workforce.workload import Caps, cap_flags, room_left, stretches, workload
from hitl_active.workforce.worklog import WorkEvent

START = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)  # a Wednesday


def run(who, n, start=START, lead=60.0, gap=0.0, project=1, sensitive=False, first=0):
    """``n`` tasks of ``lead`` seconds back to back, ``gap`` seconds apart."""
    out = []
    for i in range(n):
        end = start + timedelta(seconds=(i + 1) * lead + i * gap)
        out.append(WorkEvent(who, first + i, project, "annotation", first + i, end, lead,
                             sensitive=sensitive))  # fmt: skip
    return out


def load(events, now, caps=None):
    return workload(sessions(events), now, caps)


def test_room_left_stops_at_the_daily_cap_exactly():
    caps = Caps(hours_per_day=1.0, stretch_minutes=600)
    events = run("ana", 59)  # 9:00-9:59, 3540 s
    w = load(events, START + timedelta(hours=2))["ana"]
    assert w.day_seconds == 3540
    assert room_left(w, caps, task_seconds=60) == 1
    assert room_left(w, caps, task_seconds=61) == 0
    w = load(run("ana", 60), START + timedelta(hours=2))["ana"]  # 9:00-10:00: the whole hour
    assert w.day_seconds == 3600
    assert room_left(w, caps, task_seconds=60) == 0
    assert [f.kind for f in cap_flags({"ana": w}, caps)] == ["hours_per_day"]


def test_week_cap_counts_earlier_days_of_the_same_iso_week():
    caps = Caps(hours_per_day=8, hours_per_week=2.0, stretch_minutes=600)
    monday = run("ana", 60, start=START - timedelta(days=2))  # 1 h on Monday
    sunday = run("ana", 60, start=START - timedelta(days=3), first=100)  # last week
    today = run("ana", 30, first=200)  # 30 min today
    w = load(monday + sunday + today, START + timedelta(hours=2))["ana"]
    assert (w.day_seconds, w.week_seconds) == (1800, 5400)
    assert room_left(w, caps, task_seconds=60) == 30  # 2 h - 1.5 h
    w = load(monday + sunday + run("ana", 60, first=200), START + timedelta(hours=2))["ana"]
    assert room_left(w, caps, task_seconds=60) == 0


def test_a_long_stretch_stops_routing_until_a_break():
    caps = Caps(stretch_minutes=120, break_minutes=10)
    # 120 tasks of 55 s, 5 s apart: 9:00-10:59:55 in one stretch; a 5 s gap is no break
    events = run("ana", 120, lead=55, gap=5)
    end = START + timedelta(seconds=120 * 60 - 5)
    w = load(events, end + timedelta(minutes=1))["ana"]
    assert w.current_stretch == 7195 and w.longest_stretch == 7195
    assert room_left(w, caps, task_seconds=60) > 0  # 5 s short of the cap
    more = run("ana", 1, start=end, lead=5, first=500)  # 5 s more, to 11:00:00
    w = load(events + more, end + timedelta(minutes=2))["ana"]
    assert w.current_stretch == 7200
    assert room_left(w, caps, task_seconds=60) == 0
    assert "stretch" in [f.kind for f in cap_flags({"ana": w}, caps)]
    w = load(events + more, end + timedelta(minutes=11))["ana"]  # after a 10-minute break
    assert w.current_stretch == 0
    assert room_left(w, caps, task_seconds=60) == 360  # 8 h - 2 h of the day


def test_stretches_break_at_the_configured_gap():
    events = run("ana", 3, gap=300)  # 9:00-9:01, 9:06-9:07, 9:12-9:13
    pieces = [p for s in sessions(events) for p in s.pieces]
    assert len(stretches(pieces, break_minutes=10)) == 1
    assert len(stretches(pieces, break_minutes=5)) == 3  # a 5-minute gap is a break


def test_sensitive_minutes_cap_and_opt_out():
    caps = Caps(sensitive_minutes_per_day=30, stretch_minutes=600)
    events = run("ana", 20, sensitive=True) + run(
        "ana", 20, first=100, start=START + timedelta(hours=1)
    )
    w = load(events, START + timedelta(hours=3))["ana"]
    assert w.sensitive_seconds == 1200  # 20 sensitive minutes; the other 20 are not
    assert room_left(w, caps, 60, sensitive=True) == 10
    assert room_left(w, caps, 60) == 440  # 8 h - 40 min, on work that is not sensitive
    assert room_left(w, caps, 60, sensitive=True, opted_out={"ana"}) == 0
    (flag,) = cap_flags({"ana": w}, caps, opted_out={"ana"})
    assert flag.kind == "sensitive_opt_out" and flag.value == 20
    assert cap_flags({"ana": w}, caps) == []


def test_someone_who_has_not_worked_has_the_whole_day():
    loads = load(run("ana", 10), START + timedelta(hours=1)) | workload([], START, people=["bo"])
    caps = Caps(hours_per_day=2)
    assert room_left(loads["bo"], caps, task_seconds=90) == 80
    assert room_left(loads["bo"], caps, 90, sensitive=True, opted_out={"bo"}) == 0
    with pytest.raises(ValueError, match="task_seconds must be > 0"):
        room_left(loads["ana"], caps, task_seconds=0)
    with pytest.raises(ValueError, match="caps must be finite numbers > 0"):
        Caps(hours_per_day=0)


def test_workload_is_of_the_day_asked():
    events = run("ana", 30, start=START - timedelta(days=1))
    w = load(events, START)["ana"]
    assert (w.day, w.day_seconds, w.week_seconds) == (date(2026, 3, 4), 0, 1800)
