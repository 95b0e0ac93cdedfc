"""A promotion made from Python (``ModelRegistry.promote``, ``import_model``) is followed by
the pool's scores and the open tasks' pre-labels at the next round, as a CLI promotion is:
one path, ``Loop.catch_up``, whoever promoted."""

from __future__ import annotations

from hitl_active.bench.annotator import SimulatedAnnotator
from hitl_active.loop.backends import LocalBackend, load_truths
from hitl_active.loop.import_model import import_model
from hitl_active.loop.policy import OnDemand
from hitl_active.loop.registry import RESCORE_KEY, ModelRegistry
from hitl_active.loop.rounds import Loop
from tests.loop.loop_helpers import tiny_dataset, tiny_workspace


def test_a_promotion_from_python_rescores_the_pool_at_the_next_round(tiny_model, tmp_path):
    data = tiny_dataset(tmp_path / "data", n_images=30, seed=5)
    ws = tiny_workspace(tmp_path / "ws", data, round_size=6, gold_size=6)
    truths = load_truths(ws, data / "labels")
    v1, _ = import_model(ws, tiny_model.onnx, force=True)
    loop = Loop(ws, LocalBackend(SimulatedAnnotator(truths)), OnDemand())
    first = loop.round_until_pushed()  # the gold round: v1's pending re-score runs first
    assert ws.store.get(RESCORE_KEY) is None
    pool = [img.id for img in ws.store.images("pool")]
    assert all(ws.store.prediction(v1.name, i) is not None for i in pool)

    # A Python user registers and promotes a second version through the registry alone.
    v2, promoted = import_model(ws, tiny_model.onnx, force=True)
    assert promoted and ModelRegistry(ws.store, ws.models_dir).current().name == v2.name
    assert ws.store.get(RESCORE_KEY) == v2.name
    assert all(ws.store.prediction(v2.name, i) is None for i in pool)  # stale until a loop runs
    open_before = {t.image_id for t in ws.store.tasks(open_only=True)}
    assert open_before and first.id is not None

    assert loop.catch_up() == v2.name  # what every round runs first
    assert ws.store.get(RESCORE_KEY) is None and loop.catch_up() is None  # once
    tasked = {t.image_id for t in ws.store.tasks()}
    assert all(ws.store.prediction(v2.name, i) is not None for i in pool if i not in tasked)
    for task in ws.store.tasks(open_only=True):  # open tasks moved onto v2's pre-labels
        assert task.prediction_model_version == v2.name

    # rollback through the registry: the next round follows v1 again
    assert ModelRegistry(ws.store, ws.models_dir).rollback() == v1.name
    assert ws.store.get(RESCORE_KEY) == v1.name
    loop.round_until_pushed()  # resumes the open round; re-scores first
    assert ws.store.get(RESCORE_KEY) is None
