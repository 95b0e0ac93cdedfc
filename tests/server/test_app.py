"""The HTTP app: ML-backend protocol and webhook receiver (engine replaced by a stub here;
the real ONNX engine in a real `hitl-active serve` is probed in test_hostile.py, and behind
a real Label Studio in tests/labelstudio)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from hitl_active.detections import Detections
from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.labelstudio import SECRET_HEADER, label_config
from hitl_active.sampling import image_uncertainty
from hitl_active.server import AppSettings, create_app
from hitl_active.store import Store
from tests.labelstudio.ls_helpers import recorded

CLASSES = ["cat", "dog"]


class StubEngine:
    """Answers one fixed box per image, in that image's pixels."""

    class_names = CLASSES
    model_version = "stub-3"

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []

    def predict(self, images: list[np.ndarray]) -> list[Detections]:
        out = []
        for im in images:
            h, w = im.shape[:2]
            self.sizes.append((w, h))
            out.append(
                Detections(
                    xyxy=[[10, 20, 60, 70], [0, 0, 5, 5]],
                    confidence=[0.8, 0.1],
                    class_id=[1, 0],
                    class_probs=[[0.1, 0.8], [0.1, 0.05]],
                    image_size=(w, h),
                )
            )
        return out


@pytest.fixture
def files_root(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (200, 100), (10, 20, 30)).save(tmp_path / "images" / "a.jpg")
    return tmp_path


SECRET = {SECRET_HEADER: "s3cret"}


def _client(files_root, engine=None, **kw) -> tuple[TestClient, Store]:
    sink = Store.standalone()
    settings = AppSettings(files_root=files_root, webhook_secret="s3cret", **kw)
    return TestClient(create_app(settings, engine=engine, sink=sink), headers=SECRET), sink


def test_health_setup_and_predict_follow_the_ml_backend_protocol(files_root) -> None:
    engine = StubEngine()
    client, _ = _client(files_root, engine)
    with client:
        health = client.get("/health").json()
        assert health["status"] == "UP" and health["model_version"] == "stub-3"
        setup = client.post("/setup", json={"project": "1.1", "schema": label_config(CLASSES)})
        assert setup.status_code == 200 and setup.json() == {"model_version": "stub-3"}
        body = {
            "tasks": [{"id": 5, "data": {"image": "/data/local-files/?d=images/a.jpg"}}],
            "label_config": label_config(CLASSES),
        }
        resp = client.post("/predict", json=body)
    assert resp.status_code == 200, resp.text
    (prediction,) = resp.json()["results"]
    assert engine.sizes == [(200, 100)]
    assert prediction["model_version"] == "stub-3"
    # the model's confidence, 1 - image_uncertainty: the most doubtful candidate's entropy
    expected = 1.0 - image_uncertainty(np.array([[0.1, 0.8], [0.1, 0.05]]))
    assert 0.0 <= prediction["score"] <= 1.0
    assert prediction["score"] == pytest.approx(expected, abs=1e-6)
    (region,) = prediction["result"]  # the 0.1 box is under the display threshold
    assert region["value"]["rectanglelabels"] == ["dog"]
    assert region["value"]["x"] == pytest.approx(5.0) and region["value"]["y"] == 20.0


def test_setup_and_predict_refuse_labels_that_are_not_the_model_classes(files_root) -> None:
    client, _ = _client(files_root, StubEngine())
    with client:
        resp = client.post("/setup", json={"schema": label_config(["cat", "bird"])})
        assert resp.status_code == 400
        assert "['cat', 'bird']" in resp.text and "['cat', 'dog']" in resp.text
        resp = client.post("/predict", json={"tasks": [], "label_config": label_config(["x"])})
        assert resp.status_code == 400


def test_predict_errors_are_4xx_without_tracebacks(files_root) -> None:
    client, _ = _client(files_root)
    with client:
        assert client.get("/health").json()["model_loaded"] is False
        empty = client.post("/predict", json={"tasks": [{"id": 1, "data": {}}]})
        assert empty.status_code == 200 and empty.json()["results"] == []
        assert "no model" in empty.json()["reason"]  # serve starts before the first model
    client, _ = _client(files_root, StubEngine())
    with client:
        missing = {
            "tasks": [{"id": 1, "data": {"image": "/data/local-files/?d=images/no.jpg"}}],
            "label_config": label_config(CLASSES),
        }
        resp = client.post("/predict", json=missing)
        assert resp.status_code == 422 and "task 1" in resp.text and "Traceback" not in resp.text
        assert client.post("/predict", json={"tasks": "x"}).status_code == 422


def _event(annotation_id: int = 1, action: str = "ANNOTATION_CREATED") -> dict:
    labels = Detections(
        xyxy=[[10, 20, 60, 70]],
        confidence=[1.0],
        class_id=[1],
        class_probs=[[0, 1]],
        image_size=(200, 100),
    )
    return {
        "action": action,
        "project": {"id": 2, "title": "pets", "label_config": label_config(CLASSES)},
        "task": {
            "id": 9,
            "data": {"image_key": "a.jpg", "width": 200, "height": 100},
            "predictions": [],
        },
        "annotation": {
            "id": annotation_id,
            "task": 9,
            "result": to_ls_results(labels, CLASSES),
            "completed_by": 1,
            "lead_time": 3.0,
            "was_cancelled": False,
            "updated_at": "2026-01-01T00:00:00Z",
        },
    }


def test_webhook_needs_the_secret_and_records_once(files_root, tmp_path) -> None:
    flag = tmp_path / "flags" / "new-annotations"
    client, sink = _client(files_root, StubEngine(), annotations_flag=flag)
    client.headers.pop(SECRET_HEADER)
    with client:
        assert client.post("/webhook", json=_event()).status_code == 401
        wrong = client.post("/webhook", json=_event(), headers={SECRET_HEADER: "nope"})
        assert wrong.status_code == 401 and SECRET_HEADER in wrong.text
        assert not flag.exists()
        ok = client.post("/webhook", json=_event(), headers={SECRET_HEADER: "s3cret"})
        assert ok.status_code == 200 and ok.json()["recorded"] == 1
        assert flag.exists()
        basic = "Basic " + base64.b64encode(b"hitl-active:s3cret").decode()
        again = client.post("/webhook", json=_event(), headers={"Authorization": basic})
        assert again.status_code == 200 and again.json()["recorded"] == 0
        other = client.post(
            "/webhook", json={"action": "START_TRAINING"}, headers={SECRET_HEADER: "s3cret"}
        )
        assert other.status_code == 200 and other.json()["handled"] is False
        json_type = {SECRET_HEADER: "s3cret", "Content-Type": "application/json"}
        bad = client.post("/webhook", content=b"[1,", headers=json_type)
        assert bad.status_code == 400
    (record,) = recorded(sink, 2)
    assert record["xyxy"] == [[10.0, 20.0, 60.0, 70.0]] and record["lead_time"] == 3.0


def test_serve_without_a_workspace_records_into_a_state_database(files_root, tmp_path) -> None:
    """``serve --db FILE`` (no workspace) records through the same store code as a
    workspace: the file is a state database the store reopens, the annotation in it."""
    db = tmp_path / "annotations.db"
    settings = AppSettings(files_root=files_root, webhook_secret="s3cret", sink_path=db)
    with TestClient(create_app(settings, engine=StubEngine()), headers=SECRET) as client:
        assert client.post("/webhook", json=_event(annotation_id=4)).json()["recorded"] == 1
        assert client.post("/webhook", json=_event(annotation_id=4)).json()["recorded"] == 0
    with Store(db) as again:
        (row,) = again.project_annotations(2)
        assert row.external_id == "2:4" and row.boxes[0]["xyxy"] == [10.0, 20.0, 60.0, 70.0]
        assert again.image_for_key("a.jpg") == row.image_id


def test_an_app_without_a_shared_secret_is_refused(files_root) -> None:
    with pytest.raises(ValueError, match="HITL_WEBHOOK_SECRET"):
        create_app(AppSettings(files_root=files_root), engine=StubEngine(), sink=Store.standalone())


def test_each_app_has_its_own_state(files_root) -> None:
    a = create_app(AppSettings(model_version="a", webhook_secret="x"))
    b = create_app(AppSettings(model_version="b", webhook_secret="x"))
    assert a is not b and a.state.hitl is not b.state.hitl
    with TestClient(a) as ca, TestClient(b) as cb:
        assert ca.get("/health").json()["model_version"] == "a"
        assert cb.get("/health").json()["model_version"] == "b"


def test_settings_from_env(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HITL_WEBHOOK_SECRET", "x")
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("HITL_CONF_THRESHOLD", "0.4")
    settings = AppSettings.from_env(model_path=tmp_path / "m.onnx", conf_threshold=None)
    assert settings.webhook_secret == "x" and settings.conf_threshold == 0.4
    assert settings.label_studio_url == "http://127.0.0.1:1"
    assert settings.model_path == tmp_path / "m.onnx"
