"""Against a real Label Studio: set-up, push, annotate through the API, pull and webhook."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import uuid

import numpy as np
import pytest
from ls_helpers import edited, free_port, recorded, serve_in_thread, wait_http

from hitl_active.data.images import image_size
from hitl_active.formats import read_yolo_labels, to_yolo_lines
from hitl_active.formats.yolo import from_yolo_lines
from hitl_active.labelstudio import (
    LabelMismatchError,
    LabelStudioAuthError,
    LabelStudioClient,
    PushItem,
    connect_local_files,
    ensure_project,
    pull_annotations,
    push_tasks,
    refresh_predictions,
    register_webhook,
)
from hitl_active.server import AppSettings, create_app
from hitl_active.store import Store

pytestmark = pytest.mark.labelstudio

EDITS = ["keep", "move", "relabel", "replace", "skip"]  # one task stays unannotated


@pytest.fixture(scope="module")
def client(label_studio):
    with LabelStudioClient(label_studio.url, label_studio.token) as c:
        yield c


@pytest.fixture(scope="module")
def images(label_studio, tiny_dataset):
    """Six synthetic images (with ≥1 box) copied under the served folder, with their labels."""
    folder = label_studio.images_dir / f"set-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    out = []
    for path in sorted(tiny_dataset.images_dir.iterdir()):
        w, h = image_size(path)
        labels = read_yolo_labels(tiny_dataset.labels_dir / f"{path.stem}.txt", path.name, w, h)
        if len(labels) == 0:
            continue
        shutil.copy(path, folder / path.name)
        out.append((folder / path.name, labels))
        if len(out) == 6:
            return out
    raise AssertionError("tiny_dataset has fewer than 6 labelled images")


def test_annotations_come_back_exactly_once(
    client, label_studio, tiny_dataset, images, caplog
) -> None:
    classes = list(tiny_dataset.class_names)
    project = ensure_project(client, f"e2e-{uuid.uuid4().hex[:8]}", classes)
    assert ensure_project(client, project.title, classes).id == project.id  # reused by title
    with pytest.raises(LabelMismatchError, match="do not match"):
        ensure_project(client, project.title, [*classes, "extra"])
    connect_local_files(client, project.id, images[0][0].parent)

    items = [
        PushItem(p.name, lab.width, lab.height, lab, uncertainty=0.1 * i, image=p)
        for i, (p, lab) in enumerate(images)
    ]
    push_sink = Store.standalone()
    first = push_tasks(client, project, items, push_sink, "m1", label_studio.files_root, 4, False)
    assert first.created == 6
    again = push_tasks(client, project, items, Store.standalone(), "m1", label_studio.files_root)
    assert again.created == 0 and again.task_ids == first.task_ids  # found in the project
    tasks = list(client.iter_tasks(project.id))
    assert len(tasks) == 6
    task = tasks[0]
    (prediction,) = task["predictions"]
    # not ranked: the score is the model's confidence, 1 - uncertainty (here 0.0)
    assert prediction["model_version"] == "m1" and prediction["score"] == pytest.approx(1.0)
    assert client._send("GET", task["data"]["image"]).status_code == 200  # served local file

    hook_sink, pull_sink = Store.standalone(), Store.standalone()
    settings = AppSettings(
        webhook_secret="hook-secret",
        label_studio_url=label_studio.url,
        label_studio_token=label_studio.token,
        class_names=tuple(classes),
    )
    with serve_in_thread(create_app(settings, sink=hook_sink)) as app_url:
        register_webhook(client, project.id, f"{app_url}/webhook", "hook-secret")
        by_key = {t["data"]["image_key"]: t for t in tasks}
        annotation_ids = {}
        for (path, _), how in zip(images, EDITS, strict=False):
            t = by_key[path.name]
            pred = t["predictions"][0]
            body = {"result": [], "was_cancelled": True, "lead_time": 1.0}
            if how != "skip":
                body = {
                    "result": edited(pred["result"], how, classes),
                    "lead_time": 7.5,
                    "parent_prediction": pred["id"],
                }
            created = client.request("POST", f"/api/tasks/{t['id']}/annotations", json=body)
            annotation_ids[how] = created["id"]
        assert len(recorded(hook_sink, project.id)) == 5  # each delivered once, by webhook

        report = pull_annotations(client, project, pull_sink)
        assert (report.recorded, report.skipped_tasks) == (5, 1)
        assert pull_annotations(client, project, hook_sink).recorded == 0  # pull after webhook
        assert pull_annotations(client, project, pull_sink).recorded == 0  # nothing changed
        strip = ("diff", "annotator")
        assert [
            {k: v for k, v in r.items() if k not in strip} for r in recorded(hook_sink, project.id)
        ] == [
            {k: v for k, v in r.items() if k not in strip} for r in recorded(pull_sink, project.id)
        ]

        records = {r["annotation_id"]: r for r in recorded(pull_sink, project.id)}
        counts = {how: records[annotation_ids[how]]["diff"] for how in EDITS}
        assert counts["keep"]["counts"]["kept"] == len(images[0][1])
        assert counts["keep"]["counts"]["moved"] == 0
        assert counts["move"]["counts"]["moved"] == 1
        assert counts["relabel"]["counts"]["relabelled"] == 1
        assert (counts["replace"]["counts"]["deleted"], counts["replace"]["counts"]["added"]) == (
            1,
            1,
        )
        assert counts["skip"] is None and records[annotation_ids["skip"]]["was_cancelled"]
        kept = records[annotation_ids["keep"]]
        assert kept["annotator"] == label_studio.username or label_studio.username == ""
        assert kept["lead_time"] == 7.5 and kept["model_version"] == "m1"

        # Boxes back in YOLO form match the original label files within 1 px.
        path, original = images[0]
        back = from_yolo_lines(
            to_yolo_lines(pull_sink_labels(kept)), path.name, original.width, original.height
        )
        np.testing.assert_array_equal(back.class_id, original.class_id)
        assert np.abs(back.xyxy - original.xyxy).max() <= 1.0

        # An update replaces the earlier version; a deletion removes it, on both paths.
        moved = annotation_ids["move"]
        result = client.request("GET", f"/api/annotations/{moved}")["result"]
        client.request("PATCH", f"/api/annotations/{moved}", json={"result": result[1:]})
        assert pull_annotations(client, project, pull_sink).recorded == 1
        assert len(recorded(pull_sink, project.id)) == 5
        hook_moved = next(r for r in recorded(hook_sink, project.id) if r["annotation_id"] == moved)
        assert len(hook_moved["xyxy"]) == len(result) - 1
        client.request("DELETE", f"/api/annotations/{annotation_ids['relabel']}")
        assert pull_annotations(client, project, pull_sink).deleted == 1
        assert len(recorded(pull_sink, project.id)) == len(recorded(hook_sink, project.id)) == 4

    # A promoted model replaces pre-labels only where nobody has annotated yet.
    refreshed = refresh_predictions(client, project, items, "m2")
    assert refreshed.replaced == 2  # the unannotated task and the one whose annotation went
    assert refreshed.skipped_annotated == 4
    assert client.request("GET", f"/api/projects/{project.id}")["model_version"] == "m2"
    versions = {
        t["data"]["image_key"]: [p["model_version"] for p in t["predictions"]]
        for t in client.iter_tasks(project.id)
    }
    assert versions[images[5][0].name] == ["m2"]
    assert versions[images[0][0].name] == ["m1"]

    # With no task left to refresh the project keeps its version, and nothing is asked of
    # Label Studio that it would refuse (a version no prediction carries).
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="hitl_active.labelstudio.push"):
        assert refresh_predictions(client, project, [], "m3").replaced == 0
    assert client.request("GET", f"/api/projects/{project.id}")["model_version"] == "m2"
    assert "keeps its model version" not in caplog.text


def pull_sink_labels(record: dict):
    from hitl_active.formats import ImageLabels

    return ImageLabels(
        record["image"],
        record["width"],
        record["height"],
        xyxy=record["xyxy"],
        class_id=record["class_id"],
    )


def test_a_batch_imported_but_not_recorded_is_found_not_duplicated(
    client, label_studio, tiny_dataset, images
) -> None:
    from hitl_active.labelstudio.push import _task, project_index

    project = ensure_project(client, f"crash-{uuid.uuid4().hex[:8]}", tiny_dataset.class_names)
    items = [PushItem(p.name, lab.width, lab.height, lab, image=p) for p, lab in images]
    sink = Store.standalone()
    first = push_tasks(client, project, items[:3], sink, "m1", label_studio.files_root)
    assert sink.last_task_id(project.id) == max(first.task_ids.values())
    # a push that died after importing its batch, before recording it
    lost = client.import_tasks(
        project.id, [_task(i, project, "m1", label_studio.files_root) for i in items[3:5]]
    )
    newer = project_index(client, project.id, sink.last_task_id(project.id))
    assert sorted(int(t["id"]) for t in newer.values()) == sorted(lost), "only newer tasks"
    again = push_tasks(client, project, items, sink, "m1", label_studio.files_root)
    assert again.created == 1 and again.already_there == 5
    assert [again.task_ids[i.image_key] for i in items[3:5]] == lost
    assert len(list(client.iter_tasks(project.id))) == 6


def test_a_light_task_shows_a_small_copy_and_its_boxes_come_back_in_the_originals_pixels(
    client, label_studio
) -> None:
    """A 4000 x 3000 photo goes out as a 1280-wide copy that Label Studio serves; an answer
    drawn on the copy is recorded in the original's pixels."""
    from PIL import Image

    from hitl_active.formats import ImageLabels
    from hitl_active.labelstudio.light import TaskImageSpec

    folder = label_studio.images_dir / f"big-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    rng = np.random.default_rng(1)
    big = folder / "big.jpg"
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), np.uint8)).resize((4000, 3000)).save(
        big, quality=95
    )
    truth = ImageLabels("big.jpg", 4000, 3000,
                        xyxy=np.array([[1001.0, 503.0, 2999.0, 2497.0]], np.float32),
                        class_id=np.array([0], np.int64))  # fmt: skip
    project = ensure_project(client, f"light-{uuid.uuid4().hex[:8]}", ["a", "b"])
    connect_local_files(client, project.id, folder)
    sink = Store.standalone()
    item = PushItem("big.jpg", 4000, 3000, truth, image=big)
    push_tasks(client, project, [item], sink, "m1", label_studio.files_root, progress=False,
               task_image=TaskImageSpec(1280, 80))  # fmt: skip
    (task,) = client.iter_tasks(project.id)
    served = client._send("GET", task["data"]["image"])
    assert served.status_code == 200 and len(served.content) < big.stat().st_size / 5
    shown = label_studio.files_root / urllib_d(task["data"]["image"])
    assert image_size(shown) == (1280, 960)
    answer = task["predictions"][0]["result"]
    for region in answer:  # what the editor stores: the size of the image it showed
        region["original_width"], region["original_height"] = 1280, 960
        region.pop("score", None)
    client.request("POST", f"/api/tasks/{task['id']}/annotations",
                   json={"result": answer, "lead_time": 3.0})  # fmt: skip
    assert pull_annotations(client, project, sink, progress=False).recorded == 1
    (row,) = recorded(sink, project.id)
    assert (row["width"], row["height"]) == (4000, 3000)
    assert np.abs(np.array(row["xyxy"]) - truth.xyxy).max() <= 0.5


def urllib_d(url: str) -> str:
    """The relative path a ``/data/local-files/?d=...`` URL names."""
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(url).query)["d"][0]


def test_wrong_token_is_a_401_explained(label_studio) -> None:
    with (
        LabelStudioClient(label_studio.url, "not-the-token") as bad,
        pytest.raises(LabelStudioAuthError) as err,
    ):
        bad.whoami()
    assert "HTTP 401" in str(err.value) and label_studio.url in str(err.value)
    assert "LABEL_STUDIO_USER_TOKEN" in str(err.value)


def test_a_personal_access_token_works_for_the_api_and_task_images(
    client, label_studio, tiny_dataset, images
) -> None:
    import httpx

    from hitl_active.labelstudio.media import fetch_task_image
    from hitl_active.labelstudio.project import image_url

    # Personal access tokens are a per-organisation setting; switch them on beside legacy ones.
    client.request("POST", "/api/jwt/settings", json={
        "api_tokens_enabled": True, "legacy_api_tokens_enabled": True,
    })  # fmt: skip
    existing = client.request("GET", "/api/token/")
    pat = client.request("POST", "/api/token/")["token"] if not existing else None
    if pat is None:
        pytest.skip("the admin already holds a personal access token that cannot be read back")
    with LabelStudioClient(label_studio.url, pat) as pat_client:
        assert pat_client.whoami()["id"] == client.whoami()["id"]
        title = f"pat-{uuid.uuid4().hex[:8]}"
        project = ensure_project(pat_client, title, tiny_dataset.class_names)
        connect_local_files(pat_client, project.id, images[0][0].parent)
    url = image_url(images[0][0], label_studio.files_root)
    with httpx.Client(timeout=30) as http:  # no local files root: fetched over HTTP with the PAT
        img = fetch_task_image(url, None, label_studio.url, pat, http)
    assert img.pixels.shape[:2] == (images[0][1].height, images[0][1].width)
    assert img.size == (images[0][1].width, images[0][1].height)


def test_label_studio_gets_predictions_from_serve(client, label_studio, tiny_model, images) -> None:
    engine_module = pytest.importorskip("hitl_active.serving.engine")
    from hitl_active.data.images import read_image
    from hitl_active.formats.labelstudio import from_ls_results
    from hitl_active.labelstudio.ml import connect_ml_backend, request_predictions

    conf = 0.05
    engine = engine_module.Engine(tiny_model.onnx, engine_module.EngineConfig(conf_floor=0.01))
    shown = [engine.predict([read_image(p)])[0].above(conf) for p, _ in images]
    best = int(np.argmax([len(d) for d in shown]))
    path, labels = images[best]
    assert len(shown[best]) > 0, "the tiny model finds nothing; the fixture model is too weak"

    project = ensure_project(client, f"ml-{uuid.uuid4().hex[:8]}", tiny_model.class_names)
    connect_local_files(client, project.id, path.parent)
    item = PushItem(path.name, labels.width, labels.height, image=path)  # no pre-label
    (task_id,) = push_tasks(
        client, project, [item], Store.standalone(), "none", label_studio.files_root, progress=False
    ).task_ids.values()

    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "hitl_active",
        "serve",
        "--model",
        str(tiny_model.onnx),
        "--port",
        str(port),
        "--files-root",
        str(label_studio.files_root),
        "--conf",
        str(conf),
    ]
    env = dict(os.environ, HITL_WEBHOOK_SECRET="ml-secret")
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=90)
        backend = connect_ml_backend(
            client, project.id, f"http://127.0.0.1:{port}", secret="ml-secret"
        )  # Label Studio itself calls /health and /setup here
        assert backend["readable_state"] == "Connected", backend
        assert request_predictions(client, project.id, [task_id])["processed_items"] == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    (prediction,) = client.request("GET", f"/api/tasks/{task_id}")["predictions"]
    assert prediction["model_version"] == engine.model_version
    stored = from_ls_results(prediction["result"], tiny_model.class_names, path.name)
    np.testing.assert_array_equal(stored.class_id, shown[best].class_id)
    assert np.abs(stored.xyxy - shown[best].xyxy).max() <= 1.0
