"""`hitl-active serve --workspace`: the app follows the loop's promoted model and store."""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from hitl_active.labelstudio import SECRET_HEADER
from hitl_active.labelstudio.project import label_config
from hitl_active.server import AppSettings, create_app
from hitl_active.workspace.workspace import LoopConfig, Workspace


def _promote(ws: Workspace, name: str, onnx) -> None:
    (ws.models_dir / name).mkdir(parents=True, exist_ok=True)
    shutil.copy(onnx, ws.models_dir / name / "model.onnx")
    (ws.models_dir / "CURRENT").write_text(name + "\n")


def test_serve_follows_promotions_and_records_into_the_workspace(tiny_model, tmp_path):
    images = tiny_model.dataset.images_dir
    cfg = LoopConfig(images=str(images), classes=list(tiny_model.class_names))
    ws = Workspace.create(tmp_path / "ws", cfg)
    _promote(ws, "v0001", tiny_model.onnx)
    first = sorted(images.glob("*.jpg"))[0]
    body = {
        "tasks": [{"id": 1, "data": {"image": f"/data/local-files/?d=images/{first.name}"}}],
        "label_config": label_config(list(tiny_model.class_names)),
    }
    settings = AppSettings(
        workspace=ws.root, files_root=images.parent, webhook_secret="s", conf_threshold=0.0
    )
    app = create_app(settings)
    with TestClient(app, headers={SECRET_HEADER: "s"}) as client:
        assert client.get("/health").json()["model_version"] == "v0001"
        one = client.post("/predict", json=body)
        assert one.status_code == 200, one.text
        assert one.json()["results"][0]["model_version"] == "v0001"
        _promote(ws, "v0002", tiny_model.onnx)  # a new promotion, seen without a restart
        two = client.post("/predict", json=body)
        assert two.json()["results"][0]["model_version"] == "v0002"
        assert client.get("/health").json()["model_version"] == "v0002"
        assert app.state.hitl.sink is app.state.hitl.workspace.store
    ws.close()


def test_serve_shows_pre_labels_at_the_workspace_threshold_unless_told_otherwise(
    tiny_model, tmp_path
):
    images = tiny_model.dataset.images_dir
    first = sorted(images.glob("*.jpg"))[0]
    body = {
        "tasks": [{"id": 1, "data": {"image": f"/data/local-files/?d=images/{first.name}"}}],
        "label_config": label_config(list(tiny_model.class_names)),
    }

    def boxes(workspace_conf: float, server_conf: float | None) -> int:
        root = tmp_path / f"ws{len(list(tmp_path.iterdir()))}"
        cfg = LoopConfig(
            images=str(images), classes=list(tiny_model.class_names), conf_threshold=workspace_conf
        )
        with Workspace.create(root, cfg) as ws:
            _promote(ws, "v0001", tiny_model.onnx)
        settings = AppSettings(
            workspace=root, files_root=images.parent, webhook_secret="s",
            conf_threshold=server_conf,
        )  # fmt: skip
        with TestClient(create_app(settings), headers={SECRET_HEADER: "s"}) as client:
            r = client.post("/predict", json=body)
        assert r.status_code == 200, r.text
        return len(r.json()["results"][0]["result"])

    assert boxes(0.0, None) > 0  # the workspace's threshold: everything the model found
    assert boxes(1.0, None) == 0  # the workspace's threshold: nothing is that sure
    assert boxes(1.0, 0.0) == boxes(0.0, None)  # --conf wins over the workspace
