"""Box review in the loop: the plan is kept, the task shows only its items, a person's
answer covers only those, and training and delivery keep what nobody was asked about with
its provenance.

The model's predictions are planted in the store (a sure box on every object and an
uncertain region on empty background, per image), so which boxes are items is known; the
person is the benchmark's oracle, which reviews items exactly as the benchmark does.
"""

from __future__ import annotations

import numpy as np
import pytest
from loop_helpers import planted_review_workspace, tiny_dataset

from hitl_active.bench.annotator import SimulatedAnnotator
from hitl_active.delivery.export import collect_labels
from hitl_active.loop.backends import LocalBackend
from hitl_active.loop.review import check_tally, plan_of, task_prelabel
from hitl_active.loop.rounds import Loop
from hitl_active.loop.truth import training_items


@pytest.fixture
def review_ws(tmp_path):
    ws, truths, name = planted_review_workspace(
        tmp_path / "ws", tiny_dataset(tmp_path / "data", 16)
    )
    yield ws, truths, name
    ws.close()


def test_a_box_review_round_end_to_end(review_ws):
    ws, truths, _ = review_ws
    oracle = SimulatedAnnotator(truths)
    loop = Loop(ws, LocalBackend(oracle))
    row = loop.round_until_pushed()
    chosen = ws.store.selection(row.id)
    assert chosen, "nothing planned"
    planned = [i for i in chosen if plan_of(ws, i) is not None]
    assert planned, "every image was planned whole"
    for image_id in planned:
        shown, kinds = task_prelabel(ws, image_id)
        assert len(shown) == len(kinds) and set(kinds) <= {"check", "fix"}
    assert LocalBackend(oracle).collect(ws, row.id, None) == 0  # the oracle answers
    items = {e["id"]: labels for _, labels, e in training_items(ws)}
    for image_id in planned:
        labels = items[image_id]
        sources = [m.get("source") for m in labels.box_meta]
        assert "model" in sources or "human_accepted" in sources
        truth = truths[ws.store.image(image_id).path]
        shown, kinds = task_prelabel(ws, image_id)
        # what a person touched carries a person's source; the rest is the model's
        people = sum(s.startswith("human") for s in sources)
        assert people == sum(k == "check" for k in kinds) + sum(
            1 for b, k in zip(shown.xyxy, kinds, strict=True)
            if k == "fix" and any(np.allclose(b, t) for t in truth.xyxy)
        )  # fmt: skip
        ignored = [m for m in labels.box_meta if m.get("ignore")]
        assert all(m["source"] == "model" for m in ignored)
        # nobody drew anything: every box is a planted one
        for b in labels.xyxy:
            assert any(np.allclose(b, t, atol=0.01) for t in [*truth.xyxy, [0, 0, 6, 6]])
    delivered = {lab.image: lab for lab in collect_labels(ws)}
    for image_id in planned:
        lab = delivered[ws.store.image(image_id).path]
        sources = {m["source"] for m in lab.box_meta}
        assert sources <= {"human_accepted", "human_corrected", "model"}
        assert not any(m.get("ignore") for m in lab.box_meta)


def test_unchecked_sure_boxes_train_once_the_checked_ones_prove_right(review_ws, monkeypatch):
    import hitl_active.sampling.review as review

    ws, truths, version = review_ws
    oracle = SimulatedAnnotator(truths)
    row = Loop(ws, LocalBackend(oracle)).round_until_pushed()
    LocalBackend(oracle).collect(ws, row.id, None)
    checks = sum(
        k == "check" for i in ws.store.selection(row.id) if plan_of(ws, i)
        for k in task_prelabel(ws, i)[1]
    )  # fmt: skip
    assert check_tally(ws) == ({version: [checks, checks]} if checks else {})
    unchecked = [
        m for _, lab, _ in training_items(ws) for m in lab.box_meta
        if m.get("source") == "model" and m.get("score", 0) >= ws.config.review_sure
    ]  # fmt: skip
    assert unchecked, "the budget left no sure box unchecked"
    assert all(m.get("ignore") for m in unchecked)  # too few checked to trust them yet
    monkeypatch.setattr(review, "MIN_CHECKED", 1)
    trusted = [
        m for _, lab, _ in training_items(ws) for m in lab.box_meta
        if m.get("source") == "model" and m.get("score", 0) >= ws.config.review_sure
    ]  # fmt: skip
    assert len(trusted) == len(unchecked) and not any(m.get("ignore") for m in trusted)


def test_a_plan_belongs_to_its_rounds_task_and_a_bad_entry_is_ignored(review_ws, caplog):
    from hitl_active.loop.review import PLAN_KEY, review_parts

    ws, _, _ = review_ws
    row = Loop(ws, LocalBackend()).round_until_pushed()
    image_id = next(i for i in ws.store.selection(row.id) if plan_of(ws, i))
    mine = plan_of(ws, image_id)
    other = {**mine, "items": [], "kinds": []}  # another open round planned it too
    ws.store.set(f"{PLAN_KEY}{row.id + 1}.{image_id}", other)
    assert plan_of(ws, image_id) == mine  # the plan of the round its task belongs to
    assert plan_of(ws, image_id, round_id=row.id + 1) == other
    key = f"{PLAN_KEY}{row.id}.{image_id}"
    ws.store.set(key, {**mine, "items": [99] * len(mine["items"])})  # rows it does not have
    assert review_parts(ws, image_id) is None
    assert "does not fit its prediction" in caplog.text
    ws.store.set(key, {**mine, "full": "false"})  # not a bool: not a plan
    assert plan_of(ws, image_id) is None


def test_plans_of_many_images_read_together_match_each_images_own_plan(review_ws):
    from hitl_active.loop.review import PLAN_KEY, plans_of, review_parts

    ws, _, _ = review_ws
    row = Loop(ws, LocalBackend()).round_until_pushed()
    chosen = ws.store.selection(row.id)
    planned = [i for i in chosen if plan_of(ws, i)]
    unplanned = max(img.id for img in ws.store.images()) + 1  # no image, no task, no plan
    got = plans_of(ws, [*chosen, unplanned])
    assert sorted(got) == sorted(planned)
    for image_id in planned:
        version, parts = got[image_id]
        assert version == plan_of(ws, image_id)["version"]
        own = review_parts(ws, image_id)
        for name, dets in parts.items():
            np.testing.assert_array_equal(dets.xyxy, own[name].xyxy)
            np.testing.assert_array_equal(dets.class_id, own[name].class_id)
    bad = planned[0]
    entry = plan_of(ws, bad)
    ws.store.set(f"{PLAN_KEY}{row.id}.{bad}", {**entry, "version": 7})  # not a version name
    assert bad not in plans_of(ws, planned) and review_parts(ws, bad) is None
