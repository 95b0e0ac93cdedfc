"""The annotators' path without a server: task fields, project binding, skips, URLs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hitl_active.formats import ImageLabels
from hitl_active.labelstudio import LabelStudioError, ProjectInfo, label_config
from hitl_active.labelstudio.project import ProjectMismatchError, resolve_project
from hitl_active.labelstudio.push import PushItem, _task, prediction_score, project_index
from hitl_active.loop.ls_project import same_url
from hitl_active.store.store import Store

CLASSES = ("cat", "dog")
PROJECT = ProjectInfo(7, "pets", CLASSES)


class FakeClient:
    """Projects by id and title, as Label Studio's REST API answers them."""

    url = "http://127.0.0.1:8080"

    def __init__(self, projects: list[dict[str, Any]], tasks: list[dict] | None = None) -> None:
        self._projects = projects
        self._tasks = tasks or []
        self.created: list[dict] = []

    def projects(self) -> list[dict[str, Any]]:
        return self._projects

    def whoami(self) -> dict[str, Any]:
        return {"id": 1, "email": "admin@example.com"}

    def iter_tasks(self, project_id: int, **_: Any):
        return iter(self._tasks)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if method == "GET" and path.startswith("/api/projects/"):
            pid = int(path.rsplit("/", 1)[1])
            for p in self._projects:
                if p["id"] == pid:
                    return p
            raise LabelStudioError(f"Label Studio GET {path} failed with HTTP 404: not found")
        if method == "POST" and path == "/api/projects":
            body = {"id": 100 + len(self.created), **kwargs["json"]}
            self.created.append(body)
            self._projects.append(body)
            return body
        raise AssertionError(f"unexpected {method} {path}")


def _project(pid: int, title: str, classes=CLASSES) -> dict[str, Any]:
    return {"id": pid, "title": title, "label_config": label_config(classes)}


def test_a_task_carries_rank_uncertainty_selection_score_and_why(tmp_path) -> None:
    labels = ImageLabels("a.jpg", 200, 100, [[10, 10, 50, 50]], [1], scores=[0.8])
    item = PushItem("a.jpg", 200, 100, labels, uncertainty=0.3, image="a.jpg", rank=3,
                    ranked=12, selection_score=-0.284, why="Picked 3 of 12: because.")  # fmt: skip
    task = _task(item, PROJECT, "v0001", tmp_path)
    data = json.loads(json.dumps(task))["data"]  # as sent over the wire
    assert data["rank"] == 3 and isinstance(data["rank"], int)
    assert data["uncertainty"] == 0.3 and isinstance(data["uncertainty"], float)
    assert data["selection_score"] == -0.284 and data["why"] == "Picked 3 of 12: because."
    (prediction,) = task["predictions"]
    assert prediction["score"] == pytest.approx(1 - 1 / 3, abs=1e-6)  # its place in the order
    assert prediction["model_version"] == "v0001"
    bare = _task(PushItem("b.jpg", 20, 10, image="b.jpg"), PROJECT, "none", tmp_path)
    assert "rank" not in bare["data"] and "why" not in bare["data"] and "predictions" not in bare


def test_the_workspace_project_wins_and_a_different_title_is_an_error_naming_both() -> None:
    client = FakeClient([_project(3, "Pool detection"), _project(4, "Other")])
    assert resolve_project(client, CLASSES, 3).title == "Pool detection"
    assert resolve_project(client, CLASSES, 3, "Pool detection").id == 3
    with pytest.raises(ProjectMismatchError, match=r"'Other'.*'Pool detection'"):
        resolve_project(client, CLASSES, 3, "Other")
    with pytest.raises(ProjectMismatchError, match="no project with id 9"):
        resolve_project(client, CLASSES, 9)
    assert not client.created


def test_an_unbound_workspace_reuses_or_creates_by_title_with_skips_not_requeued() -> None:
    client = FakeClient([_project(3, "Pool detection")])
    assert resolve_project(client, CLASSES, None, "Pool detection").id == 3
    made = resolve_project(client, CLASSES, None, None, default_title="hitl-active ws")
    assert made.title == "hitl-active ws" and client.created[0]["skip_queue"] == "IGNORE_SKIPPED"


def test_the_newest_unanswered_task_of_an_image_is_the_live_one() -> None:
    tasks = [
        {"id": 5, "data": {"image_key": "a.jpg"}, "cancelled_annotations": 1},
        {"id": 9, "data": {"image_key": "a.jpg"}},
        {"id": 6, "data": {"image_key": "b.jpg"}, "total_annotations": 1},
    ]
    client = FakeClient([], tasks)
    assert {k: t["id"] for k, t in project_index(client, 7).items()} == {"a.jpg": 9, "b.jpg": 6}
    assert set(project_index(client, 7, unanswered=True)) == {"a.jpg"}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/", True),
        ("http://localhost:8080", "http://127.0.0.1:8080", True),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8093", False),
    ],
)
def test_label_studio_urls_compare_by_server(a: str, b: str, same: bool) -> None:
    assert same_url(a, b) is same


def test_a_skip_answers_the_task_and_returns_the_image_to_the_pool(tmp_path) -> None:
    with Store(tmp_path / "state.db") as store:
        store.add_images([(f"/img/{i}.jpg", 100, 80, f"h{i}", "pool") for i in range(3)])
        ids = [img.id for img in store.images()]
        rid = store.start_round(None).id
        store.add_selection(rid, [(ids[0], 0.9, 5.0), (ids[1], 0.5, 5.0)])
        assert store.selection_scores(rid) == {ids[0]: (1, 0.9), ids[1]: (2, 0.5)}
        for n, image_id in enumerate(ids[:2]):
            store.add_task(image_id, rid, 10 + n, 7, None)
        store.add_annotation(ids[0], "7:1", "r", [], ls_task_id=10, cancelled=True)
        assert [t.image_id for t in store.tasks(rid, open_only=True)] == [ids[1]]
        assert store.release_skipped(rid) == [ids[0]]
        assert store.task_of_image(ids[0]) is None  # a candidate again
        assert store.release_skipped(rid) == []
        assert [a.cancelled for a in store.annotation_history(ids[0])] == [True]  # still recorded
        # pushed again later: the new task is open, the old skip does not answer it
        store.set_round_step(rid, "done")
        store.add_task(ids[0], store.start_round(None).id, 20, 7, None)
        assert {t.image_id for t in store.tasks(open_only=True)} == {ids[0], ids[1]}


def test_commands_say_what_they_miss_with_exit_code_2(tmp_path, capsys, monkeypatch) -> None:
    from hitl_active.cli import main
    from hitl_active.workspace.workspace import LoopConfig, Workspace

    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "t0ken")
    assert main(["label-studio", "pull", "--project", "P"]) == 2
    assert "pass -w WORKSPACE, or --classes" in capsys.readouterr().err
    assert main(["label-studio", "pull", "--classes", "a,b", "--project", "P"]) == 2
    assert "--db FILE.db" in capsys.readouterr().err

    images = tmp_path / "images"
    images.mkdir()
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (32, 24)).save(images / f"{i}.jpg")
    Workspace.create(tmp_path / "ws", LoopConfig(images=str(images), classes=["a"], gold_size=1))
    (tmp_path / "model.bin").write_bytes(b"x")
    assert main(["models", "add", str(tmp_path / "model.bin"), "-w", str(tmp_path / "ws")]) == 2
    assert "neither Ultralytics weights (.pt) nor an ONNX export" in capsys.readouterr().err
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    assert main(["models", "add", str(tmp_path / "bad.onnx"), "-w", str(tmp_path / "ws")]) == 2
    assert "bad.onnx" in capsys.readouterr().err
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.store.model_versions() == []  # nothing half-registered


def test_prediction_scores_follow_the_sampler_and_else_the_model_s_confidence() -> None:
    ranked = [prediction_score(0.9 - 0.1 * r, rank=r) for r in range(1, 8)]
    assert ranked[0] == 0.0 and all(0.0 <= s < 1.0 for s in ranked)
    assert ranked == sorted(ranked) and len(set(ranked)) == 7  # lowest first = rank 1
    raw = [-0.5, 0.0, 0.2, 0.99, 1.0, 1.5]  # uncertainties, out of range ones clipped
    unranked = [prediction_score(u) for u in raw]
    assert all(0.0 <= s <= 1.0 for s in unranked)
    assert unranked == sorted(unranked, reverse=True)  # the most uncertain lowest: first
    assert prediction_score(None) is None and prediction_score(float("nan")) is None


def test_why_lines_say_in_plain_words_why_an_image_was_chosen() -> None:
    from hitl_active.loop.backends import why_line

    assert why_line(None, None, None, None).startswith("Picked at random (this round)")
    assert "no model is trained yet" in why_line(2, 10, None, None)
    assert "found nothing here" in why_line(1, 10, 1.0, 0)
    assert "unsure here (uncertainty 0.81 of 1)" in why_line(1, 10, 0.81, 3)
    assert why_line(4, 10, 0.2, 3).startswith("Picked 4 of 10: the model is fairly sure")
    assert all("\n" not in why_line(r, 10, u, n) for r, u, n in [(1, 0.9, 2), (2, 0.1, 1)])


def test_a_workspace_with_tasks_is_not_moved_to_another_project_and_nothing_is_made(
    tmp_path,
) -> None:
    from PIL import Image

    from hitl_active.loop.ls_project import bind_project
    from hitl_active.workspace.workspace import LoopConfig, Workspace

    images = tmp_path / "images"
    images.mkdir()
    for i in range(3):
        Image.new("RGB", (32, 24)).save(images / f"{i}.jpg")
    cfg = LoopConfig(images=str(images), classes=list(CLASSES), gold_size=1)
    made_by = {"created_by": {"id": 5, "email": "maker@example.com"}}
    client = FakeClient([_project(3, "Pool detection") | made_by])
    with Workspace.create(tmp_path / "ws", cfg) as ws:
        assert bind_project(ws, client, client.url, "Pool detection", attach=False).id == 3
        assert (ws.config.label_studio_project, ws.config.label_studio_url) == (3, client.url)
        # who set it up and who made the project administer it: no annotators of it
        assert ws.store.admin_accounts() == [
            {"id": 1, "email": "admin@example.com"},
            {"id": 5, "email": "maker@example.com"},
        ]
        assert ws.store.annotator_for_user("maker@example.com") is None
        assert ws.store.annotator_for_user("ana@example.com").name == "ana@example.com"
        ws.store.add_task(ws.store.images()[0].id, None, 1, 3, None)
        assert bind_project(ws, client, client.url, attach=False).id == 3  # kept
        with pytest.raises(ProjectMismatchError, match=r"1 tasks.*'Pool detection'.*'Other'"):
            bind_project(ws, client, client.url, "Other", attach=False)
        with pytest.raises(ProjectMismatchError, match="9999"):
            bind_project(ws, client, "http://127.0.0.1:9999", "Pool detection", attach=False)
        assert client.created == [] and ws.config.label_studio_project == 3
