"""Group letterboxed images of equal input shape into batches, releasing results in order.

Images arrive in input order with different letterboxed shapes. Each shape has its own
open group; a group runs as soon as it holds ``batch_size`` images. When more than
``window`` images wait, the group holding the oldest waiting image runs even if it is not
full, so memory stays bounded and results can be released in input order without stalls.

With an ``executor``, batches run concurrently (several ``session.run`` calls at once, each
on its own core: on CPU this beats one call spread over all cores for small models); at
most ``max_running`` batches are in flight, which keeps memory bounded too.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field

import numpy as np

from hitl_active.detections import Detections
from hitl_active.serving.preprocess import LetterboxInfo

__all__ = ["Batcher", "EngineStats", "Pending"]


@dataclass
class Pending:
    """One letterboxed image waiting for inference (uint8: a quarter of a float tensor)."""

    image: np.ndarray  # (H, W, 3) uint8, letterboxed
    info: LetterboxInfo
    bgr: bool = True  # channel order of ``image``


@dataclass
class EngineStats:
    """Counters of what the engine ran (bounded: one entry per distinct batch shape)."""

    images: int = 0
    batches: int = 0
    infer_seconds: float = 0.0
    batch_shapes: Counter[tuple[int, ...]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @contextlib.contextmanager
    def timing(self, shape: tuple[int, ...]) -> Iterator[None]:
        """Count one ``session.run`` on a batch of ``shape`` (summed over concurrent runs)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.infer_seconds += time.perf_counter() - start
                self.batches += 1
                self.images += int(shape[0])
                self.batch_shapes[tuple(int(v) for v in shape)] += 1

    def reset(self) -> None:
        self.images, self.batches, self.infer_seconds = 0, 0, 0.0
        self.batch_shapes.clear()


class Batcher:
    """Shape-grouped batching with in-order release (see the module docstring)."""

    def __init__(
        self,
        run: Callable[[Sequence[Pending]], list[Detections]],
        batch_size: int,
        window: int,
        executor: Executor | None = None,
        max_running: int = 1,
    ) -> None:
        self._run_fn = run
        self.batch_size = batch_size
        self.window = max(window, batch_size)
        self._executor = executor
        self._max_running = max(1, max_running)
        self._groups: dict[tuple[int, int], list[tuple[int, Pending]]] = {}
        # index -> result, reason string, or (future of its batch, position in the batch)
        self._done: dict[int, Detections | str | tuple[Future[list[Detections]], int]] = {}
        self._running: deque[Future[list[Detections]]] = deque()
        self._waiting = 0

    def add(self, index: int, item: Pending) -> None:
        """Queue image ``index``; runs its group when full, or the oldest when over window."""
        shape = (int(item.image.shape[0]), int(item.image.shape[1]))
        group = self._groups.setdefault(shape, [])
        group.append((index, item))
        self._waiting += 1
        if len(group) >= self.batch_size:
            self._run(shape)
        elif self._waiting > self.window:
            self.flush_oldest()

    def fail(self, index: int, reason: str) -> None:
        """Record that image ``index`` could not be read."""
        self._done[index] = reason

    def _run(self, shape: tuple[int, int]) -> None:
        group = self._groups.pop(shape)
        self._waiting -= len(group)
        items = [item for _, item in group]
        if self._executor is None:
            results = self._run_fn(items)
            for (index, _), result in zip(group, results, strict=True):
                self._done[index] = result
            return
        while len(self._running) >= self._max_running:  # back-pressure
            wait(list(self._running), return_when=FIRST_COMPLETED)
            self._running = deque(f for f in self._running if not f.done())
        future = self._executor.submit(self._run_fn, items)
        self._running.append(future)
        for position, (index, _) in enumerate(group):
            self._done[index] = (future, position)

    def flush_oldest(self) -> bool:
        """Run the group holding the oldest waiting image; ``False`` when nothing waits."""
        if not self._groups:
            return False
        oldest = min(self._groups, key=lambda s: self._groups[s][0][0])
        self._run(oldest)
        return True

    def flush(self) -> None:
        """Run every waiting group."""
        while self.flush_oldest():
            pass

    def ready(self, index: int) -> bool:
        """Whether the result of image ``index`` is available without waiting."""
        entry = self._done.get(index)
        if entry is None:
            return False
        return not isinstance(entry, tuple) or entry[0].done()

    def pop(self, index: int) -> Detections | str:
        """The result of image ``index`` (a reason string when it could not be read).

        Waits for its batch when that is still running; re-raises the batch's error.
        """
        entry = self._done.pop(index)
        if isinstance(entry, tuple):
            future, position = entry
            return future.result()[position]
        return entry
