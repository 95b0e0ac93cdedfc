"""Kill the loop mid-round (after the push, before the pull; during training) and re-run.

The loop runs as a real ``hitl-active loop`` process against a real Label Studio, with the
simulated annotator submitting through Label Studio's API. The test watches the state
database (read-only) and kills the process with SIGKILL as soon as the chosen point is
recorded; then the same command is run again. The round must finish with every annotation
recorded once and no task duplicated, neither in Label Studio nor in the state database.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
import uuid
from collections import Counter

import pytest
from loop_helpers import CLI, REPO, run_cli, tiny_dataset, tiny_workspace

from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.workspace.workspace import Workspace

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]  # Label Studio may be shared: unique project and folder names


def _ls_tasks(server, project_id):
    with LabelStudioClient(server.url, server.token) as client:
        return list(client.iter_tasks(project_id))


def _check_no_duplicates(ws_dir, server, n_tasks):
    with Workspace.open(ws_dir) as ws:
        store = ws.store
        tasks = store.tasks()
        project = ws.config.label_studio_project
        assert len(tasks) == n_tasks
        assert len({t.ls_task_id for t in tasks}) == n_tasks
        remote = _ls_tasks(server, project)
        keys = Counter(t["data"]["image_key"] for t in remote)
        assert len(remote) == n_tasks and max(keys.values()) == 1
        anns = store.annotations()
        assert len(anns) == len({a.image_id for a in anns})  # one current annotation per image
        remote_anns = sum(len(t.get("annotations") or []) for t in remote)
        return len(anns), remote_anns


def _kill_when(args, env, ws_dir, query: str, expected: tuple, grace_s: float = 0.0) -> None:
    """Run ``hitl-active *args`` and SIGKILL it once ``query`` on its state gives ``expected``."""
    log = (ws_dir.parent / "killed.log").open("w")  # a file: a full pipe would stall it
    proc = subprocess.Popen([*CLI, *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)
    uri = f"file:{ws_dir / 'state.db'}?mode=ro"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            with sqlite3.connect(uri, uri=True, timeout=5) as db:
                if db.execute(query).fetchone() == expected:
                    break
            time.sleep(0.01)
        assert proc.poll() is None, f"it finished before {expected}: see {log.name}"
        time.sleep(grace_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL


def test_killed_rounds_resume_with_nothing_lost_or_duplicated(label_studio, tmp_path):
    data = tiny_dataset(label_studio.files_root / f"faults-{RUN}", n_images=30)
    ws_dir = tmp_path / "ws"
    tiny_workspace(ws_dir, data, round_size=6).close()
    args = [
        "loop", "-w", str(ws_dir), "--rounds", "1", "--label-studio", label_studio.url,
        "--token", label_studio.token, "--files-root", str(label_studio.files_root),
        "--project", f"faults-{RUN}", "--simulate-labels", str(data / "labels"),
    ]  # fmt: skip
    env = dict(os.environ, YOLO_OFFLINE="1")

    # 1. killed as soon as the push is recorded, before the annotations are pulled
    last_step = "SELECT step FROM rounds ORDER BY id DESC LIMIT 1"
    _kill_when(args, env, ws_dir, last_step, ("pushed",))
    with Workspace.open(ws_dir) as ws:
        assert ws.store.open_round().step == "pushed"
    local, remote = _check_no_duplicates(ws_dir, label_studio, 6)
    assert local <= remote <= 6  # the simulated annotator may have begun submitting
    done = run_cli(*args, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _check_no_duplicates(ws_dir, label_studio, 6) == (6, 6)
    with Workspace.open(ws_dir) as ws:
        assert ws.store.open_round() is None and ws.store.round(1).step == "done"
        assert [v.name for v in ws.store.model_versions()] == ["v0001"]

    # 2. killed while training the next version (inside Ultralytics' training)
    training = "SELECT status FROM model_versions WHERE name = 'v0002'"
    _kill_when(args, env, ws_dir, training, ("training",), grace_s=2.0)
    with Workspace.open(ws_dir) as ws:
        assert ws.store.open_round().step == "annotated"
        assert ws.store.model_version("v0002").status == "training"
    assert _check_no_duplicates(ws_dir, label_studio, 12) == (12, 12)
    done = run_cli(*args, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _check_no_duplicates(ws_dir, label_studio, 12) == (12, 12)
    with Workspace.open(ws_dir) as ws:
        assert ws.store.open_round() is None and ws.store.round(2).step == "done"
        versions = ws.store.model_versions()
        assert [v.name for v in versions] == ["v0001", "v0002"]
        assert versions[1].status in ("promoted", "rejected")
        assert versions[1].snapshot["n_images"] == 12
        assert "map50_95" in versions[1].metrics["gold"]
