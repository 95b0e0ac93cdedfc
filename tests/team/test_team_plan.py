"""A round's routing plan is stored whole or not at all, so a stopped push resumes a whole plan."""

from __future__ import annotations

import pytest

from hitl_active.team.team import TeamBackend
from tests.loop.loop_helpers import tiny_dataset, tiny_workspace


def test_a_plan_stopped_while_it_is_stored_leaves_nothing_to_resume(tmp_path, monkeypatch):
    data = tiny_dataset(tmp_path / "data", n_images=20, seed=4)
    ws = tiny_workspace(tmp_path / "ws", data, batch_size=8, gold_size=4)
    for name in ("ana", "ben", "cai"):
        ws.store.add_annotator(name, email=f"{name}@example.org")
    rid = ws.store.start_round(None).id
    gold = {img.id for img in ws.store.images("gold")}
    frames = [img.id for img in ws.store.images() if img.id not in gold][:8]
    backend = TeamBackend("http://127.0.0.1:9", "t", "p", None)
    store_one = ws.store.add_assignment
    stored = []

    def stop_after_two(*args):
        if len(stored) == 2:
            raise KeyboardInterrupt
        stored.append(args)
        return store_one(*args)

    monkeypatch.setattr(ws.store, "add_assignment", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        backend._plan(ws, rid, frames, None)
    assert len(stored) == 2 and ws.store.assignments(round_id=rid) == []
    monkeypatch.undo()
    backend._plan(ws, rid, frames, None)  # what the resumed push does with no plan stored
    plan = ws.store.assignments(round_id=rid)
    assert {a.image_id for a in plan if a.kind != "honeypot"} == set(frames)
    ws.close()


def test_a_resumed_push_prelabels_the_honeypots_of_the_stored_plan(tmp_path, monkeypatch):
    from hitl_active.loop import steps
    from hitl_active.team import team

    data = tiny_dataset(tmp_path / "data", n_images=20, seed=4)
    ws = tiny_workspace(tmp_path / "ws", data, batch_size=8, gold_size=4)
    ws.config.honeypot_share = 0.5
    for name in ("ana", "ben"):
        ws.store.add_annotator(name, email=f"{name}@example.org")
    rid = ws.store.start_round(None).id
    gold = {img.id for img in ws.store.images("gold")}
    frames = [img.id for img in ws.store.images() if img.id not in gold][:6]
    backend = TeamBackend("http://127.0.0.1:9", "t", "p", None)
    backend._plan(ws, rid, frames, "v0001")  # stored; the push stopped before pre-labelling
    pots = {a.image_id for a in ws.store.assignments(round_id=rid, kind="honeypot")}
    assert pots
    labelled = []
    monkeypatch.setattr(steps, "prelabel", lambda ws, v, imgs: labelled.extend(imgs))
    monkeypatch.setattr(backend, "_push_queue", lambda *args: 0)
    monkeypatch.setattr(ws.store, "model_version", lambda name: name)
    assert team.TeamBackend.push(backend, ws, rid, frames, "v0001") == 0
    assert {img.id for img in labelled} == pots
    ws.close()
