"""Fair work read from a workspace store filled as the Label Studio pull fills it: a draft fed
into an annotation, the annotation reopened and saved unchanged, a skip, a draft never
submitted, an idle gap, a practice task of the training track, and a second person on an
hourly project. Every expected figure below is worked out by hand in the comments."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from hitl_active.detections import Detections
from hitl_active.labelstudio.project import ProjectInfo
from hitl_active.labelstudio.records import build_record
from hitl_active.store import schema as t
from hitl_active.team.team_work import practice_events, work_events
from hitl_active.team.team_work_figures import capacities, room_left_today, team_work
from hitl_active.workspace.config import WorkspaceError
from hitl_active.workspace.workspace import LoopConfig, Workspace

MAIN, HOURLY, PRACTICE = 7, 9, 8  # Label Studio projects: the workspace's, another, practice
DAY = "2026-03-02"  # a Monday
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
BOX = {
    "from_name": "label", "to_name": "image", "type": "rectanglelabels",
    "original_width": 100, "original_height": 100,
    "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["car"]},
}  # fmt: skip
WORK = {
    "pay": {"default": {"kind": "per_task", "rate": 0.5, "currency": "EUR", "time_rate": 12.0},
            HOURLY: {"kind": "hourly", "rate": 15.0, "currency": "EUR"}},
    "floors": "floors.csv",
    "caps": {"hours_per_day": 0.15},  # 540 s
    "task_seconds": 30,
}  # fmt: skip


def at(clock: str) -> str:
    return f"{DAY}T{clock}Z"


def record(ws, project, task, ann, who, recorded=True):
    info = ProjectInfo(project, "p", ("car",))
    path = str(ws.store.images()[0].path)
    data = {"id": task, "data": {"image": path, "width": 100, "height": 100}}
    ann = {"task": task, "completed_by": who, **ann}
    users = {1: "ana@x.org", 2: "ben@x.org"}
    assert ws.store.record_annotation(build_record(info, data, ann, [], users)) is recorded


def ann(record_id, lead_time, clock, boxes=1, **more):
    """An annotation as Label Studio returns it, submitted at ``clock`` on DAY."""
    return {"id": record_id, "result": [BOX] * boxes, "lead_time": lead_time,
            "created_at": at(clock), "updated_at": at(clock), **more}  # fmt: skip


@pytest.fixture
def ws(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    Image.new("RGB", (100, 100)).save(pool / "a.png")
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "floors.csv").write_text(
        "location,currency,hourly,source,date\nBerlin,EUR,12.0,city living wage table,2026-01-01\n"
    )
    cfg = LoopConfig(images=str(pool), classes=["car"], label_studio_project=MAIN, work=WORK)
    ws = Workspace.create(tmp_path / "ws", cfg, exist_ok=True)
    ana = ws.store.add_annotator("ana", email="ana@x.org", location="Berlin",
                                 practice_project_id=PRACTICE)  # fmt: skip
    ws.store.add_annotator("ben", email="ben@x.org")
    # ana: a draft (40 s) submitted as annotation 11 (100 s in all, the draft's 40 inside)
    ws.store.record_draft(MAIN, {"id": 1, "task": 101, "annotation": None, "lead_time": 40.0,
                                 "created_at": at("09:00:00"), "updated_at": at("09:00:40")},
                          "ana@x.org")  # fmt: skip
    first = ann(11, 100.0, "09:01:40", boxes=2, draft_created_at=at("09:00:00"))
    record(ws, MAIN, 101, first, 1)
    # reopened at 09:02:40 and saved unchanged at 09:03:10: 30 s more, the same boxes
    record(ws, MAIN, 101, first | {"lead_time": 130.0, "updated_at": at("09:03:10")}, 1)
    # a skip of task 102 (20 s)
    record(ws, MAIN, 102, ann(12, 20.0, "09:04:00", boxes=0, was_cancelled=True), 1)
    # an hour later: task 103 (50 s), then a draft of task 104 never submitted (30 s)
    record(ws, MAIN, 103, ann(13, 50.0, "10:00:00"), 1)
    ws.store.record_draft(MAIN, {"id": 2, "task": 104, "annotation": None, "lead_time": 30.0,
                                 "created_at": at("10:01:00"), "updated_at": at("10:01:30")},
                          "ana@x.org")  # fmt: skip
    # practice: 120 s graded at 11:00 (its answer pulled from the practice project is refused)
    with ws.store.transaction() as c:
        c.execute(sa.insert(t.practice_attempts).values(
            annotator_id=ana.id, task_key="verify-1", task_type="verify", project_id=PRACTICE,
            ls_task_id=301, pushed_at=0.0, answered_at=NOW.replace(hour=11).timestamp(),
            seconds=120.0, outcome_json="{}",
        ))  # fmt: skip
    record(ws, PRACTICE, 301, ann(31, 120.0, "11:00:00"), 1, recorded=False)
    # ben: 600 s on the hourly project
    record(ws, HOURLY, 201, ann(21, 600.0, "09:10:00"), 2)
    yield ws
    ws.close()


def test_the_log_holds_each_revision_draft_and_practice_task_once(ws):
    events = work_events(ws)
    kinds = sorted((e.annotator, e.kind, e.record, e.lead_time) for e in events)
    assert kinds == [
        ("ana", "annotation", -1, 120.0),  # practice, from the training track only
        ("ana", "annotation", 11, 100.0),
        ("ana", "annotation", 11, 130.0),  # the reopened revision is kept
        ("ana", "annotation", 13, 50.0),
        ("ana", "draft", 1, 40.0),
        ("ana", "draft", 2, 30.0),
        ("ana", "skip", 12, 20.0),
        ("ben", "annotation", 21, 600.0),
    ]
    # queues and practice count under the workspace's project; a project with its own pay
    # entry stays itself
    assert {e.project for e in events if e.annotator == "ana"} == {MAIN}
    assert {e.project for e in events if e.annotator == "ben"} == {HOURLY}
    (practice,) = practice_events(ws)
    assert practice.practice and practice.task == 301
    first = next(e for e in events if e.record == 11)
    assert first.draft_created == datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_a_practice_answer_is_never_recorded_as_an_annotation_nor_trained_on(ws):
    from hitl_active.loop.steps import training_items

    assert not [a for a in ws.store.annotations() if a.external_id.startswith(f"{PRACTICE}:")]
    assert all(not e["annotation"].startswith(f"{PRACTICE}:") for _, _, e in training_items(ws))


def test_hours_pay_and_wage_written_by_hand(ws):
    work = team_work(ws, now=NOW)
    ana, ben = work.people["ana"].hours, work.people["ben"].hours
    # session 1 09:00:00-09:04:00 (240 s): draft 40 + annotation 60 + reopened 30 + skip 20;
    # session 2 09:59:10-10:01:30 (140 s): task 50 + unsubmitted draft 30; practice 120 s
    assert ana.active == pytest.approx(240 + 140 + 120)
    assert (ana.tasks, ana.skipped, ana.drafts, ana.practice) == pytest.approx((180, 20, 30, 120))
    assert ana.between == pytest.approx(90 + 60)
    assert ana.invisible_share == pytest.approx((500 - 180) / 500)
    assert ben.active == pytest.approx(600)
    a = work.people["ana"]
    assert (a.tasks, a.skipped, a.practice_tasks) == (2, 1, 1)
    # ana, per task 0.50: 2 tasks; the skip's share of session 1 (240 * 20/150 = 32 s) and the
    # practice's 120 s at 12.00/h
    skip_pay, practice_pay = 32 / 3600 * 12.0, 120 / 3600 * 12.0
    assert a.pay.parts == pytest.approx(
        {"tasks": 1.0, "skipped": skip_pay, "practice": practice_pay}
    )
    assert a.wage == pytest.approx((1.0 + skip_pay + practice_pay) * 3600 / 500)  # 10.85
    assert a.floor.hourly == 12.0 and a.below_floor
    (flag,) = [f for f in a.flags if f.kind == "wage_below_floor"]
    assert "city living wage table" in " ".join(flag.evidence)
    b = work.people["ben"]  # hourly 15.00 for 600 s; no location, so no floor
    assert b.pay.amount == pytest.approx(2.5) and b.wage == pytest.approx(15.0)
    assert b.floor is None and not b.below_floor
    rows = {r.project: r for r in work.transparency}
    assert rows[MAIN].hours == pytest.approx(500 / 3600)
    assert rows[MAIN].training_paid == pytest.approx(practice_pay)
    assert rows[HOURLY].pay == pytest.approx(2.5) and work.currency == "EUR"


def test_the_time_and_wage_shown_before_a_batch(ws):
    est = team_work(ws, now=NOW).estimate
    # task 101 took 130 of session 1's 150 lead seconds, so 208 of its 240 active ones; task
    # 103 50 of 80, so 87.5 of 140: the median is 147.75 s, and 0.50 a task is 12.18 an hour
    assert est.pilot_tasks == 2 and est.task_seconds == pytest.approx(147.75)
    assert est.total_seconds == pytest.approx(1477.5)  # a batch of 10
    assert est.wage == pytest.approx(0.5 * 3600 / 147.75)


def test_caps_leave_room_in_tasks_and_stop_at_the_cap(ws):
    rooms = room_left_today(ws, NOW)
    # cap 540 s a day: ana worked 500 s, room for one 30 s task; ben 600 s, none
    assert rooms["ana"][0] == 1 and rooms["ana"][2] is None
    assert rooms["ben"][0] == 0 and "today" in rooms["ben"][2]
    work = team_work(ws, now=NOW)
    assert work.people["ben"].capped and not work.people["ana"].capped
    assert [f.kind for f in work.people["ben"].flags] == ["hours_per_day"]
    # the next day nobody is capped; this week's hours stay
    tomorrow = team_work(ws, now=NOW.replace(day=3))
    assert tomorrow.people["ben"].room_left == 18  # 540 s / 30 s
    assert tomorrow.people["ben"].week.active == pytest.approx(600)


def test_routing_capacity_leaves_room_for_the_honeypots_too(ws):
    # ana has room for one task: alone it fits, with a honeypot beside it it does not
    assert capacities(ws, 0.0, NOW) == {"ana": 1, "ben": 0}
    assert capacities(ws, 0.1, NOW) == {"ana": 0, "ben": 0}
    tomorrow = NOW.replace(day=3)  # 18 tasks of room: 16 frames and 2 honeypots
    assert capacities(ws, 0.1, tomorrow)["ben"] == 16


def test_a_draft_keeps_its_latest_state_and_open_tasks_are_where_drafts_wait(ws):
    draft = {"id": 2, "task": 104, "annotation": None, "lead_time": 45.0,
             "created_at": at("10:01:00"), "updated_at": at("10:01:45")}  # fmt: skip
    assert ws.store.record_draft(MAIN, draft, "ana@x.org")  # saved again, 15 s more
    older = draft | {"lead_time": 30.0, "updated_at": at("10:01:30")}
    assert not ws.store.record_draft(MAIN, older, "ana@x.org")  # a late copy changes nothing
    assert not ws.store.record_draft(MAIN, draft, "ana@x.org")
    (row,) = [d for d in ws.store.drafts() if d["draft_id"] == 2]
    assert row["lead_time"] == 45.0
    ws.store.add_task(ws.store.images()[0].id, None, 104, MAIN, None)
    assert ws.store.open_task_ids(MAIN) == [104] and ws.store.open_task_ids(HOURLY) == []
    record(ws, MAIN, 104, ann(14, 60.0, "10:02:00", draft_created_at=at("10:01:00")), 1)
    assert ws.store.open_task_ids(MAIN) == []
    # the draft's 45 s are inside the annotation's 60: session 2 ends at 10:02:00 now
    assert team_work(ws, now=NOW).people["ana"].hours.drafts == 0


def test_roi_hours_per_gold_map_point_and_cost_per_accepted_box(ws):
    mv = t.model_versions
    for name, clock, gold in (("v1", "09:30:00", 0.10), ("v2", "12:00:00", 0.15)):
        ws.store.add_model_version(name, None, "candidate")
        ws.store.update_model_version(name, metrics={"gold": {"map50_95": gold}})
        created = datetime.fromisoformat(at(clock)).timestamp()
        with ws.store.transaction() as c:
            c.execute(sa.update(mv).where(mv.c.name == name).values(created_at=created))
    boxes = {"human": 3, "human_accepted": 1, "model": 4}
    work = team_work(ws, now=NOW, provenance=boxes, human_sources=("human", "human_accepted"))
    r = work.roi
    # by 09:30 ana's first session (240 s) and ben's (600 s) had ended; by 12:00 all 1100 s:
    # 260 s for 5 points of mAP
    assert r.hours_per_point == pytest.approx(260 / 3600 / 5)
    pay = 1.0 + (32 + 120) / 3600 * 12.0 + 2.5  # ana's and ben's, all time
    assert r.cost == pytest.approx(pay) and r.cost_per_accepted_box == pytest.approx(pay / 4)
    assert r.human_verified_share == pytest.approx(0.5)


def test_sensitive_work_is_never_routed_to_who_opted_out_and_its_minutes_are_capped(ws):
    ws.config.work = {**WORK, "sensitive": True, "caps": {"sensitive_minutes_per_day": 5}}
    ana = ws.store.annotator("ana")
    tomorrow = NOW.replace(day=3)
    assert capacities(ws, 0.0, tomorrow) == {"ana": 10, "ben": 10}  # 5 min in tasks of 30 s
    ws.store.update_annotator(ana.id, sensitive_opt_out=1)
    assert capacities(ws, 0.0, tomorrow) == {"ana": 0, "ben": 10}
    # today ana spent 230 s on sensitive client work: tasks 180, the skip 20, the draft 30
    # (her practice is not sensitive content)
    work = team_work(ws, now=NOW)
    assert work.people["ana"].workload.sensitive_seconds == pytest.approx(180 + 20 + 30)
    assert "sensitive_opt_out" in [f.kind for f in work.people["ana"].flags]


def test_a_period_counts_only_its_days(ws):
    work = team_work(ws, days=(date(2026, 3, 3), date(2026, 3, 8)), now=NOW)
    assert work.people["ana"].hours.active == 0 and work.people["ana"].tasks == 0
    assert work.people["ana"].pay is None or work.people["ana"].pay.amount == 0


def test_a_project_without_pay_is_a_clear_error(ws):
    ws.config.work = {"pay": {HOURLY: {"kind": "hourly", "rate": 15.0, "currency": "EUR"}}}
    with pytest.raises(WorkspaceError, match=f"project {MAIN} has work but no pay model"):
        team_work(ws, now=NOW)


def test_skips_per_class_are_signalled_from_the_classes_each_task_showed(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    Image.new("RGB", (100, 100)).save(pool / "a.png")
    cfg = LoopConfig(images=str(pool), classes=["car", "bus"], label_studio_project=MAIN)
    with Workspace.create(tmp_path / "ws", cfg) as ws:
        ws.store.add_annotator("ana", email="ana@x.org")
        ws.store.add_images([(f"/img/{i}.png", 100, 100, None, "pool") for i in range(60)])
        images = [img for img in ws.store.images() if img.path.startswith("/img/")]
        rows = []
        for i, img in enumerate(images):  # the first 30 show a car, the others a bus
            probs = np.array([[0.9, 0.1] if i < 30 else [0.1, 0.9]], np.float32)
            box = np.array([[10, 10, 50, 50]], np.float32)
            dets = Detections.from_class_probs(box, probs, image_size=(100, 100))
            rows.append((img.id, dets, None, None))
            ws.store.add_task(img.id, None, 1000 + i, MAIN, "v1", image_key=img.path)
        ws.store.put_predictions("v1", rows)
        for i, img in enumerate(images):  # half the car tasks are skipped, no bus task
            info = ProjectInfo(MAIN, "p", ("car", "bus"))
            data = {"id": 1000 + i, "data": {"image": img.path, "width": 100, "height": 100}}
            a = ann(2000 + i, 30.0, f"09:{i // 2:02d}:{30 * (i % 2):02d}", boxes=0,
                    was_cancelled=i < 15, task=1000 + i, completed_by=1)  # fmt: skip
            assert ws.store.record_annotation(build_record(info, data, a, [], {1: "ana@x.org"}))
        (signal,) = team_work(ws, now=NOW).skip_signals
    assert signal.classes == (0,) and signal.n == 30
    assert (signal.value, signal.baseline) == pytest.approx((0.5, 0.0))
    assert "'car'" in signal.message and "ana" not in signal.message


def test_the_account_that_administers_the_project_is_no_annotator_unless_added(ws):
    ws.store.add_admin_account(3, "owner@x.org")  # recorded when the workspace was bound
    info = ProjectInfo(MAIN, "p", ("car",))
    data = {"id": 105, "data": {"image": str(ws.store.images()[0].path)}}
    answer = {"task": 105, "completed_by": 3, **ann(14, 80.0, "11:30:00")}
    assert ws.store.record_annotation(build_record(info, data, answer, [], {3: "owner@x.org"}))
    assert [a.annotator for a in ws.store.answers() if a.ls_task_id == 105] == ["owner@x.org"]
    assert ws.store.annotator("owner@x.org") is None  # no record, so no queue and no routing
    assert {e.annotator for e in work_events(ws)} == {"ana", "ben"}  # nor hours or pay
    assert set(team_work(ws, now=NOW).people) == {"ana", "ben"}
    ws.store.add_annotator("olu", email="owner@x.org")  # `annotators add`: now an annotator
    assert "olu" in {e.annotator for e in work_events(ws)}
