"""A round's routing plan is stored whole or not at all, so a stopped push resumes a whole plan."""

from __future__ import annotations

import pytest

from hitl_active.team.team import TeamBackend
from tests.loop.loop_helpers import tiny_dataset, tiny_workspace


def test_a_plan_stopped_while_it_is_stored_leaves_nothing_to_resume(tmp_path, monkeypatch):
    data = tiny_dataset(tmp_path / "data", n_images=20, seed=4)
    ws = tiny_workspace(tmp_path / "ws", data, round_size=8, gold_size=4)
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
    ws = tiny_workspace(tmp_path / "ws", data, round_size=8, gold_size=4)
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


def _round(tmp_path, names_tiers, honeypot_share=0.25):
    data = tiny_dataset(tmp_path / "data", n_images=20, seed=4)
    ws = tiny_workspace(tmp_path / "ws", data, round_size=8, gold_size=4)
    ws.config.honeypot_share = honeypot_share
    for name, tier in names_tiers:
        ws.store.add_annotator(name, email=f"{name}@example.org", tier=tier)
    gold = {img.id for img in ws.store.images("gold")}  # labelled: honeypots are served
    frames = [img.id for img in ws.store.images() if img.id not in gold][:8]
    return ws, frames


def _planned(ws, frames):
    """Plan a new round of ``frames``: each person's assignment kinds, by name."""
    rid = ws.store.start_round(None).id
    TeamBackend("http://127.0.0.1:9", "t", "p", None)._plan(ws, rid, frames, None)
    names = {p.id: p.name for p in ws.store.annotators()}
    out: dict[str, list[str]] = {}
    for a in ws.store.assignments(round_id=rid):
        out.setdefault(names[a.annotator_id], []).append(a.kind)
    return out


def test_a_trainee_gets_client_work_only_once_ready_or_cleared_by_a_manager(tmp_path):
    ws, frames = _round(tmp_path, [("ana", "annotator"), ("ben", "annotator"),
                                   ("cai", "trainee")])  # fmt: skip
    first = _planned(ws, frames[:4])
    assert "cai" not in first  # no client frame, no honeypot: no skill is ready yet
    assert "honeypot" in first["ana"]
    cai = ws.store.annotator("cai")
    ws.store.update_annotator(cai.id, client_work=1, client_work_by="mia", client_work_at=1.0)
    cleared = ws.store.annotator("cai")
    assert (cleared.client_work, cleared.client_work_by, cleared.client_work_at) == (1, "mia", 1.0)
    second = _planned(ws, frames[4:])
    assert "task" in second["cai"] and "honeypot" in second["cai"]  # the easier half first
    ws.store.update_annotator(cai.id, client_work=0, tier="annotator")  # what graduating does
    assert ws.store.annotator("cai").routed
    ws.close()


def test_a_person_taken_out_of_routing_gets_nothing_and_keeps_their_history(tmp_path):
    ws, frames = _round(tmp_path, [("ana", "annotator"), ("ben", "annotator")])
    first = _planned(ws, frames[:4])
    assert {"ana", "ben"} <= set(first)
    ben = ws.store.annotator("ben")
    ws.store.update_annotator(ben.id, active=0)
    assert "ben" not in _planned(ws, frames[4:])  # no task, no honeypot
    assert len(ws.store.assignments(annotator_id=ben.id)) == len(first["ben"])  # kept
    backend = TeamBackend("http://127.0.0.1:9", "t", "p", None)
    backend.queue = lambda ws, person: person.name  # no Label Studio: the queue's owner
    assert backend.queues(ws) == {"ana": "ana"}  # no queue is made for ben
    ws.store.update_annotator(ben.id, queue_project_id=12)
    assert set(backend.queues(ws)) == {"ana", "ben"}  # his existing queue is still read
    ws.store.update_annotator(ws.store.annotator("ana").id, active=0)
    with pytest.raises(ValueError, match=r"taken out of routing: ana, ben.*--active yes"):
        _planned(ws, frames[4:])
    ws.store.update_annotator(ben.id, active=1)
    assert set(_planned(ws, frames[4:])) == {"ben"}
    ws.close()
