"""A practice task is stored as it was shown, so grading never depends on making the pool again."""

import json

import numpy as np

from hitl_active.formats.core import ImageLabels
from hitl_active.team.practice_track import task_from_dict, task_to_dict
from hitl_active.workforce.grading import grade
from hitl_active.workforce.practice import make_practice_tasks


def _labelled() -> list[ImageLabels]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(6):
        n = 2 + i % 4
        xy = rng.uniform(0, 150, (n, 2))
        wh = rng.uniform(12, 40, (n, 2))
        boxes = np.hstack([xy, xy + wh])
        out.append(ImageLabels(f"img{i}.png", 200, 200, boxes, rng.integers(0, 3, n)))
    return out


def test_a_stored_task_is_the_task_that_was_shown_and_grades_alike():
    tasks = make_practice_tasks(_labelled(), ["a", "b", "c"], np.random.default_rng(1))
    assert len({t.type for t in tasks}) >= 3
    for task in tasks:
        back = task_from_dict(task_to_dict(task))
        assert (back.id, back.type, back.prompt, back.skills) == (
            task.id, task.type, task.prompt, task.skills
        )  # fmt: skip
        assert np.allclose(back.shown.xyxy, task.shown.xyxy)
        assert np.array_equal(back.truth.class_id, task.truth.class_id)
        assert (back.targets, back.choices, back.target_class) == (
            task.targets, task.choices, task.target_class
        )  # fmt: skip
        # the truth itself as the answer grades the same on both
        assert grade(back, task.truth).correct == grade(task, task.truth).correct


class _Client:
    """Label Studio as grading sees it: task 501 was deleted, task 502 answered."""

    def request(self, method: str, path: str, **kwargs):
        from hitl_active.labelstudio.client import LabelStudioError

        if path == "/api/tasks/501":
            raise LabelStudioError(f"Label Studio {method} {path} failed with HTTP 404", 404)
        if method == "GET" and path == "/api/tasks/502":
            answer = {"id": 9, "result": [], "lead_time": 30.0, "was_cancelled": False}
            return {"id": 502, "data": {"image": "x"}, "annotations": [answer]}
        return {}

    def task(self, task_id: int):
        return self.request("GET", f"/api/tasks/{task_id}")

    def update_task_data(self, task_id: int, data: dict):
        return self.request("PATCH", f"/api/tasks/{task_id}", json={"data": data})


def test_grading_goes_past_a_practice_task_deleted_in_label_studio(tmp_path):
    from PIL import Image as PILImage

    from hitl_active.team.practice_track import PracticeTrack
    from hitl_active.workspace.workspace import LoopConfig, Workspace

    pool = tmp_path / "pool"
    pool.mkdir()
    PILImage.new("RGB", (200, 200)).save(pool / "img0.png")
    cfg = LoopConfig(images=str(pool), classes=["a", "b", "c"])
    with Workspace.create(tmp_path / "ws", cfg) as ws:
        tia = ws.store.add_annotator("tia", tier="annotator", practice_project_id=7)
        task = make_practice_tasks(_labelled(), ["a", "b", "c"], np.random.default_rng(1))[0]
        for ls_id in (501, 502):
            ws.store.add_practice(tia.id, f"{task.id}:{ls_id}", task.type.value,
                                  list(task.skills), None, 7, ls_id, "why",
                                  task=task_to_dict(task))  # fmt: skip
        graded, graduated = PracticeTrack(ws, _Client(), None).grade("tia")
        assert (graded, graduated) == (1, False)
        rows = {r.ls_task_id: r for r in ws.store.practice(tia.id)}
        assert rows[501].outcome is None and rows[502].outcome is not None
        assert rows[502].seconds == 30.0


def test_practice_keys_come_only_from_labels_that_can_be_trusted(tmp_path):
    """One careless annotator's labels (1 of 2 objects) never become an answer key; a
    reviewer's, a skilled annotator's and the simulated annotator's do, and each practice
    task records where its key came from."""
    from PIL import Image as PILImage

    from hitl_active.store.rows import labels_to_boxes
    from hitl_active.team.practice_track import KEY_MIN_RECALL, PracticeTrack, answer_keys
    from hitl_active.workspace.workspace import LoopConfig, Workspace

    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(4):
        PILImage.new("RGB", (200, 200)).save(pool / f"img{i}.png")
    cfg = LoopConfig(images=str(pool), classes=["a", "b", "c"])
    with Workspace.create(tmp_path / "ws", cfg) as ws:
        ws.store.add_annotator("rita", email="rita@x.org", tier="reviewer")
        ws.store.add_annotator("cara", email="cara@x.org")  # careless, no gold evidence
        images = sorted(ws.store.images(), key=lambda im: im.path)
        two = ImageLabels("", 200, 200, [[10, 10, 60, 60], [100, 100, 150, 150]], [0, 1])
        one = ImageLabels("", 200, 200, [[10, 10, 60, 60]], [0])
        answers = [("cara@x.org", "human", one), ("rita@x.org", "human", two),
                   ("simulated", "simulated", two)]  # fmt: skip
        for k, (who, source, labels) in enumerate(answers):
            ws.store.add_annotation(
                images[k].id, f"7:{k}", "1", labels_to_boxes(labels), source=source,
                annotator=who, ls_task_id=100 + k,
            )  # fmt: skip
        keys = answer_keys(ws)
        sources = sorted(source for _, source in keys)
        assert sources == ["reviewer rita", "simulated annotator"]
        assert images[0].path not in {labels.image for labels, _ in keys}
        assert 0.5 < KEY_MIN_RECALL <= 1.0

        class _Importer:
            def import_tasks(self, project_id, tasks):
                return [900 + len(tasks)]

        ws.store.add_annotator("tia", tier="trainee", practice_project_id=8)
        track = PracticeTrack(ws, _Importer(), tmp_path)
        track.push_next("tia", n=1)
        (row,) = ws.store.practice(ws.store.annotator("tia").id)
        assert row.feedback["task"]["key_from"] in ("reviewer rita", "simulated annotator")


def test_a_trainee_out_of_practice_on_a_skill_is_told_to_a_person_with_the_evidence(tmp_path):
    """When every practice task on a skill is answered and the trainee is still not ready on
    it, practice cannot make them ready: the track names the skill with the tasks done and
    the mastery, and says the two ways on; they are never moved on (or out) automatically."""
    from PIL import Image as PILImage

    from hitl_active.cli.practice import _nothing_pushed
    from hitl_active.server.pages.annotator import annotator_page
    from hitl_active.server.pages.manager import manager_page
    from hitl_active.store.rows import labels_to_boxes
    from hitl_active.team.practice_track import PracticeTrack, out_of_practice_advice
    from hitl_active.workspace.workspace import LoopConfig, Workspace
    from tests.loop.loop_helpers import run_cli

    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(3):
        PILImage.new("RGB", (200, 200)).save(pool / f"img{i}.png")
    cfg = LoopConfig(images=str(pool), classes=["a", "b"])
    with Workspace.create(tmp_path / "ws", cfg) as ws:
        ws.store.add_annotator("rita", email="rita@x.org", tier="reviewer")
        images = sorted(ws.store.images(), key=lambda im: im.path)
        # class b shows once in the labelled pool: few practice tasks on recall:b
        answers = [[[10, 10, 60, 60], [100, 100, 150, 150]], [[20, 20, 70, 90]]]
        for k, (boxes, classes) in enumerate(zip(answers, ([0, 1], [0]), strict=True)):
            labels = ImageLabels("", 200, 200, boxes, classes)
            ws.store.add_annotation(
                images[k].id, f"7:{k}", "1", labels_to_boxes(labels), source="human",
                annotator="rita@x.org", ls_task_id=100 + k,
            )  # fmt: skip

        class _Importer:
            made = 900

            def import_tasks(self, project_id, tasks):
                self.made += 1
                return [self.made]

        tia = ws.store.add_annotator("tia", tier="trainee", practice_project_id=8)
        track = PracticeTrack(ws, _Importer(), tmp_path)
        on_b = [t.id for t in track.tasks().values() if "recall:b" in t.skills]
        assert on_b and len(on_b) < len(track.tasks())
        for _ in range(len(track.tasks())):  # answer everything, wrongly
            pushed = track.push_next("tia", n=1)
            if not pushed:
                break
            (row,) = [r for r in ws.store.practice(tia.id) if r.outcome is None]
            assert not set(row.skills) & set(track.out_of_practice(tia))  # one waits on them
            ws.store.grade_practice(row.id, 30.0, {s: False for s in row.skills}, row.feedback)
        short = track.out_of_practice(tia)
        assert "recall:b" in short and set(short) <= {s for t in track.tasks().values()
                                                      for s in t.skills}  # fmt: skip
        done, mastery = short["recall:b"]
        assert done == len(on_b) and mastery < track.mastery(tia).threshold
        line = out_of_practice_advice("tia", short)
        assert "recall:b" in line and "annotators set tia --tier annotator" in line
        assert ws.store.annotator("tia").tier == "trainee"  # nobody moved them
        said, evidence = _nothing_pushed(track, "tia")  # what `practice next` prints
        assert said == line and evidence["recall:b"]["tasks_done"] == done
        # her page tells her (not held against her), the manager's page says it is theirs
        mine = annotator_page(ws, "tia", lang="en")
        assert "Practice has nothing left on" in mine and "recall:b" in mine
        assert "no practice left on" in manager_page(ws) and "recall:b" in manager_page(ws)

    shown = run_cli("practice", "progress", "tia", "-w", str(tmp_path / "ws"), "--json")
    assert shown.returncode == 0, shown.stderr
    assert "recall:b" in json.loads(shown.stdout)["out_of_practice"]
