"""Three simulated people, each their own Label Studio user, working their queues.

Round 1 routes a batch with overlap and honeypots into one queue project per person; they
answer through Label Studio's API with their own tokens; the honeypots score them, the
overlapped image trains on the consensus of its answers. Round 2 routes the hardest
frame to the person whose gold recall is highest, and gives the trainee easy frames only.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from hitl_active.bench.simulated_annotator import AnnotatorProfile, SimulatedAnnotator
from hitl_active.bench.team_member import PlantedMember
from hitl_active.delivery.export import collect_labels
from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.labelstudio.users import invite_link, signup
from hitl_active.loop import steps
from hitl_active.loop.backends import load_truths
from hitl_active.loop.import_model import import_model
from hitl_active.loop.policy import OnDemand
from hitl_active.loop.rounds import Loop
from hitl_active.team.team import SimulatedMember, TeamBackend
from hitl_active.team.team_skill import team_skills
from tests.loop.loop_helpers import tiny_dataset, tiny_workspace

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]
# name: (tier, planted recall); the skilled one's name sorts first, so a router blind to skill
# (ties go to the later name) would route the hardest frame to "ben"
PEOPLE = {"ana": ("reviewer", 0.97), "ben": ("annotator", 0.6), "cai": ("trainee", 0.35)}


def test_three_people_queues_honeypots_overlap_and_routing(label_studio, tiny_model, tmp_path):
    data = tiny_dataset(label_studio.files_root / f"team-{RUN}", n_images=44, seed=5)
    ws = tiny_workspace(tmp_path / "ws", data, round_size=8, gold_size=16)
    ws.config.team_queues = True
    ws.config.honeypot_share = 0.5  # a large share, so one round of gold already tells skill
    ws.config.overlap_share = 0.125  # one frame of eight to two people
    import_model(ws, tiny_model.onnx, force=True)
    truths = load_truths(ws, data / "labels")
    n_classes = len(ws.config.classes)

    with LabelStudioClient(label_studio.url, label_studio.token) as admin:
        invite = invite_link(admin)
    members = {}
    for k, (name, (tier, recall)) in enumerate(PEOPLE.items()):
        email = f"{name}-{RUN}@example.com"
        row = ws.store.add_annotator(name, email=email, tier=tier)
        if tier == "trainee":  # cleared by a manager for client work before the track's ready
            ws.store.update_annotator(row.id, client_work=1, client_work_by="mia")
        token = signup(label_studio.url, invite, email, f"pw-{RUN}-{name}")
        profile = AnnotatorProfile.uniform(n_classes, recall, fp_rate=0.0, box_noise=0.02)
        sim = SimulatedAnnotator(name, profile)
        member = PlantedMember(sim, truths, ws.config.conf_threshold, np.random.default_rng(k))
        members[name] = SimulatedMember(token, member)

    backend = TeamBackend(
        label_studio.url, label_studio.token, f"team-{RUN}", label_studio.files_root,
        members=members, poll_s=0.5,
    )  # fmt: skip
    loop = Loop(ws, backend, OnDemand())
    try:
        # ---- round 1: queues, honeypots, overlap
        row = loop.round_until_pushed()
        plan = ws.store.assignments(round_id=row.id)
        people = {p.name: p for p in ws.store.annotators()}
        by_id = {p.id: p.name for p in people.values()}
        assert all(p.queue_project_id for p in people.values())  # one queue each
        assert len({p.queue_project_id for p in people.values()}) == 3
        pots = [a for a in plan if a.kind == "honeypot"]
        assert {by_id[a.annotator_id] for a in pots} == set(PEOPLE)  # everyone gets gold
        gold_ids = {img.id for img in ws.store.images("gold")}
        assert {a.image_id for a in pots} <= gold_ids
        overlapped = {a.image_id for a in plan if a.kind == "overlap"}
        assert len(overlapped) == 1
        # to the two who do client work (a trainee's answer never enters a consensus)
        assert {by_id[a.annotator_id] for a in plan if a.kind == "overlap"} == {"ana", "ben"}

        # a honeypot looks like any task: same data fields, pre-labels of the round's version
        tasks = {
            t["id"]: t
            for p in people.values()
            for t in backend.client.iter_tasks(p.queue_project_id)
        }
        assert len(tasks) == len(plan)
        pot_task, work_task = tasks[pots[0].ls_task_id], tasks[plan[0].ls_task_id]
        assert set(pot_task["data"]) == set(work_task["data"])
        assert [p["model_version"] for p in pot_task["predictions"]] == [row.model_version]

        summary = loop.run_round(wait_timeout_s=120)
        assert summary is not None and summary.pending == 0

        # every answer came back, as its own person
        answers = ws.store.answers()
        assert {a.annotator for a in answers} == {f"{n}-{RUN}@example.com" for n in PEOPLE}
        # the overlapped image trains on the consensus of its answers
        items = {entry["id"]: (labels, entry) for _, labels, entry in steps.training_items(ws)}
        (image_id,) = overlapped
        labels, entry = items[image_id]
        assert entry["annotation"].startswith("consensus:") and entry["annotation"].count("+") == 1
        assert all(m["source"] == "consensus" for m in labels.box_meta or [])
        # and is delivered so, naming whose answers it merges
        delivered = {lab.image: lab for lab in collect_labels(ws)}
        emails = {f"{n}-{RUN}@example.com" for n in ("ana", "ben")}
        meta = delivered[ws.store.image(image_id).path].box_meta or []
        assert all(m["source"] == "consensus" and set(m["annotators"]) <= emails for m in meta)
        # honeypot answers are scored and never become gold truth, training data or delivery
        assert not gold_ids & set(items)
        truth_boxes = {img.id: len(lab) for img, lab in steps.gold_truths(ws)}
        for a in pots:
            path = ws.store.image(a.image_id).path
            assert truth_boxes[a.image_id] == len(truths[path])
            assert not any("annotator" in m for m in delivered[path].box_meta or [])
        skills = team_skills(ws)
        found = {name: skills.gold[name].overall.counts for name in PEOPLE}
        assert all(c.objects > 0 for c in found.values())
        assert found["ana"].found / found["ana"].objects > (
            found["cai"].found / found["cai"].objects
        )

        # ---- round 2: the hardest frame goes to the expert, the trainee gets easy frames
        row2 = loop.round_until_pushed()
        ranks = ws.store.selection_scores(row2.id)
        hardest = min(ranks, key=lambda i: ranks[i][0])
        plan2 = ws.store.assignments(round_id=row2.id)
        assert "ana" in {by_id[a.annotator_id] for a in plan2 if a.image_id == hardest}
        trainee_work = [a.image_id for a in plan2
                       if by_id[a.annotator_id] == "cai" and a.kind != "honeypot"]  # fmt: skip
        order = sorted(ranks, key=lambda i: ranks[i][0])
        assert all(order.index(i) >= len(order) // 2 for i in trainee_work)
    finally:
        backend.close()
        ws.close()


def test_the_queues_command_makes_a_project_per_annotator_and_turns_routing_on(
    label_studio, tmp_path
):
    import os

    import yaml

    from tests.loop.loop_helpers import run_cli

    data = tiny_dataset(label_studio.files_root / f"queues-{RUN}", n_images=12, seed=6)
    ws = tiny_workspace(tmp_path / "ws", data, round_size=4, gold_size=4)
    ws.close()
    w = str(tmp_path / "ws")
    env = dict(os.environ, LABEL_STUDIO_URL=label_studio.url,
               LABEL_STUDIO_API_KEY=label_studio.token,
               LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(label_studio.files_root))  # fmt: skip
    bad = run_cli("annotators", "queues", "-w", w, env=env)
    assert bad.returncode == 2 and "annotators add" in bad.stderr
    for name in ("dee", "eli"):
        assert run_cli("annotators", "add", name, "--email", f"{name}-{RUN}@example.com",
                       "-w", w, env=env).returncode == 0  # fmt: skip
    done = run_cli("annotators", "queues", "-w", w, "--project", f"queues-{RUN}", env=env)
    assert done.returncode == 0, done.stderr
    assert "dee: project" in done.stdout and "eli: project" in done.stdout
    config = yaml.safe_load((tmp_path / "ws" / "hitl-active.yaml").read_text())
    assert config["team_queues"] is True
    with LabelStudioClient(label_studio.url, label_studio.token) as admin:
        titles = {p["title"] for p in admin.projects()}
    assert {f"queues-{RUN} · dee", f"queues-{RUN} · eli"} <= titles
    off = run_cli("annotators", "queues", "--off", "-w", w, env=env)
    assert off.returncode == 0
    assert (
        yaml.safe_load((tmp_path / "ws" / "hitl-active.yaml").read_text())["team_queues"] is False
    )
