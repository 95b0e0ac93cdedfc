"""Hand-built Label Studio logs; every expected figure below is worked out by hand."""

from datetime import date, datetime, timedelta, timezone

import pytest

from hitl_active.workforce.hours import (
    Hours,
    hours_per_day,
    hours_per_week,
    sessions,
    total_hours,
    work_pieces,
)
from hitl_active.workforce.worklog import WorkEvent

UTC = timezone.utc


def t(h: int, m: int, s: int = 0, day: int = 2) -> datetime:
    """A time on Monday 2 March 2026 (``day=1``: Sunday 1 March), UTC."""
    return datetime(2026, 3, day, h, m, s, tzinfo=UTC)


def ann(record, ended, lead, task=None, kind="annotation", **kw) -> WorkEvent:
    return WorkEvent("ana", task or record, 1, kind, record, ended, lead, **kw)


def draft(record, ended, lead, task, **kw) -> WorkEvent:
    return WorkEvent("ana", task, 1, "draft", record, ended, lead, **kw)


def only(events) -> Hours:
    return total_hours(sessions(events))["ana"]


def test_idle_gap_cuts_sessions_and_skips_count_as_work():
    log = [
        ann(1, t(9, 1), 50),  # 9:00:10-9:01:00
        ann(2, t(9, 3), 100),  # 9:01:20-9:03:00
        ann(3, t(9, 4), 30, kind="skip"),  # 9:03:30-9:04:00
        ann(4, t(9, 30), 60),  # 9:29-9:30, after 25 idle minutes
    ]
    found = sessions(log)
    assert [s.active_seconds for s in found] == [230, 60]
    h = only(log)
    # session 1: 9:00:10 to 9:04:00 = 230 s, of which 180 s lead time; session 2: 60 s
    assert h == Hours(active=290, tasks=210, skipped=30, between=50)
    assert h.invisible == 80
    assert h.invisible_share == pytest.approx(80 / 290)


def test_idle_gap_is_configurable():
    log = [ann(1, t(9, 1), 60), ann(2, t(9, 11), 60)]  # 9:00-9:01 and 9:10-9:11
    assert only(log).active == 120
    assert total_hours(sessions(log, idle_gap_s=600))["ana"].active == 660


def test_draft_lead_time_counted_once():
    # Label Studio PR #6406: the annotation's lead_time (150) already holds its draft's (90)
    log = [
        draft(50, t(10, 2), 90, task=5, created=t(10, 0, 30)),  # 10:00:30-10:02:00
        ann(5, t(10, 10), 150, draft_created=t(10, 0, 30)),  # the other 60 s: 10:09-10:10
    ]
    h = only(log)
    assert h.active == 150  # two sessions (7 idle minutes), not 240
    assert h.tasks == 150 and h.drafts == 0
    # submitted soon after the draft: one session 11:00:00-11:04:00 with 90 s between
    log = [
        draft(60, t(11, 1, 30), 90, task=6, created=t(11, 1)),
        ann(6, t(11, 4), 150, draft_created=t(11, 1)),
    ]
    assert only(log) == Hours(active=240, tasks=150, between=90)


def test_draft_that_is_gone_is_not_missed():
    # Label Studio deletes the draft on submission; its time is in the annotation, its start a mark
    log = [ann(5, t(10, 5), 120, draft_created=t(10, 0))]  # 10:03-10:05, draft began 10:00
    assert only(log) == Hours(active=300, tasks=120, between=180)
    log = [ann(5, t(10, 15), 120, draft_created=t(10, 0))]  # the mark is 13 minutes before
    assert only(log) == Hours(active=120, tasks=120)


def test_reopened_task_counts_each_interval_once():
    first = ann(7, t(12, 1, 40), 100, created=t(12, 1, 40))  # 12:00:00-12:01:40
    later = ann(7, t(15, 0), 160, created=t(12, 1, 40))  # reopened: 60 more s, 14:59-15:00
    assert only([first, later]).active == 160  # not 100 + 160
    soon = ann(7, t(12, 3), 160, created=t(12, 1, 40))  # reopened at once: 12:02-12:03
    assert only([first, soon]) == Hours(active=180, tasks=160, between=20)
    # the same state seen twice (a webhook and a pull) is one version
    assert only([first, first, soon]).active == 180


def test_edit_draft_feeds_the_update_and_a_pending_one_counts_apart():
    v1 = ann(7, t(12, 1, 40), 100)  # 12:00:00-12:01:40
    edit = draft(70, t(14, 1), 40, task=7, annotation=7)  # 14:00:20-14:01:00
    v2 = ann(7, t(14, 3), 160)  # +60: the draft's 40 s, then 20 s 14:02:40-14:03:00
    h = only([v1, edit, v2])
    assert h == Hours(active=100 + 160, tasks=160, between=100)
    pending = draft(71, t(16, 1), 30, task=7, annotation=7)  # not submitted yet
    assert only([v1, edit, v2, pending]).drafts == 30


def test_postponed_draft_and_practice_are_invisible_work():
    log = [
        ann(1, t(9, 1), 60, practice=True),  # 9:00-9:01
        draft(80, t(9, 2), 40, task=8, created=t(9, 1, 50)),  # 9:01:20-9:02:00
        ann(2, t(9, 4), 90),  # 9:02:30-9:04:00
    ]
    h = only(log)
    assert h == Hours(active=240, tasks=90, practice=60, drafts=40, between=50)
    assert h.invisible == 150


def test_never_less_than_the_lead_time():
    # two tasks open side by side: the same two minutes, 240 s of lead time
    log = [ann(8, t(13, 2), 120), ann(9, t(13, 2), 120)]
    assert only(log).active == 240


def test_days_split_at_local_midnight_and_weeks_by_iso_week():
    log = [
        ann(1, t(23, 1, day=1), 120),  # Sunday 22:59-23:01
        ann(2, t(0, 1, day=2), 120),  # 23:59 Sunday to 00:01 Monday
        ann(3, t(9, 2, day=2), 120),  # Monday 9:00-9:02
    ]
    days = hours_per_day(sessions(log))["ana"]
    assert {d: h.active for d, h in days.items()} == {date(2026, 3, 1): 180, date(2026, 3, 2): 180}
    weeks = hours_per_week(sessions(log))["ana"]
    assert {w: h.active for w, h in weeks.items()} == {(2026, 9): 180, (2026, 10): 180}
    # one hour east, Sunday's 22:59-23:01 is 23:59-00:01 local: split over both days
    cet = timezone(timedelta(hours=1))
    days = hours_per_day(sessions(log, tz=cet))["ana"]
    assert {d: h.active for d, h in days.items()} == {date(2026, 3, 1): 60, date(2026, 3, 2): 300}


def test_pieces_name_their_project_and_sensitivity():
    e = WorkEvent("bo", 3, 9, "annotation", 3, t(9, 1), 60, sensitive=True)
    (p,) = work_pieces([e])
    assert (p.annotator, p.project, p.sensitive, p.start) == ("bo", 9, True, t(9, 0))


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"kind": "review"}, "kind must be one of"),
        ({"lead_time": -1.0}, "lead_time must be finite"),
        ({"ended": datetime(2026, 3, 2, 9, 0)}, "timezone-aware"),
        ({"annotator": ""}, "non-empty"),
    ],
)
def test_bad_records_are_refused(kw, message):
    base = {"annotator": "ana", "task": 1, "project": 1, "kind": "annotation", "record": 1}
    base |= {"ended": t(9, 0), "lead_time": 10.0} | kw
    with pytest.raises(ValueError, match=message):
        WorkEvent(**base)


def test_a_piece_at_the_end_of_the_calendar_is_left_out_not_raised(caplog):
    """No clock makes 9999-12-31 23:59:59, but one such record must not stop everyone's hours."""
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    log = [ann(1, t(9, 1), 50), ann(2, last, 60)]
    with caplog.at_level("WARNING"):
        h = only(log)
    assert h == Hours(active=50, tasks=50)
    assert any("task 2" in r.getMessage() for r in caplog.records)
