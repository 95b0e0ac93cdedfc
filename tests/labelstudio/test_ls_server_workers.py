"""`scripts/label-studio start --workers 2`: Label Studio served by several processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from hitl_active.labelstudio import LabelStudioClient, ensure_project
from tests.fixtures.labelstudio import SCRIPT, _stop, _wait_healthy, free_port

pytestmark = pytest.mark.labelstudio


def test_multi_process_server_serves_the_api(label_studio) -> None:
    """Started after the session's server so the Label Studio install is already there."""
    if shutil.which("bash") is None:
        pytest.skip("scripts/label-studio needs bash")
    base = Path(tempfile.mkdtemp(prefix="hitl-ls-workers-"))
    port, token = free_port(), "hitl-test-" + os.urandom(8).hex()
    env = dict(
        os.environ,
        LABEL_STUDIO_USERNAME="w@example.com",
        LABEL_STUDIO_PASSWORD=os.urandom(8).hex(),
        LABEL_STUDIO_USER_TOKEN=token,
    )
    log = base / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SCRIPT), "start", "--port", str(port), "--data-dir", str(base / "data"),
             "--workers", "2"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, log, timeout=300)
        workers = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
        assert len(workers.stdout.split()) >= 3, "expected a gunicorn master and two workers"
        client = LabelStudioClient(url, token)
        project = ensure_project(client, "workers check", ["a", "b"])
        ids = client.import_tasks(
            project.id, [{"data": {"image": f"/x/{i}.jpg"}} for i in range(120)]
        )
        listed = [t["id"] for t in client.iter_tasks(project.id, page_size=25, concurrency=2)]
        assert listed == sorted(ids) and len(listed) == 120
        client.close()
    finally:
        _stop(proc)
        shutil.rmtree(base, ignore_errors=True)
