"""Kill the loop mid-round (after the push, before the pull; during training) and re-run.

The loop runs as a real ``hitl-active loop`` process against a real Label Studio, with the
simulated annotator submitting through Label Studio's API. After each kill the same command
is run again; the round must finish with every annotation recorded once and no task
duplicated, neither in Label Studio nor in the state database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter

import pytest
from loop_helpers import CLI, REPO, run_cli, tiny_dataset, tiny_workspace

from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.loop.workspace import Workspace

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


def test_killed_rounds_resume_with_nothing_lost_or_duplicated(label_studio, tmp_path):
    data = tiny_dataset(label_studio.files_root / f"faults-{RUN}", n_images=30)
    ws_dir = tmp_path / "ws"
    tiny_workspace(ws_dir, data, batch_size=6).close()
    args = [
        "loop", "-w", str(ws_dir), "--rounds", "1", "--label-studio", label_studio.url,
        "--token", label_studio.token, "--files-root", str(label_studio.files_root),
        "--project", f"faults-{RUN}", "--simulate-labels", str(data / "labels"),
    ]  # fmt: skip
    env = dict(os.environ, YOLO_OFFLINE="1")

    # 1. killed right after the push, before any annotation was pulled
    killed = run_cli(*args, env=dict(env, HITL_ACTIVE_FAULT_AT="after_pushed"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    with Workspace.open(ws_dir) as ws:
        assert ws.store.open_round().step == "pushed" and ws.store.annotations() == []
    assert _check_no_duplicates(ws_dir, label_studio, 6) == (0, 0)
    done = run_cli(*args, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _check_no_duplicates(ws_dir, label_studio, 6) == (6, 6)
    with Workspace.open(ws_dir) as ws:
        assert ws.store.open_round() is None and ws.store.round(1).step == "done"
        assert [v.name for v in ws.store.model_versions()] == ["v0001"]

    # 2. killed while training the next version
    proc = subprocess.Popen(
        [*CLI, *args], cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        for line in proc.stderr:
            if "training v0002" in line:
                time.sleep(2.0)  # inside Ultralytics' training now
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
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
