"""A hostile caller against a real `hitl-active serve` process with a real ONNX model.

Two servers per module: one started with a Label Studio (a recording HTTP server standing in
for Label Studio's file routes) and one started without. Another recording server plays
some other service on this host: no request may ever reach it.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from server_helpers import Recorder, free_port, recording_server, serve_process

from hitl_active.labelstudio import SECRET_HEADER, label_config
from hitl_active.labelstudio.media import REFUSED, UNREADABLE

SECRET = "hostile-secret"
TOKEN = "0123456789abcdef0123"  # a legacy token: sent as "Token <token>"
AUTH = {SECRET_HEADER: SECRET}
LOCAL = "/data/local-files/?d=images/a.jpg"
IMAGE_CAP = 200_000


@pytest.fixture(scope="module")
def files_root(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    (root / "images").mkdir()
    first = sorted(tiny_model.dataset.images_dir.glob("*.jpg"))[0]
    (root / "images" / "a.jpg").write_bytes(first.read_bytes())
    return root


@pytest.fixture(scope="module")
def elsewhere(files_root):
    image = (files_root / "images" / "a.jpg").read_bytes()
    recorder = Recorder(files={"/data/upload/a.jpg": image, "/api/predictions": b"[]"})
    with recording_server(recorder):
        yield recorder


@pytest.fixture(scope="module")
def label_studio(files_root, elsewhere):
    image = (files_root / "images" / "a.jpg").read_bytes()
    huge = b"\xff" * (IMAGE_CAP + 100_000)
    recorder = Recorder(
        files={"/data/upload/a.jpg": image, "/data/upload/huge.jpg": huge},
        redirects={
            "/data/upload/hop.jpg": "/data/upload/a.jpg",
            "/data/upload/away.jpg": f"{elsewhere.url}/data/upload/a.jpg",
        },
    )
    recorder.files["/data/upload/huge-unsized.jpg"] = huge
    recorder.unsized.add("/data/upload/huge-unsized.jpg")
    with recording_server(recorder):
        yield recorder


@pytest.fixture(scope="module")
def served(tiny_model, files_root, label_studio):
    env = {
        "HITL_WEBHOOK_SECRET": SECRET,
        "LABEL_STUDIO_URL": label_studio.url,
        "LABEL_STUDIO_API_KEY": TOKEN,
        "HITL_MAX_IMAGE_BYTES": str(IMAGE_CAP),
    }
    with serve_process(tiny_model.onnx, files_root, env) as url:
        yield url


@pytest.fixture(scope="module")
def bare(tiny_model, files_root):
    """Started without a Label Studio: task images from the local-files root only."""
    with serve_process(tiny_model.onnx, files_root, {"HITL_WEBHOOK_SECRET": SECRET}) as url:
        yield url


@pytest.fixture(scope="module")
def config(tiny_model) -> str:
    return label_config(list(tiny_model.class_names))


def _tasks(urls: list[str], config: str) -> dict:
    tasks = [{"id": i + 1, "data": {"image": u}} for i, u in enumerate(urls)]
    return {"tasks": tasks, "label_config": config}


def _basic(password: bytes) -> dict[str, bytes]:
    return {"Authorization": b"Basic " + base64.b64encode(b"hitl-active:" + password)}


def test_only_health_answers_without_the_secret(served, config) -> None:
    assert httpx.get(f"{served}/health").status_code == 200
    routes = [("POST", "/setup"), ("POST", "/predict"), ("POST", "/webhook")]
    routes += [("GET", "/docs"), ("GET", "/openapi.json")]
    for method, path in routes:
        for headers in ({}, {SECRET_HEADER: "wrong"}, _basic(b"wrong"), _basic(b"")):
            resp = httpx.request(method, served + path, json={}, headers=headers)
            assert resp.status_code == 401, (method, path, headers, resp.text)
            assert "HITL_WEBHOOK_SECRET" in resp.json()["detail"]
    # what `label-studio connect` registers: basic auth for the ML backend, the header for hooks
    setup = httpx.post(f"{served}/setup", json={"schema": config}, headers=_basic(SECRET.encode()))
    assert setup.status_code == 200, setup.text
    predicted = httpx.post(f"{served}/predict", json=_tasks([LOCAL], config), headers=AUTH)
    assert predicted.status_code == 200 and len(predicted.json()["results"]) == 1


def test_a_secret_that_is_not_ascii_is_a_401(served) -> None:
    for headers in (
        {SECRET_HEADER: "sécret".encode()},
        {SECRET_HEADER: b"\xe9\xff"},
        _basic("sécret".encode()),
        {"Authorization": b"Basic \xe9t\xe9"},
        {"Authorization": b"Basic " + base64.b64encode(b"\xff\xfe")},
    ):
        for path in ("/webhook", "/setup", "/predict"):
            resp = httpx.post(served + path, json={}, headers=headers)
            assert resp.status_code == 401, (path, headers, resp.text)


def test_setup_cannot_plant_a_label_studio(bare, served, elsewhere, label_studio, config):
    elsewhere.hits.clear()
    planted = {
        "project": "1.1",
        "schema": config,
        "hostname": elsewhere.url,
        "access_token": "planted-token",
    }
    relative = _tasks(["/data/upload/a.jpg"], config)
    for url in (bare, served):
        assert httpx.post(f"{url}/setup", json=planted, headers=AUTH).status_code == 200
    # without a configured Label Studio, a Label Studio path is refused, never sent to the plant
    refused = httpx.post(f"{bare}/predict", json=relative, headers=AUTH)
    assert refused.status_code == 422 and refused.json()["detail"] == f"task 1: {REFUSED}"
    event = {
        "action": "ANNOTATION_CREATED",
        "project": {"id": 3, "title": "p", "label_config": config},
        "task": {"id": 9, "data": {"image": LOCAL, "width": 10, "height": 10}},
        "annotation": {"id": 4, "task": 9, "result": [], "completed_by": 1, "lead_time": 1.0},
    }
    hook = httpx.post(f"{bare}/webhook", json=event, headers=AUTH)
    assert hook.status_code == 200 and hook.json()["recorded"] == 1, hook.text
    # with one, images come from it, with its token, whatever /setup said
    label_studio.hits.clear()
    ok = httpx.post(f"{served}/predict", json=relative, headers=AUTH)
    assert ok.status_code == 200, ok.text
    assert label_studio.hits == [("/data/upload/a.jpg", f"Token {TOKEN}")]
    assert elsewhere.hits == []


def test_a_task_url_elsewhere_is_refused_unseen_and_alike(bare, served, elsewhere, config):
    elsewhere.hits.clear()
    closed = free_port()  # nothing listens there
    urls = [
        f"{elsewhere.url}/data/upload/a.jpg",  # open port
        f"http://127.0.0.1:{closed}/data/upload/a.jpg",  # closed port
        f"//127.0.0.1:{elsewhere.port}/data/upload/a.jpg",
        f"http://127.0.0.1:{elsewhere.port}/data/local-files/x?d=images/a.jpg",
        "file:///etc/passwd",
        "/etc/passwd",
        "/data/local-files/?d=../../../../etc/passwd",
        f"{elsewhere.url}/api/predictions",
    ]
    for url in (served, bare):
        for image in urls:
            body = {"tasks": [{"id": 7, "data": {"image": image}}], "label_config": config}
            resp = httpx.post(f"{url}/predict", json=body, headers=AUTH)
            assert resp.status_code == 422, (image, resp.text)
            assert resp.json()["detail"] == f"task 7: {REFUSED}", image
    assert elsewhere.hits == []


def test_redirects_away_from_label_studio_are_not_followed(served, elsewhere, config) -> None:
    elsewhere.hits.clear()
    hop = _tasks(["/data/upload/hop.jpg"], config)
    resp = httpx.post(f"{served}/predict", json=hop, headers=AUTH)
    assert resp.status_code == 200, resp.text  # a redirect within Label Studio's routes is fine
    away = _tasks(["/data/upload/away.jpg"], config)
    away = httpx.post(f"{served}/predict", json=away, headers=AUTH)
    assert away.status_code == 422 and away.json()["detail"] == f"task 1: {UNREADABLE}"
    assert elsewhere.hits == []


def test_task_images_over_the_cap_are_cut_off(served, config) -> None:
    for image in ("/data/upload/huge.jpg", "/data/upload/huge-unsized.jpg"):
        resp = httpx.post(f"{served}/predict", json=_tasks([image], config), headers=AUTH)
        assert resp.status_code == 422 and str(IMAGE_CAP) in resp.json()["detail"], resp.text


def test_an_oversize_body_is_a_413_naming_the_limit(served) -> None:
    limit = 10 * 2**20
    big = b"[" + b"1," * (limit // 2) + b"1]"
    for path in ("/predict", "/webhook", "/setup"):
        resp = httpx.post(served + path, content=big, headers=AUTH, timeout=60)
        assert resp.status_code == 413 and str(limit) in resp.json()["detail"], resp.text[:300]
    chunks = iter([b"[", *([b"1," * 65536] * 90), b"1]"])  # no Content-Length: counted
    resp = httpx.post(f"{served}/predict", content=chunks, headers=AUTH, timeout=60)
    assert resp.status_code == 413 and "HITL_MAX_BODY_BYTES" in resp.text
    assert httpx.post(f"{served}/predict", content=big, timeout=60).status_code == 401


def test_too_many_tasks_is_a_422_naming_the_limit(served, config) -> None:
    resp = httpx.post(f"{served}/predict", json=_tasks([LOCAL] * 101, config), headers=AUTH)
    assert resp.status_code == 422
    assert "101 tasks" in resp.json()["detail"] and "limit is 100" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"tasks": [1]}, "task #0 is malformed"),
        ({"tasks": [{"id": 1}]}, "task #0 is malformed"),
        ({"tasks": [{"id": 1, "data": "x"}]}, "task #0 is malformed"),
        ({"tasks": "x"}, "'tasks'"),
        ({"tasks": [{"id": 1, "data": {}}]}, "task 1: data has no 'image'"),
        ({"tasks": [{"id": 1, "data": {"image": 5}}]}, "task 1: data has no 'image'"),
    ],
)
def test_malformed_tasks_are_a_422(served, config, body, expected) -> None:
    resp = httpx.post(f"{served}/predict", json={**body, "label_config": config}, headers=AUTH)
    assert resp.status_code == 422 and expected in resp.json()["detail"], resp.text


def test_a_body_that_is_not_an_object_is_a_short_422(served) -> None:
    for content in (b"[" + b"1," * 100_000 + b"1]", b"{not json"):
        resp = httpx.post(f"{served}/predict", content=content, headers=AUTH)
        assert resp.status_code == 422 and len(resp.content) < 200, resp.text[:300]
        assert resp.json()["detail"] == "the request body must be a JSON object"


def test_a_one_task_request_is_not_starved_by_a_full_one(served, config) -> None:
    small, big = _tasks([LOCAL], config), _tasks([LOCAL] * 100, config)
    assert httpx.post(f"{served}/predict", json=small, headers=AUTH).status_code == 200
    outcome: dict[str, float | int] = {}

    def full() -> None:
        start = time.monotonic()
        resp = httpx.post(f"{served}/predict", json=big, headers=AUTH, timeout=300)
        outcome["status"], outcome["results"] = resp.status_code, len(resp.json()["results"])
        outcome["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=full)
    thread.start()
    latencies = []
    while thread.is_alive():
        start = time.monotonic()
        assert httpx.post(f"{served}/predict", json=small, headers=AUTH, timeout=300).is_success
        latencies.append(time.monotonic() - start)
    thread.join()
    assert (outcome["status"], outcome["results"]) == (200, 100)
    # A one-task call waits for a few tasks of the full one, not for the whole of it.
    assert len(latencies) >= 3, (latencies, outcome)
    assert max(latencies) < 0.4 * outcome["seconds"], (latencies, outcome)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "HITL_WEBHOOK_SECRET"),
        ({"HITL_WEBHOOK_SECRET": SECRET, "HITL_MAX_TASKS": "many"}, "HITL_MAX_TASKS='many'"),
        ({"HITL_WEBHOOK_SECRET": SECRET, "HITL_MAX_BODY_BYTES": "0"}, "HITL_MAX_BODY_BYTES"),
    ],
)
def test_serve_refuses_to_start_unsafe_in_one_line(tiny_model, env, expected) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "HITL_"))}
    cmd = [sys.executable, "-m", "hitl_active", "serve", "--model", str(tiny_model.onnx)]
    proc = subprocess.run(cmd, env={**clean, **env}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.strip()]
    assert expected in line, line
