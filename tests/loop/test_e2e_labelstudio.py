"""Two rounds of the real loop through a real Label Studio.

Tasks appear with pre-labels, annotations made through the API come back, a retrain makes
version 2, version 2's pre-labels replace version 1's on the open tasks, and the export
holds every human box with its provenance.
"""

from __future__ import annotations

import json
import uuid

import pytest
from loop_helpers import tiny_dataset, tiny_workspace

from hitl_active.bench.annotator import SimulatedAnnotator
from hitl_active.delivery import export_dataset
from hitl_active.loop.backends import LabelStudioBackend, load_truths
from hitl_active.loop.policy import EveryRound, OnDemand
from hitl_active.loop.rounds import Loop

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]  # Label Studio may be shared: unique project and folder names

HUMAN = {"human", "human_corrected", "human_accepted"}


def _remote(backend, ws):
    return {t["id"]: t for t in backend.client.iter_tasks(ws.config.label_studio_project)}


def _versions(task):
    return [p.get("model_version") for p in task.get("predictions") or []]


def test_two_rounds_through_label_studio(label_studio, tmp_path):
    data = tiny_dataset(label_studio.files_root / f"e2e-{RUN}", n_images=36)
    ws = tiny_workspace(tmp_path / "ws", data, round_size=6, epochs=2)
    annotator = SimulatedAnnotator(
        load_truths(ws, data / "labels"), display_threshold=ws.config.conf_threshold
    )
    backend = LabelStudioBackend(
        label_studio.url, label_studio.token, f"e2e-{RUN}", label_studio.files_root, annotator,
        poll_s=0.5,
    )  # fmt: skip
    loop = Loop(ws, backend, EveryRound())
    try:
        # Round 1: cold start (random batch, no pre-labels) → version 1.
        first = loop.run_round(wait_timeout_s=60)
        assert first is not None and (first.model_version, first.promoted) == ("v0001", True)
        assert first.labelled == 6 and first.pending == 0

        # Round 2: the pool is pre-labelled with v1; tasks carry v1 pre-labels.
        row = loop.round_until_pushed()
        tasks = ws.store.tasks(round_id=row.id)
        assert row.step == "pushed" and len(tasks) == 6
        remote = _remote(backend, ws)
        assert len(remote) == 12
        for t in tasks:
            assert _versions(remote[t.ls_task_id]) == ["v0001"]
            assert t.prediction_model_version == "v0001"

        # Annotate half through Label Studio's API; the pull brings them back.
        half = {t.image_id for t in tasks[:3]}
        assert backend.submit(ws, row.id, image_ids=half) == 3
        backend.pull(ws)
        assert {t.image_id for t in ws.store.tasks(round_id=row.id, open_only=True)} == {
            t.image_id for t in tasks[3:]
        }
        pulled = [a for a in ws.store.annotations() if a.image_id in half]
        assert len(pulled) == 3
        assert all(a.source == "labelstudio" and a.annotator for a in pulled)
        assert all(a.lead_time and a.lead_time > 0 for a in pulled)

        # Retrain → version 2; its pre-labels replace version 1's on the open tasks only.
        name, promoted = loop.retrain(force=True)
        assert (name, promoted) == ("v0002", True)
        assert ws.store.model_version("v0002").snapshot["n_images"] == 9
        remote = _remote(backend, ws)
        for t in tasks:
            expected = ["v0001"] if t.image_id in half else ["v0002"]
            assert _versions(remote[t.ls_task_id]) == expected
        assert {t.prediction_model_version for t in ws.store.tasks(open_only=True)} == {"v0002"}

        # The rest is annotated (on v2's pre-labels) and the round finishes.
        loop.policy = OnDemand()
        second = loop.run_round(wait_timeout_s=60)
        assert second is not None and second.round_id == row.id and second.pending == 0
        assert second.labelled == 12
    finally:
        backend.close()

    # Delivery: every human box, with its provenance.
    res = export_dataset(ws, tmp_path / "export", "coco")
    prov = json.loads((res.out_dir / "provenance.json").read_text())
    human_boxes = 0
    for ann in ws.store.annotations():
        name = ws.store.image(ann.image_id).path.rsplit("/", 1)[-1]
        boxes = prov[name]
        assert len(boxes) == len(ann.boxes)
        assert {b["source"] for b in boxes} <= HUMAN
        assert all(b["annotator"] == ann.annotator for b in boxes)
        human_boxes += len(boxes)
    assert human_boxes > 0
    n_human = sum(v for k, v in res.card["boxes_per_source"].items() if k in HUMAN)
    gold_boxes = sum(len(b) for b in ws.store.gold_labels().values())
    assert n_human == human_boxes + gold_boxes
    model_only = [b for boxes in prov.values() for b in boxes if b["source"] == "model"]
    assert all(b["model_version"] == "v0002" and 0 < b["score"] <= 1 for b in model_only)
    ws.close()
