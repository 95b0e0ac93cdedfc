"""A simulated working week on a real Label Studio: eight annotators and two trainees, each
their own Label Studio user with their own queue, work four rounds (the week's work days,
run back to back: the daily cap is the one that binds). Some save a draft first (read by the
pull while it exists), some skip tasks (``was_cancelled``); fast and slow people take 150 s
and 420 s a task; after the first day the trainees practise on the training track (paid
practice tasks in their own practice projects). Caps are low, so people reach them mid-week.

Checked: no task is routed to anyone at a cap, nobody gets more tasks than fit under it
(from the test's own tally of the seconds each person submitted), some people do reach it,
and every skipped, drafted and practice second appears in the hours and in the pay.
"""

from __future__ import annotations

import math
import uuid

import numpy as np
import pytest

from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.labelstudio.users import invite_link, signup
from hitl_active.loop.backends import load_truths
from hitl_active.team.practice_track import PracticeTrack
from hitl_active.team.team import TeamBackend
from hitl_active.team.team_work_figures import team_work
from tests.loop.loop_helpers import tiny_dataset, tiny_workspace

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]
CAP_S, TASK_S, TIME_RATE, RATE = 1080.0, 240.0, 12.0, 0.6
# name: (tier, seconds per task)
PEOPLE = {
    "an0": ("reviewer", 420.0),  # a reviewer's labels are the trainees' practice answer keys
    **{f"an{i}": ("annotator", 150.0 if i % 2 else 420.0) for i in range(1, 8)},
    "tr0": ("trainee", 300.0), "tr1": ("trainee", 300.0),
}  # fmt: skip
ROUNDS, FRAMES = 4, 20
PRACTICE_S = 200.0


def _practise(track: PracticeTrack, name: str, url: str, token: str) -> float:
    """Two practice tasks answered (empty) in PRACTICE_S each and graded; the seconds."""
    pushed = track.push_next(name, n=2)
    with LabelStudioClient(url, token) as c:
        for p in pushed:
            c.request("POST", f"/api/tasks/{p.ls_task_id}/annotations",
                      json={"result": [], "lead_time": PRACTICE_S})  # fmt: skip
    graded, _ = track.grade(name)
    assert graded == len(pushed) > 0
    return PRACTICE_S * len(pushed)


def _submit(url: str, token: str, tasks: list[int], lead: float, rng, draft_share: float,
            skip_share: float) -> tuple[list[tuple[int, int]], int, int]:  # fmt: skip
    """Drafts saved now (ids), then the tasks submitted or skipped by ``_finish``."""
    drafts = []
    with LabelStudioClient(url, token) as c:
        for task in tasks:
            if rng.random() < draft_share:
                d = c.request("POST", f"/api/tasks/{task}/drafts",
                              json={"result": [], "lead_time": lead / 2})  # fmt: skip
                drafts.append((task, int(d["id"])))
    skips = int(sum(rng.random() < skip_share for _ in tasks))
    return drafts, skips, len(tasks) - skips


def _finish(url: str, token: str, tasks: list[int], lead: float, drafts: dict[int, int],
            skips: int, results: dict[int, list]) -> None:  # fmt: skip
    with LabelStudioClient(url, token) as c:
        for k, task in enumerate(tasks):
            body = {"result": [] if k < skips else results[task], "lead_time": lead,
                    "was_cancelled": k < skips}  # fmt: skip
            if task in drafts:
                body["draft_id"] = drafts[task]
            c.request("POST", f"/api/tasks/{task}/annotations", json=body)


def test_a_week_of_ten_people_stops_at_the_caps_and_pays_every_second(label_studio, tmp_path):
    data = tiny_dataset(label_studio.files_root / f"week-{RUN}", n_images=90, seed=11)
    ws = tiny_workspace(tmp_path / "ws", data, round_size=FRAMES, gold_size=6)
    ws.config.team_queues = True
    ws.config.honeypot_share = 0.0  # every routed task is client work here
    ws.config.overlap_share = 0.0
    ws.config.work = {
        "pay": {"default": {"kind": "per_task", "rate": RATE, "currency": "EUR",
                            "time_rate": TIME_RATE}},
        "caps": {"hours_per_day": CAP_S / 3600, "hours_per_week": 40},
        "task_seconds": TASK_S,
    }  # fmt: skip
    with LabelStudioClient(label_studio.url, label_studio.token) as admin:
        invite = invite_link(admin)
    tokens = {}
    for name, (tier, _) in PEOPLE.items():
        email = f"{name}-{RUN}@example.com"
        ws.store.add_annotator(name, email=email, tier=tier)
        tokens[name] = signup(label_studio.url, invite, email, f"pw-{RUN}-{name}")
    backend = TeamBackend(label_studio.url, label_studio.token, f"week-{RUN}",
                          label_studio.files_root, poll_s=0.5)  # fmt: skip
    rng = np.random.default_rng(3)
    worked = dict.fromkeys(PEOPLE, 0.0)  # seconds each person submitted (test's own tally)
    done = {n: [0, 0] for n in PEOPLE}  # submitted, skipped
    n_drafts, capped_seen = 0, set()
    pool = [img.id for img in ws.store.images("pool")]
    truths = load_truths(ws, data / "labels")
    names = ws.config.classes

    def truth_of(a) -> list:
        return to_ls_results(truths[ws.store.image(a.image_id).path], names)

    admin = LabelStudioClient(label_studio.url, label_studio.token)
    track = PracticeTrack(ws, admin, label_studio.files_root, project_title=f"week-{RUN}")
    practised: dict[str, float] = {}
    try:
        ids = {p.name: p.id for p in ws.store.annotators()}
        for day in range(ROUNDS):
            frames, pool = pool[:FRAMES], pool[FRAMES:]
            round_id = ws.store.start_round(None).id
            backend.push(ws, round_id, frames, None)
            queues = {n: [a.ls_task_id for a in ws.store.assignments(round_id=round_id,
                                                                     annotator_id=ids[n])]
                      for n in PEOPLE}  # fmt: skip
            for name, tasks in queues.items():
                # nothing past a cap: only as many tasks as fit in what is left today
                room = max(0, math.floor((CAP_S - worked[name]) / TASK_S + 1e-9))
                assert len(tasks) <= room, (day, name, worked[name], tasks)
                if room == 0:
                    capped_seen.add(name)
            plans = {}
            for name, tasks in queues.items():
                lead = PEOPLE[name][1]
                plans[name] = _submit(label_studio.url, tokens[name], tasks, lead, rng, 0.3, 0.2)
                n_drafts += len(plans[name][0])
            backend.pull(ws)  # drafts are read while they exist
            for name, tasks in queues.items():
                drafts, skips, submitted = plans[name]
                lead = PEOPLE[name][1]
                results = {a.ls_task_id: truth_of(a) for a in ws.store.assignments(
                    round_id=round_id, annotator_id=ids[name])}  # fmt: skip
                _finish(label_studio.url, tokens[name], tasks, lead, dict(drafts), skips, results)
                worked[name] += lead * len(tasks)
                done[name][0] += submitted
                done[name][1] += skips
            backend.pull(ws)
            assert not ws.store.open_assignments(round_id)
            if day == 0:  # the trainees practise (paid) on what the team labelled today
                for name in ("tr0", "tr1"):
                    practised[name] = _practise(track, name, label_studio.url, tokens[name])
                    worked[name] += practised[name]

        assert len(capped_seen) >= 3, capped_seen  # the caps were reached, not just set
        assert len(ws.store.drafts()) == n_drafts > 0
        work = team_work(ws)
        for name, (_, lead) in PEOPLE.items():
            p, (submitted, skipped) = work.people[name], done[name]
            # each submitted second once (a draft's lead time is inside its annotation's)
            assert p.hours.tasks == pytest.approx(submitted * lead)
            assert p.hours.skipped == pytest.approx(skipped * lead)
            assert p.hours.drafts == 0  # every draft was matched to what it became
            assert p.hours.active >= worked[name] - 1e-6
            assert (p.tasks, p.skipped) == (submitted, skipped)
            if not worked[name]:
                continue
            parts = p.pay.parts
            assert parts.get("tasks", 0.0) == pytest.approx(submitted * RATE)
            # every skipped second is paid, at least its own lead time at the time rate
            assert parts.get("skipped", 0.0) >= skipped * lead / 3600 * TIME_RATE - 1e-9
            assert p.pay.active_seconds == pytest.approx(p.hours.active)
            # every practice second counts and is paid, at least at the time rate
            assert p.hours.practice == pytest.approx(practised.get(name, 0.0))
            assert parts.get("practice", 0.0) >= practised.get(name, 0.0) / 3600 * TIME_RATE - 1e-9
        assert all(practised.values()) and len(practised) == 2
        paid = sum(p.pay.parts.get("practice", 0.0) for p in work.people.values() if p.pay)
        assert sum(r.training_paid for r in work.transparency) == pytest.approx(paid)
        capped = {n for n, p in work.people.items() if p.capped}
        assert capped >= {n for n in PEOPLE if worked[n] >= CAP_S}
        flagged = {f.annotator for f in work.flags if f.kind == "hours_per_day"}
        assert flagged == {n for n in PEOPLE if work.people[n].workload.day_seconds >= CAP_S}
        # the projects' hours add up to the team's: no skipped or drafted minute is lost
        total = sum(p.hours.active for p in work.people.values()) / 3600
        assert sum(r.hours for r in work.transparency) == pytest.approx(total)
    finally:
        admin.close()
        backend.close()
        ws.close()
