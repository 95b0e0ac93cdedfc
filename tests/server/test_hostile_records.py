"""Hostile or broken annotation events against a workspace server, in process.

A webhook is a way in for anyone holding the shared secret, or for a Label Studio whose data
someone bent: timestamps far in the future or past, lead times of any size, ids beyond 64
bits, a JSON nesting bomb, a cross-site form. Each is refused with a 4xx and nothing is
recorded; and a bad row that reached the store before these checks never takes a page down:
the pages and ``hitl-active work`` show the rest and name the row.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from hitl_active.cli import main
from hitl_active.detections import Detections
from hitl_active.labelstudio import SECRET_HEADER, label_config
from hitl_active.labelstudio.project import ProjectInfo
from hitl_active.labelstudio.pull import pull_annotations
from hitl_active.server import AppSettings, create_app
from hitl_active.server.pages.keys import hash_page_key, new_page_key
from hitl_active.workspace.workspace import LoopConfig, Workspace

SECRET = "hostile-records-secret"
AUTH = {SECRET_HEADER: SECRET}
MAIN = 7
CLASSES = ("car",)
PAY = {"default": {"kind": "per_task", "rate": 1.0, "currency": "EUR", "time_rate": 12.0}}
FLOORS = "location,currency,hourly,source,date\nBerlin,EUR,15.0,living wage survey,2026-01-01\n"
BAD_WHEN = "9999-12-31T23:59:59.000000+00:00"


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="microseconds")


NOW = datetime.now(timezone.utc).replace(microsecond=0)
WHEN = _iso(NOW - timedelta(hours=2))


@pytest.fixture
def ws_root(tmp_path):
    """A workspace of one image; ana (page key in ``ws_root.key``) annotated task 101."""
    pool = tmp_path / "pool"
    pool.mkdir()
    Image.new("RGB", (100, 100)).save(pool / "a.png")
    root = tmp_path / "ws"
    root.mkdir()
    (root / "floors.csv").write_text(FLOORS)
    cfg = LoopConfig(images=str(pool), classes=list(CLASSES), label_studio_project=MAIN,
                     work={"pay": PAY, "floors": "floors.csv"})  # fmt: skip
    with Workspace.create(root, cfg, exist_ok=True) as ws:
        row = ws.store.add_annotator("ana", email="ana@x.org", location="Berlin")
        key = new_page_key()
        ws.store.update_annotator(row.id, page_key_hash=hash_page_key(key))
        (tmp_path / "key").write_text(key)
        image = ws.store.images()[0]
        ws.store.add_annotation(
            image.id, f"{MAIN}:11", "1", [], ls_task_id=101, annotator="ana@x.org",
            lead_time=300.0, updated_at=WHEN, created_at=WHEN,
        )  # fmt: skip
    return root


def _page_key(ws_root) -> dict[str, str]:
    key = (ws_root.parent / "key").read_text()
    return {"Authorization": "Basic " + base64.b64encode(f"ana:{key}".encode()).decode()}


def _image(ws_root) -> str:
    with Workspace.open(ws_root) as ws:
        return ws.store.images()[0].path


@pytest.fixture
def client(ws_root):
    settings = AppSettings(workspace=ws_root, webhook_secret=SECRET, class_names=CLASSES)
    with TestClient(create_app(settings), headers=AUTH) as c:
        yield c


def _event(image: str, **annotation: Any) -> dict[str, Any]:
    ann = {"id": 12, "task": 102, "result": [], "completed_by": 1, "lead_time": 30.0,
           "was_cancelled": False, "created_at": WHEN, "updated_at": WHEN,
           **annotation}  # fmt: skip
    task_id = ann["task"] if isinstance(ann["task"], int) else 102
    return {
        "action": "ANNOTATION_CREATED",
        "project": {"id": MAIN, "title": "p", "label_config": label_config(list(CLASSES))},
        "task": {"id": task_id, "data": {"image": image, "width": 100, "height": 100}},
        "annotation": ann,
    }


def _post(client: TestClient, event: dict[str, Any]) -> Any:
    """Sent as Python's json writes it: NaN and Infinity as the bare words JSON has not."""
    body = json.dumps(event)
    return client.post("/webhook", content=body, headers={"Content-Type": "application/json"})


def _recorded(ws_root) -> set[str]:
    with Workspace.open(ws_root) as ws:
        return {r["external_id"] for r in ws.store.annotation_log()}


def test_a_good_event_is_recorded(client, ws_root):
    r = _post(client, _event(_image(ws_root)))
    assert r.status_code == 200 and r.json()["recorded"] == 1, r.text
    assert _recorded(ws_root) == {f"{MAIN}:11", f"{MAIN}:12"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("updated_at", "9999-12-31T23:59:59Z"),
        ("updated_at", "1970-01-01T00:00:00Z"),
        ("updated_at", _iso(NOW + timedelta(days=2))),
        ("created_at", "1999-12-31T23:59:59Z"),
        ("draft_created_at", "9999-12-31T23:59:59Z"),
    ],
)
def test_a_timestamp_outside_the_sane_window_is_refused_naming_the_field(
    client, ws_root, field, value
):
    r = _post(client, _event(_image(ws_root), **{field: value}))
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"] and "annotation 12" in r.json()["detail"]
    assert _recorded(ws_root) == {f"{MAIN}:11"}


@pytest.mark.parametrize(
    "lead_time",
    [1e9, -1e9, float("inf"), float("-inf"), float("nan"), 2 * 86_400.0],
    ids=["1e9", "-1e9", "inf", "-inf", "nan", "two-days"],
)
def test_an_impossible_lead_time_is_dropped_and_the_boxes_kept(client, ws_root, caplog, lead_time):
    with caplog.at_level("WARNING"):
        r = _post(client, _event(_image(ws_root), lead_time=lead_time))
    assert r.status_code == 200 and r.json()["recorded"] == 1, r.text
    assert _recorded(ws_root) == {f"{MAIN}:11", f"{MAIN}:12"}
    with Workspace.open(ws_root) as ws:
        (row,) = [r for r in ws.store.annotation_log() if r["external_id"] == f"{MAIN}:12"]
    assert row["lead_time"] is None
    assert any("lead_time" in m and "without a lead time" in m for m in caplog.messages)


def test_a_lead_time_of_400_digits_is_refused(client, ws_root):
    r = _post(client, _event(_image(ws_root), lead_time=10**400))
    assert r.status_code == 422, r.text
    assert "lead_time" in r.json()["detail"] and len(r.content) < 400
    assert _recorded(ws_root) == {f"{MAIN}:11"}


def test_a_long_lead_time_inside_the_annotations_own_span_is_kept(client, ws_root):
    started = _iso(NOW - timedelta(days=3))  # reopened over three days: 2 days of lead time
    event = _event(_image(ws_root), lead_time=2 * 86_400.0, created_at=started)
    assert _post(client, event).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("task", 2**63), ("id", 2**63), ("id", -(2**63) - 1), ("completed_by", 2**63),
     ("task", 1e400), ("completed_by", 1e400)],
    ids=["task-2**63", "annotation-2**63", "annotation-below", "user-2**63", "task-inf",
         "user-inf"],
)  # fmt: skip
def test_an_id_out_of_the_64_bit_range_is_refused(client, ws_root, field, value):
    r = _post(client, _event(_image(ws_root), **{field: value}))
    assert 400 <= r.status_code < 500, r.text
    assert len(r.content) < 400
    assert _recorded(ws_root) == {f"{MAIN}:11"}


def test_a_deletion_with_an_id_out_of_range_is_refused(client, ws_root):
    event = {"action": "ANNOTATIONS_DELETED", "project": {"id": MAIN}, "annotations": [
        {"id": 2**63}]}  # fmt: skip
    r = _post(client, event)
    assert r.status_code == 422 and "2**63" not in r.text, r.text
    assert _recorded(ws_root) == {f"{MAIN}:11"}


def test_a_json_nesting_bomb_is_a_short_4xx(client):
    bomb = b"[" * 100_000 + b"]" * 100_000
    settings = AppSettings(webhook_secret=SECRET, max_body_bytes=len(bomb) + 10)
    with TestClient(create_app(settings), headers=AUTH) as big:
        r = big.post("/webhook", content=bomb, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and len(r.content) < 200, r.text[:300]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_the_webhook_takes_json_only_so_no_cross_site_form_reaches_it(
    client, ws_root, content_type
):
    body = json.dumps(_event(_image(ws_root)))
    basic = "Basic " + base64.b64encode(f"manager:{SECRET}".encode()).decode()
    headers = {"Authorization": basic}
    if content_type is not None:
        headers["Content-Type"] = content_type
    client.headers.pop(SECRET_HEADER)
    r = client.post("/webhook", content=body, headers=headers)
    assert r.status_code == 415 and "application/json" in r.json()["detail"], r.text
    assert _recorded(ws_root) == {f"{MAIN}:11"}
    ok = {**headers, "Content-Type": "application/json; charset=utf-8"}
    assert client.post("/webhook", content=body, headers=ok).status_code == 200


def test_head_health_is_a_200_with_no_body():
    with TestClient(create_app(AppSettings(webhook_secret=SECRET))) as c:
        r = c.head("/health")
        assert r.status_code == 200 and r.content == b""
        assert c.get("/health").json()["status"] == "UP"


class _StubEngine:
    class_names = CLASSES
    model_version = "stub-1"

    def predict(self, images: list[np.ndarray]) -> list[Detections]:
        return [Detections.empty(image_size=im.shape[1::-1]) for im in images]


@pytest.mark.parametrize(
    "url",
    ["\thttp://ls.test/data/upload/x.jpg", "http://ls.test/data/upload/x\x00.jpg",
     "http://ls.test/data/upload/x.jpg\n", "http://ls.test/data/up\rload/x.jpg"],
    ids=["tab", "nul", "newline", "cr"],
)  # fmt: skip
def test_an_image_url_with_a_control_character_is_a_one_line_422(url):
    settings = AppSettings(webhook_secret=SECRET, label_studio_url="http://ls.test",
                           label_studio_token="0123456789abcdef0123")  # fmt: skip
    body = {"tasks": [{"id": 1, "data": {"image": url}}], "label_config": label_config(["car"])}
    with TestClient(create_app(settings, engine=_StubEngine()), headers=AUTH) as c:
        r = c.post("/predict", json=body)
    assert r.status_code == 422, r.text
    assert "\n" not in r.json()["detail"] and r.json()["detail"].startswith("task 1: ")


def _bad_row(ws_root, **fields: Any) -> None:
    """A row as a store filled before the intake checks could hold it."""
    with Workspace.open(ws_root) as ws:
        image = ws.store.images()[0]
        values = {"lead_time": 60.0, "updated_at": WHEN, "created_at": WHEN, **fields}
        ws.store.add_annotation(image.id, f"{MAIN}:12", "1", [], ls_task_id=102,
                                annotator="ana@x.org", **values)  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"updated_at": BAD_WHEN}, "updated_at"),
        ({"created_at": "1970-01-01T00:00:00.000000+00:00"}, "created_at"),
        ({"lead_time": 1e9}, "lead_time"),
        ({"lead_time": float("inf")}, "lead_time"),
        ({"lead_time": -5.0}, "lead_time"),
    ],
    ids=["updated-9999", "created-1970", "lead-1e9", "lead-inf", "lead-negative"],
)
def test_one_bad_stored_row_never_takes_a_page_down(ws_root, client, capsys, fields, named):
    _bad_row(ws_root, **fields)
    pages = {
        "/manager": client.get("/manager"),
        "/manager/transparency.html": client.get("/manager/transparency.html"),
        "/manager/transparency.csv": client.get("/manager/transparency.csv"),
        "/me": client.get("/me", headers=_page_key(ws_root)),
    }
    for path, r in pages.items():
        assert r.status_code == 200, (path, r.text[-500:])
    for path in ("/manager", "/manager/transparency.html", "/me"):
        text = pages[path].text
        assert "1 work record skipped" in text and "annotation 12" in text and named in text
    assert pages["/manager/transparency.csv"].text.startswith("project,")
    assert main(["work", "-w", str(ws_root)]) == 0
    out = capsys.readouterr().out
    assert "1 work record skipped" in out and "annotation 12" in out and named in out
    assert "ana" in out
    assert main(["work", "-w", str(ws_root), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out, parse_constant=_no_constant)
    (note,) = figures["skipped"]
    assert "annotation 12" in note and named in note
    hours = figures["people"]["ana"]["hours"]
    assert 0 <= hours["active"] < 86_400 and hours["tasks"] >= 300.0


def _no_constant(name: str) -> float:
    raise AssertionError(f"the JSON holds {name}, which JSON has not")


class _PullClient:
    """Label Studio's task list for a pull: one good annotation and one with a bad field."""

    def __init__(self, tasks: list[dict[str, Any]]) -> None:
        self.tasks = tasks

    def _send(self, method: str, path: str) -> Any:
        return type("Resp", (), {"headers": {}})()

    def users(self) -> dict[int, str]:
        return {1: "ana@x.org"}

    def iter_tasks(self, project: int, **kw: Any) -> Any:
        return iter(self.tasks)

    def request(self, method: str, path: str, **kw: Any) -> Any:
        return {"tasks": [], "total": 0} if path == "/api/tasks" else []


@pytest.mark.parametrize(
    "bad",
    [{"updated_at": "9999-12-31T23:59:59Z"}, {"created_at": "1970-01-01T00:00:00Z"},
     {"id": 2**63}, {"lead_time": 10**400}],
    ids=["updated-9999", "created-1970", "annotation-2**63", "lead-400-digits"],
)  # fmt: skip
def test_a_pull_records_the_good_annotations_and_warns_about_a_bad_one(ws_root, caplog, bad):
    image = _image(ws_root)
    good = _event(image, id=13, task=103)
    worse = _event(image, **{"id": 14, "task": 104, **bad})
    tasks = [{**e["task"], "annotations": [e["annotation"]], "predictions": []}
             for e in (good, worse)]  # fmt: skip
    project = ProjectInfo(MAIN, "p", CLASSES)
    with Workspace.open(ws_root) as ws, caplog.at_level("WARNING"):
        report = pull_annotations(_PullClient(tasks), project, ws.store)  # type: ignore[arg-type]
        recorded = {r["external_id"] for r in ws.store.annotation_log()}
    assert recorded == {f"{MAIN}:11", f"{MAIN}:13"}
    assert report.recorded == 1 and report.refused == 1
    (warning,) = [r.getMessage() for r in caplog.records if "not recorded" in r.getMessage()]
    assert f"annotation {bad.get('id', 14)}" in warning
