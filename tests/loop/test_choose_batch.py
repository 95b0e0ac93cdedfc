"""The loop's one selection function: the config decides strategy, budget and random stream."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hitl_active.detections import Detections
from hitl_active.loop.selection import PoolState, choose_batch
from hitl_active.sampling import CostModel, PackedDetections
from hitl_active.workspace.config import LoopConfig


def _state(tmp_path, n: int = 12) -> PoolState:
    rng = np.random.default_rng(0)
    dets, paths = [], []
    for i in range(n):
        k = i % 4  # 0..3 boxes
        probs = rng.uniform(0.05, 0.9, size=(k, 2)).astype(np.float32)
        boxes = np.array([[10 * j, 10 * j, 10 * j + 8, 10 * j + 8] for j in range(k)], np.float32)
        dets.append(Detections.from_class_probs(boxes.reshape(-1, 4), probs, image_size=(64, 64)))
        path = tmp_path / f"{i}.png"  # distinct images: no duplicates
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return PoolState(PackedDetections.from_detections(dets, 2), paths, np.array([5.0, 1.0]))


def _cfg(**kw) -> LoopConfig:
    return LoopConfig(images="-", classes=["a", "b"], **kw)


def test_the_batch_size_and_the_seeded_stream_come_from_the_config(tmp_path):
    state = _state(tmp_path)
    a = choose_batch(_cfg(strategy="random", round_size=4, seed=1), 3, state)
    b = choose_batch(_cfg(strategy="random", round_size=4, seed=1), 3, state)
    c = choose_batch(_cfg(strategy="random", round_size=4, seed=1), 4, state)
    assert len(a) == 4 and a.indices.tolist() == b.indices.tolist()
    assert a.indices.tolist() != c.indices.tolist()  # another round, another draw


def test_a_seconds_budget_and_the_cost_model_bound_the_batch(tmp_path):
    state = _state(tmp_path)
    cost = CostModel(draw_s=10.0)
    sel = choose_batch(_cfg(strategy="time-aware", budget_seconds=30.0), 1, state, cost)
    assert len(sel) > 0 and sel.total_estimated_seconds <= 30.0
    np.testing.assert_allclose(
        sel.estimated_seconds, cost.estimate_costs(state.pool, 0.25)[sel.indices]
    )


def test_a_cold_start_is_random_whatever_the_strategy(tmp_path):
    state = _state(tmp_path)
    cold = choose_batch(_cfg(strategy="entropy-sum", round_size=5), 1, state, cold_start=True)
    rand = choose_batch(_cfg(strategy="random", round_size=5), 1, state)
    assert cold.strategy == "random" and cold.indices.tolist() == rand.indices.tolist()


def test_paths_must_match_the_pool(tmp_path):
    state = _state(tmp_path)
    with pytest.raises(ValueError, match="one path per candidate"):
        PoolState(state.pool, state.paths[:-1], state.labelled_class_counts)
