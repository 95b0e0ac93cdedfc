"""``hitl-active annotators key NAME``: a personal page key, shown once, kept as its hash."""

from __future__ import annotations

import base64
import hashlib

from fastapi.testclient import TestClient

from hitl_active.cli import main
from hitl_active.server import AppSettings, create_app
from hitl_active.server.pages.keys import hash_page_key, new_page_key
from hitl_active.workspace.workspace import LoopConfig, Workspace


def _basic(name: str, key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{key}".encode()).decode()}


def _workspace(tmp_path, **config) -> Workspace:
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(images / "one.jpg")
    cfg = LoopConfig(images=str(images), classes=["a", "b"], **config)
    return Workspace.create(tmp_path / "ws", cfg)


def _issue(ws_root, name: str, capsys) -> str:
    assert main(["annotators", "key", name, "-w", str(ws_root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("page key of amina ")  # named by the record, not the e-mail
    return lines[1]


def test_keys_are_random_and_stored_as_sha256():
    a, b = new_page_key(), new_page_key()
    assert a != b and len(a) >= 32
    assert hash_page_key(a) == hashlib.sha256(a.encode()).hexdigest()


def test_key_command_issues_a_key_that_opens_only_that_page(tmp_path, capsys):
    ws = _workspace(tmp_path)
    ws.store.add_annotator("amina", email="amina@example.org")
    ws.store.add_annotator("bashir", email="bashir@example.org")
    ws.close()
    first = _issue(tmp_path / "ws", "amina", capsys)
    second = _issue(tmp_path / "ws", "amina@example.org", capsys)  # by e-mail: a new key
    with Workspace.open(tmp_path / "ws") as ws:
        stored = ws.store.annotator("amina").page_key_hash
        assert stored == hash_page_key(second) and second not in stored
        assert ws.store.annotator("bashir").page_key_hash is None
    app = create_app(AppSettings(workspace=tmp_path / "ws", webhook_secret="s"))
    with TestClient(app) as client:
        assert client.get("/me", headers=_basic("amina", first)).status_code == 401  # replaced
        assert client.get("/me", headers=_basic("bashir", second)).status_code == 401
        assert client.get("/me", headers=_basic("bashir", "")).status_code == 401  # no key yet
        r = client.get("/me", headers=_basic("amina", second))
        assert r.status_code == 200 and "amina — your page" in r.text


def test_key_for_an_unknown_annotator_is_one_line_and_exit_2(tmp_path, capsys):
    _workspace(tmp_path).close()
    assert main(["annotators", "key", "nobody", "-w", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no annotator 'nobody'" in err[0]


def test_a_fair_work_config_that_cannot_be_read_says_what_to_fix(tmp_path):
    ws = _workspace(tmp_path, work={"floors": "floors.csv"})  # the table was never written
    ws.store.add_annotator("amina", email="amina@example.org")
    ws.close()
    app = create_app(AppSettings(workspace=tmp_path / "ws", webhook_secret="s"))
    with TestClient(app, headers={"X-Hitl-Secret": "s"}) as client:
        r = client.get("/manager")
    assert r.status_code == 500
    detail = r.json()["detail"]
    assert "work.floors" in detail and "floors.csv" in detail and "\n" not in detail
