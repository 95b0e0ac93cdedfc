"""The people's pages show the workspace's settings as they are now, not as `serve` found them."""

from __future__ import annotations

import base64
import os
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from fastapi.testclient import TestClient
from PIL import Image

from hitl_active.labelstudio import SECRET_HEADER
from hitl_active.server import AppSettings, create_app
from hitl_active.server.pages.keys import hash_page_key, new_page_key
from hitl_active.workspace.workspace import LoopConfig, Workspace

SECRET = "pages-settings-secret"
PAY = {"default": {"kind": "per_task", "rate": 1.0, "currency": "EUR", "time_rate": 12.0}}


@pytest.fixture
def served(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    Image.new("RGB", (64, 48)).save(pool / "a.png")
    root = tmp_path / "ws"
    config = LoopConfig(images=str(pool), classes=["car"], label_studio_project=7)
    with Workspace.create(root, config) as ws:
        row = ws.store.add_annotator("ana", email="ana@x.org")
        key = new_page_key()
        ws.store.update_annotator(row.id, page_key_hash=hash_page_key(key))
        when = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
        image = ws.store.images()[0]
        ws.store.add_annotation(
            image.id, "7:11", "1", [], ls_task_id=101, annotator="ana@x.org",
            lead_time=300.0, updated_at=when, created_at=when,
        )  # fmt: skip
    me = {"Authorization": "Basic " + base64.b64encode(f"ana:{key}".encode()).decode()}
    settings = AppSettings(workspace=root, webhook_secret=SECRET, class_names=("car",))
    with TestClient(create_app(settings), headers={SECRET_HEADER: SECRET}) as client:
        yield root, client, me


def _edit(root, **work) -> None:
    path = root / "hitl-active.yaml"
    config = yaml.safe_load(path.read_text())
    config["work"] = {**(config.get("work") or {}), **work}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    st = path.stat()  # a later mtime even on a coarse clock
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_a_work_block_added_while_serving_shows_on_the_next_page(served):
    root, client, me = served
    assert "EUR" not in client.get("/manager").text
    first = client.get("/me", headers=me)
    assert first.status_code == 200 and "No pay model is set" in first.text
    assert "the cap of 8 h" in first.text
    _edit(root, pay=PAY, caps={"hours_per_day": 6})
    again = client.get("/me", headers=me)
    assert again.status_code == 200, again.text[-400:]
    assert "No pay model is set" not in again.text and "the cap of 6 h" in again.text
    assert "EUR" in client.get("/manager").text  # the manager's pay table follows too


def test_an_edit_that_breaks_the_config_is_a_page_saying_what_to_fix(served):
    root, client, _ = served
    _edit(root, caps={"hours_per_day": "lots"})
    r = client.get("/manager")
    assert r.status_code == 500 and "hours_per_day" in r.text and "Traceback" not in r.text


def test_the_page_links_to_where_the_persons_work_waits(served):
    root, client, me = served
    assert "ask your manager for the link" in client.get("/me", headers=me).text
    with Workspace.open(root) as ws:
        ws.store.update_annotator(ws.store.annotator("ana").id, queue_project_id=12)
        ws.config.label_studio_url = "http://127.0.0.1:8080/"
        ws.save_config()
    page = client.get("/me", headers=me).text
    assert '<a href="http://127.0.0.1:8080/projects/12/data">Your tasks</a>' in page
    assert "Your practice" not in page  # not a trainee
