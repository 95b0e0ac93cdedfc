"""One writer per workspace: real ``hitl-active`` processes racing on one workspace."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter

import pytest

from hitl_active.workspace.lock import WorkspaceBusyError, WorkspaceLock
from hitl_active.workspace.workspace import Workspace
from tests.loop.loop_helpers import CLI, REPO, run_cli, tiny_dataset, tiny_workspace

pytestmark = pytest.mark.slow

ENV = {k: v for k, v in os.environ.items() if not k.startswith("LABEL_STUDIO")}


def _wait_for_holder(ws_dir, pid: int, proc: subprocess.Popen, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = WorkspaceLock(ws_dir, "").holder()
        if holder.get("pid") == pid:
            return holder
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} never took the workspace lock")


def test_a_second_writer_is_refused_naming_the_holder_or_waits(tmp_path):
    data = tiny_dataset(tmp_path / "data", n_images=30)
    ws_dir = tmp_path / "ws"
    tiny_workspace(ws_dir, data, round_size=4).close()
    loop = ["loop", "-w", str(ws_dir), "--simulate-labels", str(data / "labels")]
    first = subprocess.Popen(
        [*CLI, *loop, "--rounds", "1"], cwd=REPO, env=ENV, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    queued = None
    try:
        holder = _wait_for_holder(ws_dir, first.pid, first)
        assert holder["command"] == "hitl-active loop"

        refused = run_cli("round", "-w", str(ws_dir), env=ENV)
        assert refused.returncode == 2, refused.stderr
        assert (
            f"workspace {ws_dir} is in use by pid {first.pid} on host {holder['host']} since "
        ) in refused.stderr
        assert "(hitl-active loop); wait for it or stop it" in refused.stderr
        assert "Traceback" not in refused.stderr

        queued = subprocess.Popen(
            [*CLI, *loop, "--rounds", "1", "--wait"], cwd=REPO, env=ENV, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        _, err = first.communicate(timeout=600)
        assert first.returncode == 0, err[-3000:]
        _, err = queued.communicate(timeout=600)
        assert queued.returncode == 0, err[-3000:]
        assert "waiting for it to finish" in err
    finally:
        for proc in (first, queued):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()

    with Workspace.open(ws_dir) as ws:
        store = ws.store
        rounds = store.rounds()
        assert [r.step for r in rounds] == ["done", "done"]
        selected = [i for r in rounds for i in store.selection(r.id)]
        assert len(selected) == len(set(selected))  # no image selected by two rounds
        per_image = Counter(t.image_id for t in store.tasks())
        assert per_image and max(per_image.values()) == 1  # and none pushed twice
    assert WorkspaceLock(ws_dir, "").holder() == {}  # released, nothing stale left


def test_readers_do_not_take_the_lock_and_a_dead_holder_frees_it(tmp_path):
    data = tiny_dataset(tmp_path / "data", n_images=12)
    ws_dir = tmp_path / "ws"
    tiny_workspace(ws_dir, data, round_size=2, gold_size=2).close()
    hold = (
        "import sys, time\nfrom hitl_active.workspace.workspace import Workspace\n"
        "ws = Workspace.open(sys.argv[1]); ws.lock('hitl-active loop')\n"
        "print('held', flush=True); time.sleep(600)\n"
    )
    holder = subprocess.Popen(
        [CLI[0], "-c", hold, str(ws_dir)], cwd=REPO, env=ENV, text=True, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        for reader in (["status"], ["models", "list"], ["report"]):
            done = run_cli(*reader, "-w", str(ws_dir), env=ENV)
            assert done.returncode == 0, done.stderr
        with pytest.raises(WorkspaceBusyError, match=f"in use by pid {holder.pid} on host"):
            WorkspaceLock(ws_dir, "hitl-active round").acquire()
    finally:
        holder.kill()  # SIGKILL: no clean-up runs; the kernel drops the lock with the process
        holder.wait()
    assert json.loads((ws_dir / ".lock").read_text())["pid"] == holder.pid  # stale file left
    done = run_cli("round", "-w", str(ws_dir), env=ENV)
    assert done.returncode == 0, done.stderr
