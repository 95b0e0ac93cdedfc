"""`label-studio connect -w` reaches every project the workspace makes, through a real Label
Studio and a real ``serve``: the main project and each queue get the webhook and the ML
backend, practice projects the webhook only; a queue or practice project made after the
connect is connected as it is made; a trainee's practice answer is graded the moment its
webhook arrives, with no ``practice grade`` run."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from hitl_active.bench.annotator import SimulatedAnnotator as Oracle
from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.loop.backends import LocalBackend, load_truths
from hitl_active.loop.import_model import import_model
from hitl_active.loop.ls_project import SERVE_KEY, bind_project
from hitl_active.loop.policy import OnDemand
from hitl_active.loop.rounds import Loop
from hitl_active.server import AppSettings, create_app
from hitl_active.team.practice_track import PracticeTrack
from hitl_active.team.team import TeamBackend
from tests.labelstudio.ls_helpers import serve_in_thread
from tests.loop.loop_helpers import run_cli, tiny_dataset, tiny_workspace

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]
SECRET = f"connect-{RUN}"


def _hooks(client: LabelStudioClient, pid: int, serve_url: str) -> tuple[int, int]:
    """(webhooks, ML backends) of project ``pid`` that point at ``serve_url``."""
    hooks = client.request("GET", "/api/webhooks", params={"project": pid}) or []
    hooks = [h for h in hooks if h.get("project") == pid and str(h["url"]).startswith(serve_url)]
    # a webhook with no actions is silent: Label Studio sends it nothing
    assert all(h["is_active"] and "ANNOTATION_CREATED" in h["actions"] for h in hooks), hooks
    backends = client.request("GET", "/api/ml", params={"project": pid}) or []
    return len(hooks), sum(str(b["url"]).rstrip("/") == serve_url for b in backends)


def test_connect_reaches_every_project_and_practice_is_graded_on_arrival(
    label_studio, tiny_model, tmp_path, monkeypatch
):
    data = tiny_dataset(label_studio.files_root / f"connect-{RUN}", n_images=40, seed=11)
    ws = tiny_workspace(tmp_path / "ws", data, round_size=12, gold_size=6)
    import_model(ws, tiny_model.onnx, force=True)
    truths = load_truths(ws, data / "labels")
    Loop(ws, LocalBackend(Oracle(truths, display_threshold=0.05)), OnDemand()).run_round()

    with LabelStudioClient(label_studio.url, label_studio.token) as admin:
        main = bind_project(ws, admin, label_studio.url, f"connect {RUN}", attach=False)
        ws.store.add_annotator("ben", email=f"ben-{RUN}@example.com")
        ws.store.add_annotator("tia", email=f"tia-{RUN}@example.com", tier="trainee")
        team = TeamBackend(label_studio.url, label_studio.token, None, label_studio.files_root)
        ben_queue = team.queue(ws, ws.store.annotator("ben")).id  # made before the connect
        app = create_app(AppSettings(
            workspace=ws.root, webhook_secret=SECRET, files_root=label_studio.files_root,
            label_studio_url=label_studio.url, label_studio_token=label_studio.token,
        ))  # fmt: skip
        env = {
            **os.environ,
            "LABEL_STUDIO_URL": label_studio.url,
            "LABEL_STUDIO_API_KEY": label_studio.token,
            "HITL_WEBHOOK_SECRET": SECRET,
        }
        with serve_in_thread(app) as serve_url:
            out = run_cli("label-studio", "connect", "-w", str(ws.root), "--serve-url",
                          serve_url, env=env)  # fmt: skip
            assert out.returncode == 0, out.stderr
            assert _hooks(admin, main.id, serve_url) == (1, 1)
            assert _hooks(admin, ben_queue, serve_url) == (1, 1)
            assert ws.store.get(SERVE_KEY) == {"url": serve_url, "ml_backend": True}

            # Projects made after the connect are connected as they are made.
            monkeypatch.setenv("HITL_WEBHOOK_SECRET", SECRET)
            ws.store.add_annotator("cai", email=f"cai-{RUN}@example.com")
            cai_queue = team.queue(ws, ws.store.annotator("cai")).id
            assert _hooks(admin, cai_queue, serve_url) == (1, 1)
            track = PracticeTrack(ws, admin, label_studio.files_root)
            practice = track.enrol("tia").practice_project_id
            assert practice is not None
            # practice: the webhook, but no model pre-labels to give the answers away
            assert _hooks(admin, practice, serve_url) == (1, 0)
            again = run_cli("label-studio", "connect", "-w", str(ws.root), "--serve-url",
                            serve_url, env=env)  # fmt: skip
            assert again.returncode == 0, again.stderr  # idempotent: nothing doubled
            for pid, want in [(main.id, (1, 1)), (cai_queue, (1, 1)), (practice, (1, 0))]:
                assert _hooks(admin, pid, serve_url) == want

            # A practice answer is graded when its webhook arrives: no `practice grade`.
            (pushed,) = track.push_next("tia", n=1)
            task = track.tasks()[pushed.task_id]
            admin.request("POST", f"/api/tasks/{pushed.ls_task_id}/annotations", json={
                "result": to_ls_results(task.truth, ws.config.classes), "lead_time": 30.0,
            })  # fmt: skip
            deadline, row = time.monotonic() + 30, None
            while time.monotonic() < deadline:
                rows = ws.store.practice(ws.store.annotator("tia").id)
                row = next(r for r in rows if r.ls_task_id == pushed.ls_task_id)
                if row.outcome is not None:
                    break
                time.sleep(0.3)
            assert row is not None and row.outcome is not None, "not graded on arrival"
            remote = admin.request("GET", f"/api/tasks/{pushed.ls_task_id}")
            assert not remote["data"]["feedback"].startswith("Submit your answer")
        team.close()
