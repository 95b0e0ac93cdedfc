"""The README's Label Studio walk against a real Label Studio: one project per workspace,
tasks ranked and scored, one prediction per model version, skips that never stall a round,
a first model brought in by the user, and a connect that leaves nothing half-done."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import numpy as np
import pytest
from ls_helpers import free_port

from hitl_active.bench.annotator import SimulatedAnnotator
from hitl_active.labelstudio import LabelStudioClient, LabelStudioError
from hitl_active.labelstudio.ml import connect_project
from hitl_active.labelstudio.project import ProjectMismatchError
from hitl_active.labelstudio.push import prediction_score
from hitl_active.loop.backends import LabelStudioBackend, load_truths
from hitl_active.loop.import_model import ModelImportError, import_model
from hitl_active.loop.ls_project import bind_project
from hitl_active.loop.policy import OnDemand
from hitl_active.loop.rounds import Loop
from hitl_active.sampling import image_uncertainty
from hitl_active.workspace.workspace import LoopConfig, Workspace

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]  # Label Studio may be shared: unique titles and folders
SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "label-studio")


@pytest.fixture(scope="module")
def client(label_studio):
    with LabelStudioClient(label_studio.url, label_studio.token) as c:
        yield c


@pytest.fixture(scope="module")
def ws(label_studio, tiny_model, tmp_path_factory):
    """A workspace over the tiny dataset (served as local files) with labelled gold."""
    data = tiny_model.dataset
    folder = label_studio.images_dir / f"walk-{RUN}"
    shutil.copytree(data.images_dir, folder)
    cfg = LoopConfig(
        images=str(folder), classes=list(tiny_model.class_names), imgsz=tiny_model.imgsz,
        epochs=1, round_size=12, gold_size=6, conf_threshold=0.05, strategy="entropy-sum",
    )  # fmt: skip
    workspace = Workspace.create(tmp_path_factory.mktemp("walk") / f"ws-{RUN}", cfg)
    workspace.freeze_gold(np.random.default_rng(0), labels_dir=data.labels_dir)
    yield workspace
    workspace.close()


def _remote(client, project_id):
    return {t["id"]: t for t in client.iter_tasks(project_id)}


def _versions(task):
    return [p.get("model_version") for p in task.get("predictions") or []]


def test_the_walk_end_to_end(client, label_studio, tiny_model, ws, tmp_path) -> None:
    # 7. The user's own detector is the first version; a wrong class list is refused cleanly.
    wrong = tmp_path / "wrong.onnx"
    shutil.copy(tiny_model.onnx, wrong)
    ws.config.classes.reverse()
    with pytest.raises(ModelImportError, match="workspace's classes"):
        import_model(ws, wrong)
    ws.config.classes.reverse()
    assert ws.store.model_versions() == []
    v1, promoted = import_model(ws, tiny_model.onnx)
    assert (v1.name, promoted) == ("v0001", True)
    assert v1.metrics["gold"]["n_images"] == 6

    # 2. The workspace is bound once (setup -w); round without --project uses that project.
    project = bind_project(ws, client, label_studio.url, f"Pool detection {RUN}")
    assert ws.config.label_studio_project == project.id
    assert Workspace.open(ws.root).config.label_studio_project == project.id  # saved
    truths = load_truths(ws, tiny_model.dataset.labels_dir)
    annotator = SimulatedAnnotator(truths, display_threshold=ws.config.conf_threshold)
    backend = LabelStudioBackend(
        label_studio.url, label_studio.token, None, label_studio.files_root, annotator,
        poll_s=0.2,
    )  # fmt: skip
    loop = Loop(ws, backend, OnDemand())
    other = LabelStudioBackend(label_studio.url, label_studio.token, "Another", None)
    try:
        with pytest.raises(ProjectMismatchError, match=f"'Another'.*'Pool detection {RUN}'"):
            other.connect(ws)
        row = loop.round_until_pushed()
        assert row.info["kind"] == "pool" and row.info["selected"] == 12
        titles = [p["title"] for p in client.projects()]
        assert f"hitl-active {ws.root.name}" not in titles and "Another" not in titles
        remote = _remote(client, project.id)
        assert len(remote) == 12

        # 3. Rank, the model's uncertainty and the selection's own score are numbers the
        # Data Manager sorts, each under its own name; the prediction score orders the
        # tasks as the sampler did (lowest first, as Label Studio's uncertainty sampling
        # serves them); each task says in one line why its image was chosen.
        ranks = ws.store.selection_scores(row.id)
        by_score = []
        for task in ws.store.tasks(round_id=row.id):
            data, (pred,) = remote[task.ls_task_id]["data"], remote[task.ls_task_id]["predictions"]
            rank, score = ranks[task.image_id]
            stored = ws.store.prediction(v1.name, task.image_id)
            assert data["rank"] == rank
            # the pool's name for the image, not where the server keeps it
            assert not data["image_key"].startswith("/")
            assert ws.images_dir.resolve().as_posix() not in json.dumps(data)
            assert ws.store.image_for_key(data["image_key"]) == task.image_id
            assert data["selection_score"] == pytest.approx(score, abs=1e-6)
            assert data["uncertainty"] == pytest.approx(
                image_uncertainty(stored.class_probs), abs=1e-6
            )
            assert 0.0 <= data["uncertainty"] <= 1.0
            assert pred["score"] == pytest.approx(prediction_score(None, rank), abs=1e-6)
            assert data["why"].startswith(f"Picked {rank} of 12: ")
            by_score.append((pred["score"], rank))
        assert [r for _, r in sorted(by_score)] == list(range(1, 13))
        by_rank = [
            t["data"]["rank"] for t in client.iter_tasks(project.id, ordering=["tasks:data.rank"])
        ]
        assert by_rank == list(range(1, 13))  # numeric, not "1, 10, 11, 12, 2, ..."
        by_score = [  # Label Studio's own sort by prediction score: the sampler's order
            t["data"]["rank"]
            for t in client.iter_tasks(project.id, ordering=["tasks:predictions_score"])
        ]
        assert by_score == list(range(1, 13))

        # 4. The project's model version is the pushed one, so opening tasks in the label
        # stream or the Data Manager never stores a second v0001 prediction.
        settings_secret = "walk-secret"
        from ls_helpers import serve_in_thread

        from hitl_active.server import AppSettings, create_app

        app = create_app(AppSettings(workspace=ws.root, webhook_secret=settings_secret,
                                     files_root=label_studio.files_root))  # fmt: skip
        with serve_in_thread(app) as serve_url:
            connect_project(client, project.id, serve_url, settings_secret)
            assert client.request("GET", f"/api/projects/{project.id}")["model_version"] == "v0001"
            for tid in list(remote)[:4]:
                client.request("GET", f"/api/projects/{project.id}/next")
                client.request("GET", f"/api/tasks/{tid}")
            for task in _remote(client, project.id).values():
                assert _versions(task) == ["v0001"]

            # 5. Annotate all but two; skip one, leave one open: the round waits for one.
            tasks = ws.store.tasks(round_id=row.id)
            skipped, last = tasks[0], tasks[1]
            assert backend.submit(ws, row.id, {t.image_id for t in tasks[2:]}) == 10
            client.request(
                "POST", f"/api/tasks/{skipped.ls_task_id}/annotations",
                json={"result": [], "was_cancelled": True, "lead_time": 2.0},
            )  # fmt: skip
            backend.pull(ws)
            open_ids = {t.image_id for t in ws.store.tasks(round_id=row.id, open_only=True)}
            assert open_ids == {last.image_id}  # the skip answered its task

            # 4. After a promotion the untouched task gets v0002 and the project follows.
            v2, promoted = import_model(ws, tiny_model.onnx, force=True)
            assert (v2.name, promoted) == ("v0002", True)
            loop.after_promotion(v2.name)
            assert client.request("GET", f"/api/projects/{project.id}")["model_version"] == "v0002"
            client.request("GET", f"/api/projects/{project.id}/next")
            client.request("GET", f"/api/tasks/{last.ls_task_id}")
            remote = _remote(client, project.id)
            assert _versions(remote[last.ls_task_id]) == ["v0002"]
            assert _versions(remote[skipped.ls_task_id]) == ["v0001"]  # answered: kept

        # 5. The last one is annotated; the round closes and the skipped image is back.
        summary = loop.run_round(wait_timeout_s=30)
        assert summary is not None and summary.pending == 0 and summary.labelled == 11
        assert ws.store.round(row.id).info["skipped"] == 1
        assert ws.store.task_of_image(skipped.image_id) is None
        assert skipped.image_id in {img.id for img in loop._candidates()}
        history = ws.store.annotation_history(skipped.image_id)
        assert [a.cancelled for a in history] == [True]  # recorded as skipped
        row2 = ws.store.start_round("v0002")
        assert backend.push(ws, row2.id, [skipped.image_id], "v0002") == 1
        again = ws.store.task_of_image(skipped.image_id)
        assert again.ls_task_id != skipped.ls_task_id and again.round_id == row2.id
        assert [t.image_id for t in ws.store.tasks(round_id=row2.id, open_only=True)] == [
            skipped.image_id
        ]
    finally:
        backend.close()
        other.close()


def test_connect_checks_serve_first_and_registers_nothing_when_it_is_down(client, tiny_model):
    from hitl_active.labelstudio import ensure_project

    project = ensure_project(client, f"connect-{RUN}", tiny_model.class_names)

    def hooks() -> list:
        return client.request("GET", "/api/webhooks", params={"project": project.id}) or []

    before = len(hooks())
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LabelStudioError, match="does not answer"):
        connect_project(client, project.id, dead, "s3cret")
    assert len(hooks()) == before
    assert not client.request("GET", "/api/ml", params={"project": project.id})


def test_env_and_status_remember_the_port_and_files_root_of_the_last_start(label_studio):
    if not (label_studio.data_dir / ".port").is_file():
        pytest.skip("the session reuses a Label Studio this checkout did not start")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABEL_STUDIO_")}
    args = ["--data-dir", str(label_studio.data_dir)]
    out = subprocess.run(
        [SCRIPT, "env", *args], env=env, capture_output=True, text=True, check=True
    ).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert values["LABEL_STUDIO_URL"] == label_studio.url  # not the default 8080
    assert values["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"] == str(label_studio.files_root)
    status = subprocess.run([SCRIPT, "status", *args], env=env, capture_output=True, text=True)
    assert status.returncode == 0 and label_studio.url in status.stdout
