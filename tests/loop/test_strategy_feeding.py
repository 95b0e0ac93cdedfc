"""The loop feeds every strategy what it needs: the labelled set's embeddings (core-set,
hybrids) and the mirrored pass (flip-stability), through the real engine."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import hitl_active.loop.selection
from hitl_active.loop import steps
from hitl_active.loop.backends import LocalBackend
from hitl_active.loop.registry import ModelRegistry
from hitl_active.loop.rounds import Loop
from hitl_active.serving.engine import Engine, EngineConfig
from hitl_active.workspace.workspace import LoopConfig, Workspace


def _workspace(tmp_path, tiny_model, strategy: str, labelled: int = 4) -> tuple[Workspace, str]:
    cfg = LoopConfig(
        images=str(tiny_model.dataset.images_dir), classes=list(tiny_model.class_names),
        strategy=strategy, round_size=3, gold_size=0, conf_threshold=0.05,
    )  # fmt: skip
    ws = Workspace.create(tmp_path / "ws", cfg)
    reg = ModelRegistry(ws.store, ws.models_dir)
    name = reg.begin_version(None)
    reg.finish_version(name, None, tiny_model.onnx, {}, {"gold": {"map50_95": 0.1}})
    reg.promote(name, force=True)
    for img in ws.store.images("pool")[:labelled]:  # already sent for labelling
        ws.store.add_task(img.id, None, None, None, name)
    return ws, name


@pytest.fixture
def contexts(monkeypatch):
    """The SelectionContext each real ``select_batch`` call received."""
    seen = []
    real = hitl_active.loop.selection.select_batch

    def spy(strategy, pool, budget, context, *args, **kwargs):
        seen.append((strategy, pool, context))
        return real(strategy, pool, budget, context, *args, **kwargs)

    monkeypatch.setattr(hitl_active.loop.selection, "select_batch", spy)  # where the loop calls it
    return seen


@pytest.mark.parametrize("strategy", ["coreset", "hybrid", "hybrid-margin-max+class-balance"])
def test_diversity_strategies_get_the_labelled_sets_embeddings(
    tmp_path, tiny_model, contexts, strategy
):
    ws, name = _workspace(tmp_path, tiny_model, strategy)
    with ws:
        sent = sorted(t.image_id for t in ws.store.tasks())
        assert ws.store.predicted_ids(name) == set()  # nothing predicted yet
        row = Loop(ws, LocalBackend()).round_until_pushed()
        assert row.info["selected"] == 3
        ((_, _, context),) = contexts
        stored = ws.store.packed_predictions(name, sent)[1].embeddings
        assert stored is not None and stored.shape[0] == len(sent)
        np.testing.assert_array_equal(context.labelled_embeddings, stored)
        chosen = set(ws.store.selection(row.id))
        assert len(chosen) == 3 and not chosen & set(sent)


def test_flip_stability_gets_the_mirrored_pass(tmp_path, tiny_model, contexts):
    ws, _ = _workspace(tmp_path, tiny_model, "flip-stability")
    with ws:
        row = Loop(ws, LocalBackend()).round_until_pushed()  # raised at selection before
        assert row.info["selected"] == 3
        ((_, pool, context),) = contexts
        assert context.flipped is not None and context.flipped.n_images == pool.n_images


def test_mirrored_pass_equals_predicting_mirrored_files(tmp_path, tiny_model):
    from hitl_active.data.images import read_image

    paths = tiny_model.dataset.image_paths()[:5]
    engine = Engine(tiny_model.onnx, EngineConfig())
    in_memory = steps.predict_flipped(engine, paths)
    files = []
    for p in paths:  # the mirrored copies, written as lossless files
        files.append(tmp_path / f"{p.stem}.png")
        Image.fromarray(read_image(p)[:, ::-1].copy()).save(files[-1])
    from_files = [pred.detections for pred in engine.predict_paths(files, progress=False)]
    assert sum(len(d) for d in from_files) > 0
    for a, b in zip(in_memory, from_files, strict=True):
        assert len(a) == len(b)
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-2)
        np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-4)
