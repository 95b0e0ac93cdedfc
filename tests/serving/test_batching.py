"""Shape-grouped batching keeps order and bounds what it holds."""

from __future__ import annotations

import numpy as np

from hitl_active.detections import Detections
from hitl_active.serving.batching import Batcher, EngineStats, Pending
from hitl_active.serving.preprocess import letterbox_params


def _item(h: int, w: int) -> Pending:
    return Pending(np.zeros((h, w, 3), np.uint8), letterbox_params(h, w, (h, w)))


def test_groups_by_shape_and_releases_in_order() -> None:
    batches: list[list[tuple[int, int]]] = []

    def run(batch):
        batches.append([p.image.shape[:2] for p in batch])
        assert len({p.image.shape for p in batch}) == 1
        return [Detections.empty(1, p.info.orig_size) for p in batch]

    batcher = Batcher(run, batch_size=2, window=3)
    shapes = [(32, 64), (64, 32), (32, 64), (64, 64), (64, 32), (64, 64), (32, 32)]
    for i, s in enumerate(shapes):
        batcher.add(i, _item(*s))
        assert sum(len(g) for g in batcher._groups.values()) <= 3
    batcher.fail(7, "broken")
    batcher.flush()
    out = [batcher.pop(i) for i in range(8)]
    assert [o.image_size for o in out[:7]] == [(w, h) for h, w in shapes]
    assert out[7] == "broken"
    assert batches[0] == [(32, 64), (32, 64)]  # first full group runs first
    assert sum(len(b) for b in batches) == 7


def test_stats_count_shapes() -> None:
    stats = EngineStats()
    with stats.timing((2, 3, 32, 64)):
        pass
    with stats.timing((2, 3, 32, 64)):
        pass
    assert stats.images == 4 and stats.batches == 2
    assert stats.batch_shapes == {(2, 3, 32, 64): 2}
    stats.reset()
    assert stats.images == 0 and not stats.batch_shapes


def test_concurrent_batches_keep_order_and_bound_running() -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    running, peak, lock = [0], [0], threading.Lock()

    def run(batch):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return [Detections.empty(1, p.info.orig_size) for p in batch]

    with ThreadPoolExecutor(4) as pool:
        batcher = Batcher(run, batch_size=2, window=4, executor=pool, max_running=2)
        shapes = [(32 * (1 + i % 3), 64) for i in range(20)]
        for i, s in enumerate(shapes):
            batcher.add(i, _item(*s))
        batcher.flush()
        out = [batcher.pop(i) for i in range(20)]
    assert [o.image_size for o in out] == [(w, h) for h, w in shapes]
    assert 1 <= peak[0] <= 2
