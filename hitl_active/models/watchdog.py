"""Work under a wall-clock limit: a child process that is killed, with its group, when late.

A hung training run (a stuck DDP rendezvous, a data loader that never returns) would stall
the loop for ever. :func:`run_watched` runs a module (for training,
:mod:`hitl_active.models.train_child`, started by
:func:`~hitl_active.models.train.train_watched`) in a child process that leads its own
process group; Ultralytics' DDP workers for a multi-GPU ``device`` are started by that
child and so belong to the group. When the limit passes, the whole group gets SIGTERM, then
SIGKILL, and :class:`TrainingTimeoutError` says what happened. The child reports its result
(or its error) through a JSON file. This module knows nothing of training itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["TrainingTimeoutError", "run_watched"]

logger = logging.getLogger(__name__)

GRACE_S = 10.0


class TrainingTimeoutError(TimeoutError):
    """Training ran past its wall-clock limit and was stopped."""

    def __init__(self, timeout_s: float, pid: int) -> None:
        super().__init__(
            f"training ran past train_timeout_s={timeout_s:g} s and was stopped (process "
            f"group {pid} killed); raise train_timeout_s in the workspace config, train fewer "
            "epochs, or check the training log for a hang"
        )
        self.timeout_s = timeout_s
        self.pid = pid


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the child's whole group, SIGKILL to what is left after a grace period."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=GRACE_S)
        os.killpg(proc.pid, signal.SIGKILL)  # workers of the group outlive their leader
    except ProcessLookupError:
        pass
    proc.wait()


def run_watched(module: str, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """``python -m module SPEC.json`` in a child process leading its own group, stopped with
    the group after ``timeout_s`` seconds; returns the JSON the child wrote to
    ``spec["result"]``. The child (e.g. :mod:`hitl_active.models.train_child`) reads its
    spec, does the work and writes ``{"error": ...}`` when it fails."""
    with tempfile.TemporaryDirectory(prefix="hitl-train-") as tmp:
        spec, result = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec.write_text(json.dumps({**payload, "result": str(result)}))
        cmd = [sys.executable, "-m", module, str(spec)]
        proc = subprocess.Popen(cmd, start_new_session=True)
        logger.info("training in process %d with a %g s limit", proc.pid, timeout_s)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise TrainingTimeoutError(timeout_s, proc.pid) from None
        except BaseException:
            _stop_group(proc)
            raise
        outcome = json.loads(result.read_text()) if result.is_file() else {}
    if "error" in outcome:
        raise RuntimeError(f"training failed: {outcome['error']}")
    if code != 0:
        raise RuntimeError(f"the training process exited with status {code}; see its log above")
    return outcome
