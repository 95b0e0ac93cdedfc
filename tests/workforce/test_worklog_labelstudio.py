"""Work events from a real Label Studio: a draft submitted as an annotation, a reopened
annotation and a skip, read back through the API and counted once each."""

from __future__ import annotations

import uuid

import pytest

from hitl_active.labelstudio import LabelStudioClient, ensure_project
from hitl_active.workforce.hours import sessions, total_hours
from hitl_active.workforce.worklog import WorkEvent

pytestmark = pytest.mark.labelstudio

BOX = {
    "from_name": "label", "to_name": "image", "type": "rectanglelabels",
    "original_width": 100, "original_height": 100,
    "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["car"]},
}  # fmt: skip


def test_label_studio_records_count_each_second_once(label_studio):
    with LabelStudioClient(label_studio.url, label_studio.token) as c:
        project = ensure_project(c, f"worklog {uuid.uuid4().hex[:6]}", ["car"]).id
        data = [{"data": {"image": f"/data/local-files/?d=images/none{i}.png"}} for i in range(2)]
        first, second = c.import_tasks(project, data)
        draft = c.request(
            "POST", f"/api/tasks/{first}/drafts", json={"result": [BOX], "lead_time": 40.0}
        )
        ann = c.request(
            "POST", f"/api/tasks/{first}/annotations",
            json={"result": [BOX, BOX], "lead_time": 100.0, "draft_id": draft["id"]},
        )  # fmt: skip
        # Label Studio keeps the draft's start on the annotation and deletes the draft
        assert ann["draft_created_at"] == draft["created_at"]
        assert c.request("GET", f"/api/tasks/{first}/drafts") == []
        reopened = c.request(
            "PATCH", f"/api/annotations/{ann['id']}", json={"result": [BOX], "lead_time": 130.0}
        )
        skip = c.request(
            "POST", f"/api/tasks/{second}/annotations",
            json={"result": [], "lead_time": 15.0, "was_cancelled": True},
        )  # fmt: skip
    events = [
        WorkEvent.from_label_studio(draft, "ana", project, draft=True),
        WorkEvent.from_label_studio(ann, "ana", project),
        WorkEvent.from_label_studio(reopened, "ana", project),
        WorkEvent.from_label_studio(skip, "ana", project),
    ]
    assert [e.kind for e in events] == ["draft", "annotation", "annotation", "skip"]
    assert (events[1].boxes, events[2].boxes) == (2, 1)
    h = total_hours(sessions(events))["ana"]
    # 40 s of draft inside the annotation's 100, 30 s more when reopened, 15 s skipped
    assert (h.tasks, h.skipped) == pytest.approx((130.0, 15.0))
    assert h.active >= 145.0
