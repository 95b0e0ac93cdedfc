"""Which labels are true, from the one module every reader goes through (``loop.truth``):
training, the gold set, delivery and practice keys never take a honeypot answer, and all
take the same answer of an image."""

from __future__ import annotations

import numpy as np
from PIL import Image

from hitl_active.delivery.export import collect_labels
from hitl_active.loop import steps, truth
from hitl_active.team import practice_track, team_skill
from hitl_active.workspace.workspace import LoopConfig, Workspace


def _box(x: float) -> list[dict]:
    return [{"xyxy": [x, 2.0, x + 10, 12.0], "class_id": 0, "source": "human"}]


def test_a_honeypot_answer_is_never_truth_anywhere(tmp_path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for name in ("g.jpg", "p.jpg"):
        Image.new("RGB", (40, 30)).save(images / name)
    cfg = LoopConfig(images=str(images), classes=["car"], gold_size=0)
    with Workspace.create(tmp_path / "ws", cfg) as ws:
        store = ws.store
        g = next(i for i in store.images() if i.path.endswith("g.jpg"))
        p = next(i for i in store.images() if i.path.endswith("p.jpg"))
        store.set_split([g.id], "gold")
        ben = store.add_annotator("ben")
        # the gold image's own task answered (its truth), then served as a honeypot to ben
        store.add_annotation(g.id, "1:1", "r1", _box(1.0), ls_task_id=11, annotator="amy")
        store.add_assignment(None, g.id, ben.id, "honeypot", 2, 22)
        store.add_annotation(g.id, "2:2", "r1", _box(20.0), ls_task_id=22, annotator="ben")
        store.add_annotation(p.id, "1:3", "r1", _box(5.0), ls_task_id=33, annotator="amy")

        ((gold_img, gold_labels),) = truth.gold_truths(ws)
        assert gold_img.id == g.id and float(gold_labels.xyxy[0, 0]) == 1.0  # not ben's 20
        assert truth.human_answers(ws)[g.id].external_id == "1:1"
        items = truth.training_items(ws)
        assert [e["id"] for _, _, e in items] == [p.id]  # gold never trains
        delivered = {lab.image: lab for lab in collect_labels(ws, include_model_only=False)}
        assert float(delivered[g.path].xyxy[0, 0]) == 1.0
        assert np.allclose(delivered[p.path].xyxy, items[0][1].xyxy)

    # every reader imports the one module's functions, none keeps its own copy
    assert steps.gold_truths is truth.gold_truths and steps.training_items is truth.training_items
    assert "human_answers" in collect_labels.__code__.co_names
    assert practice_track.answer_keys.__code__.co_names.count("training_items") == 1
    assert "gold_truths" in team_skill.gold_by_path.__code__.co_names
