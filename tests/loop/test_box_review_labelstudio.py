"""Box review through a real Label Studio: the project gains the per-region check / fix
choice, a task shows only its items, each marked with its kind, and a person's answer
comes back as their boxes, with the unasked ones kept as the model's."""

from __future__ import annotations

import uuid

import pytest
from loop_helpers import planted_review_workspace, tiny_dataset

from hitl_active.bench.annotator import SimulatedAnnotator
from hitl_active.labelstudio.project import REVIEW_CONTROL
from hitl_active.loop.backends import LabelStudioBackend
from hitl_active.loop.review import plan_of, task_prelabel
from hitl_active.loop.rounds import Loop
from hitl_active.loop.truth import training_items

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]


def test_a_box_review_task_in_label_studio(label_studio, tmp_path):
    data = tiny_dataset(label_studio.files_root / f"review-{RUN}", n_images=12)
    ws, truths, version = planted_review_workspace(tmp_path / "ws", data)
    backend = LabelStudioBackend(
        label_studio.url, label_studio.token, f"review-{RUN}", label_studio.files_root,
        SimulatedAnnotator(truths), poll_s=0.5,
    )  # fmt: skip
    try:
        row = Loop(ws, backend).round_until_pushed()
        project = backend.client.request("GET", f"/api/projects/{ws.config.label_studio_project}")
        assert f'name="{REVIEW_CONTROL}"' in project["label_config"]
        assert 'perRegion="true"' in project["label_config"]
        planned = [t for t in ws.store.tasks(round_id=row.id) if plan_of(ws, t.image_id)]
        assert planned, "no image was planned item by item"
        for task in planned:
            remote = backend.client.task(task.ls_task_id)
            (prediction,) = remote["predictions"]
            rects = [r for r in prediction["result"] if r["type"] == "rectanglelabels"]
            marks = {r["id"]: r["value"]["choices"] for r in prediction["result"]
                     if r["type"] == "choices" and r["from_name"] == REVIEW_CONTROL}  # fmt: skip
            _, kinds = task_prelabel(ws, task.image_id)
            assert [marks[r["id"]] for r in rects] == [[k] for k in kinds]
            assert "Box review" in remote["data"]["why"]
        assert backend.submit(ws, row.id) == len(ws.store.tasks(round_id=row.id))
        backend.pull(ws)
        assert not ws.store.tasks(round_id=row.id, open_only=True)
        items = {e["id"]: labels for _, labels, e in training_items(ws)}
        answers = {a.image_id: a for a in ws.store.annotations()}
        for task in planned:
            _, kinds = task_prelabel(ws, task.image_id)
            counts = answers[task.image_id].diff["counts"]
            # the person answered every item and drew nothing else
            assert counts["added"] == 0
            answered_items = sum(counts[k] for k in ("kept", "moved", "relabelled", "deleted"))
            assert answered_items == len(kinds)
            meta = items[task.image_id].box_meta
            people = [m for m in meta if m["source"].startswith("human")]
            assert len(people) == len(kinds) - counts["deleted"]
            unasked = [m for m in meta if m["source"] == "model"]
            assert all(m["model_version"] == version for m in unasked)
    finally:
        backend.close()
        ws.close()
