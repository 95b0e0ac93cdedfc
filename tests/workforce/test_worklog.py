"""Work events from records shaped as Label Studio 1.23's API returns them."""

from datetime import datetime, timezone

import pytest

from hitl_active.workforce.hours import sessions, total_hours
from hitl_active.workforce.worklog import WorkEvent, latest_versions

UTC = timezone.utc
BOX = {"type": "rectanglelabels", "value": {"x": 1, "y": 1, "width": 5, "height": 5}}

ANNOTATION = {
    "id": 41, "task": 7, "project": 3, "completed_by": 2, "lead_time": 150.5,
    "was_cancelled": False, "created_at": "2026-03-02T09:04:00.123456Z",
    "updated_at": "2026-03-02T09:04:00.123456Z", "draft_created_at": "2026-03-02T09:01:30Z",
    "result": [BOX, BOX, {"type": "choices", "value": {"choices": ["ok"]}}],
}  # fmt: skip
DRAFT = {
    "id": 9, "task": 7, "user": "ana@example.org", "annotation": None, "lead_time": 90.0,
    "was_postponed": False, "created_at": "2026-03-02T09:01:30Z",
    "updated_at": "2026-03-02T09:03:00Z", "result": [BOX],
}  # fmt: skip


def test_annotation_and_draft_records():
    a = WorkEvent.from_label_studio(ANNOTATION, "ana", 3, practice=True)
    assert (a.kind, a.record, a.task, a.lead_time, a.boxes, a.practice) == (
        "annotation", 41, 7, 150.5, 2, True,
    )  # fmt: skip
    assert a.ended == datetime(2026, 3, 2, 9, 4, 0, 123456, tzinfo=UTC)
    assert a.draft_created == datetime(2026, 3, 2, 9, 1, 30, tzinfo=UTC)
    d = WorkEvent.from_label_studio(DRAFT, "ana", 3, draft=True)
    assert (d.kind, d.record, d.annotation, d.created) == ("draft", 9, None, a.draft_created)
    # the draft became the (practice) annotation: its 90 s are inside the annotation's 150.5 s
    assert total_hours(sessions([d, a]))["ana"].practice == pytest.approx(150.5)


def test_skip_and_missing_lead_time():
    s = WorkEvent.from_label_studio({**ANNOTATION, "was_cancelled": True, "result": []}, "ana", 3)
    assert (s.kind, s.boxes) == ("skip", 0)
    made_by_api = WorkEvent.from_label_studio({**ANNOTATION, "lead_time": None}, "ana", 3)
    assert made_by_api.lead_time == 0.0


def test_record_without_its_times_is_refused():
    with pytest.raises(ValueError, match=r"lacks \['updated_at'\]"):
        WorkEvent.from_label_studio({**ANNOTATION, "updated_at": None}, "ana", 3)


def test_latest_versions_keeps_each_records_last_state():
    v1 = WorkEvent.from_label_studio(ANNOTATION, "ana", 3)
    later = {**ANNOTATION, "updated_at": "2026-03-02T10:00:00Z", "lead_time": 200.0}
    v2 = WorkEvent.from_label_studio(later, "ana", 3)
    d = WorkEvent.from_label_studio(DRAFT, "ana", 3, draft=True)
    assert latest_versions([v2, d, v1]) == [v2]
