"""Pre-labelling on Ray Data (a local ray.init(num_cpus=2)): the local runner's rows, resumable."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from hitl_active.loop import steps
from hitl_active.workspace.workspace import LoopConfig, Workspace

ray = pytest.importorskip("ray", reason="Ray is in the `scale` extra: uv sync --extra scale")

pytestmark = pytest.mark.slow  # trains the tiny model of tests/fixtures/models.py


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _workspace(root, images, tiny_model):
    ws = Workspace.create(root, LoopConfig(images=str(images), classes=tiny_model.class_names))
    ws.store.add_images(
        [(str(images / name), 64, 64, None, "pool") for name in ("broken.jpg", "text.jpg")]
    )
    ws.store.add_model_version("v1", None, status="promoted")
    ws.store.update_model_version("v1", onnx=str(tiny_model.onnx))
    return ws


def test_ray_rows_equal_the_local_runner_and_a_rerun_resumes(tiny_model, tmp_path, local_ray):
    from hitl_active.loop.ray_prelabel import prelabel_on_ray

    images = tmp_path / "images"
    shutil.copytree(tiny_model.dataset.root / "images", images)
    local = _workspace(tmp_path / "local", images, tiny_model)
    (images / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (images / "text.jpg").write_text("hello")
    on_ray = _workspace(tmp_path / "ray", images, tiny_model)
    pool = local.store.images("pool")
    version = local.store.model_version("v1")

    steps.prelabel(local, version, pool)
    first = prelabel_on_ray(on_ray, version, on_ray.store.images("pool")[:20], actors=2)
    rest = prelabel_on_ray(on_ray, version, on_ray.store.images("pool"), actors=2)

    assert (first, rest) == (20, len(pool) - 20)  # the second pass sends only what is missing
    by_path = {img.path: img.id for img in on_ray.store.images("pool")}
    want, got = local.store.predictions("v1"), on_ray.store.predictions("v1")
    assert len(got) == len(want) == len(pool)
    n_boxes = 0
    for img in pool:
        a, b = want[img.id], got[by_path[img.path]]
        if img.path.endswith(("broken.jpg", "text.jpg")):
            assert a is None and b is None
            continue
        assert len(a) == len(b) and np.array_equal(a.class_id, b.class_id), img.path
        np.testing.assert_allclose(b.xyxy, a.xyxy, atol=1e-3)
        np.testing.assert_allclose(b.class_probs, a.class_probs, atol=1e-5)
        np.testing.assert_allclose(b.embedding, a.embedding, atol=1e-5)
        n_boxes += len(a)
    assert n_boxes > 0
    errors = on_ray.store._all("SELECT error FROM predictions WHERE error IS NOT NULL")
    assert len(errors) == 2


def test_the_loop_prelabels_on_ray_when_the_workspace_names_an_address(
    tiny_model, tmp_path, local_ray
):
    images = tmp_path / "images"
    shutil.copytree(tiny_model.dataset.root / "images", images)
    ws = Workspace.create(
        tmp_path / "ws",
        LoopConfig(images=str(images), classes=tiny_model.class_names, ray_address="local"),
    )
    ws.store.add_model_version("v1", None, status="promoted")
    ws.store.update_model_version("v1", onnx=str(tiny_model.onnx))
    pool = ws.store.images("pool")
    n = steps.prelabel(ws, ws.store.model_version("v1"), pool)  # the loop's own step
    assert n == len(pool) == len(ws.store.predicted_ids("v1"))


def test_a_model_of_other_classes_is_refused_before_anything_goes_to_ray(
    tiny_model, tmp_path, local_ray
):
    from hitl_active.loop.ray_prelabel import prelabel_on_ray
    from hitl_active.serving.session import ModelLoadError

    images = tmp_path / "images"
    shutil.copytree(tiny_model.dataset.root / "images", images)
    other = [f"other{i}" for i in range(len(tiny_model.class_names))]
    ws = Workspace.create(tmp_path / "ws", LoopConfig(images=str(images), classes=other))
    ws.store.add_model_version("v1", None, status="promoted")
    ws.store.update_model_version("v1", onnx=str(tiny_model.onnx))
    with pytest.raises(ModelLoadError, match="other0"):
        prelabel_on_ray(ws, ws.store.model_version("v1"), ws.store.images("pool"))
    assert not ws.store.predicted_ids("v1")
