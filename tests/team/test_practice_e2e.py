"""The training track through a real Label Studio: a simulated trainee, as their own user,
enrols, practises in their practice project, sees feedback on each graded task, graduates,
and then receives client frames in their queue."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from hitl_active.bench.annotator import SimulatedAnnotator as Oracle
from hitl_active.bench.simulated_learner import LearnerProfile, SimulatedLearner
from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.labelstudio.users import invite_link, signup
from hitl_active.loop.backends import LocalBackend, load_truths
from hitl_active.loop.import_model import import_model
from hitl_active.loop.policy import OnDemand
from hitl_active.loop.rounds import Loop
from hitl_active.team.practice_track import KEY_VERSION, PracticeTrack
from hitl_active.team.team import TeamBackend
from tests.loop.loop_helpers import run_cli, tiny_dataset, tiny_workspace

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]


def test_a_trainee_practises_with_feedback_graduates_and_gets_client_work(
    label_studio, tiny_model, tmp_path
):
    data = tiny_dataset(label_studio.files_root / f"practice-{RUN}", n_images=48, seed=7)
    ws = tiny_workspace(tmp_path / "ws", data, round_size=16, gold_size=8)
    import_model(ws, tiny_model.onnx, force=True)
    truths = load_truths(ws, data / "labels")
    # a labelled set to practise on: one round answered by an oracle, no Label Studio
    Loop(ws, LocalBackend(Oracle(truths, display_threshold=0.05)), OnDemand()).run_round()

    names = ws.config.classes
    with LabelStudioClient(label_studio.url, label_studio.token) as admin:
        email = f"tia-{RUN}@example.com"
        token = signup(label_studio.url, invite_link(admin), email, f"pw-{RUN}-tia")
        ws.store.add_annotator("tia", email=email, tier="trainee")
        track = PracticeTrack(ws, admin, label_studio.files_root, project_title=f"practice-{RUN}")
        tasks = list(track.tasks().values())
        assert tasks and not {t.image for t in tasks} & {i.path for i in ws.store.images("gold")}
        rng = np.random.default_rng(3)
        planted = LearnerProfile.plant(tasks, rng)
        quick = dataclasses.replace(  # a quick learner, so the test stays short
            planted,
            learn=np.where(planted.learn > 0, 0.6, 0.0),
            slip=np.full(len(planted.skills), 0.03),
            guess=np.full(len(planted.skills), 0.15),
        )
        learner = SimulatedLearner("tia", quick, rng)

        graduated, seen_feedback, paid = False, 0, 0.0
        with LabelStudioClient(label_studio.url, token) as tia:
            assert tia.whoami()["email"] == email
            for _ in range(40):
                pushed = track.push_next("tia", n=3)
                if not pushed:
                    break
                for p in pushed:
                    task = track.tasks()[p.task_id]
                    remote = tia.request("GET", f"/api/tasks/{p.ls_task_id}")
                    assert remote["data"]["prompt"] == task.prompt and p.reason
                    answer, minutes, _ = learner.attempt(task, rng)
                    paid += minutes * 60
                    tia.request("POST", f"/api/tasks/{p.ls_task_id}/annotations", json={
                        "result": to_ls_results(answer, names), "lead_time": minutes * 60,
                    })  # fmt: skip
                _, graduated = track.grade("tia")
                # the feedback is on the task: the text and the answer key drawn
                last = admin.request("GET", f"/api/tasks/{pushed[-1].ls_task_id}")
                assert not last["data"]["feedback"].startswith("Submit your answer")
                assert KEY_VERSION in [x["model_version"] for x in last["predictions"]]
                seen_feedback += 1
                if graduated:
                    break
        assert seen_feedback > 0
        short: dict = {}
        if not graduated:
            # the round's images may give a rare class too few tasks to get ready on: the
            # track says so with the evidence, every other skill is ready, a person decides
            tia_row = ws.store.annotator("tia")
            short = track.out_of_practice(tia_row)
            skills = {s for t in tasks for s in t.skills}
            assert short and track.mastery(tia_row).ready_on(skills - set(short))
            moved = run_cli("annotators", "set", "tia", "--tier", "annotator", "-w", str(ws.root))
            assert moved.returncode == 0, moved.stderr
        person = ws.store.annotator("tia")
        assert person.tier == "annotator"
        practice = ws.store.practice(person.id)
        assert all(r.outcome is not None for r in practice)
        # every practice second is recorded (it is paid work)
        assert sum(r.seconds for r in practice) == pytest.approx(paid, rel=1e-6)

    # the trainee's progress, as the command shows it (and its PNG)
    shown = run_cli("practice", "progress", "tia", "-w", str(ws.root), "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["tier"] == "annotator" and set(doc["mastery"]) - set(doc["ready"]) == set(short)
    assert Path(doc["png"]).stat().st_size > 0
    tip = run_cli("practice", "tip", "tia", "--skill", "box_tightness", "--type", "fix_boxes",
                  "-w", str(ws.root))  # fmt: skip
    assert tip.returncode == 0 and ws.store.peer_tips()[0]["task_type"] == "fix_boxes"
    unknown = run_cli("practice", "progress", "nobody", "-w", str(ws.root))
    assert unknown.returncode == 2 and "no annotator" in unknown.stderr

    # client work: the graduate's queue gets frames of the next round
    ws.store.add_annotator("ana", email=f"ana-{RUN}@example.com", tier="reviewer")
    ws.config.team_queues = True
    ws.config.honeypot_share = 0.0
    backend = TeamBackend(label_studio.url, label_studio.token, f"practice-{RUN}",
                          label_studio.files_root, poll_s=0.5)  # fmt: skip
    try:
        row = Loop(ws, backend, OnDemand()).round_until_pushed()
        mine = [a for a in ws.store.assignments(round_id=row.id) if a.annotator_id == person.id]
        assert mine and all(a.kind in ("task", "overlap") for a in mine)
        queue = ws.store.annotator("tia").queue_project_id
        assert {a.project_id for a in mine} == {queue}
    finally:
        backend.close()
        ws.close()
