"""Training under a wall-clock limit: a child process that is killed, with its group, when late.

A hung training run (a stuck DDP rendezvous, a data loader that never returns) would stall
the loop for ever. :func:`train_watched` runs :func:`~hitl_active.models.train.train_detector`
in a child process that leads its own process group; Ultralytics' DDP workers for a
multi-GPU ``device`` are started by that child and so belong to the group. When the limit
passes, the whole group gets SIGTERM, then SIGKILL, and :class:`TrainingTimeoutError` says
what happened. The child reports its result (or its error) through a JSON file.

Run as ``python -m hitl_active.models.watchdog SPEC.json`` only by :func:`train_watched`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hitl_active.models.train import TrainConfig, TrainResult

__all__ = ["TrainingTimeoutError", "train_watched"]

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


def train_watched(
    data_yaml: Path, out_dir: Path, config: TrainConfig, timeout_s: float
) -> TrainResult:
    """:func:`train_detector` in a child process, stopped after ``timeout_s`` seconds."""
    from hitl_active.models.train import TrainResult

    with tempfile.TemporaryDirectory(prefix="hitl-train-") as tmp:
        spec, result = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec.write_text(
            json.dumps(
                {
                    "data_yaml": str(data_yaml),
                    "out_dir": str(out_dir),
                    "config": dataclasses.asdict(config) | {"timeout_s": None},
                    "result": str(result),
                    "log_level": logging.getLogger("hitl_active").getEffectiveLevel(),
                }
            )
        )
        cmd = [sys.executable, "-m", "hitl_active.models.watchdog", str(spec)]
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
    if code != 0 or "weights" not in outcome:
        raise RuntimeError(f"the training process exited with status {code}; see its log above")
    return TrainResult(
        weights=Path(outcome["weights"]),
        metrics=outcome["metrics"],
        epochs_run=outcome["epochs_run"],
        seconds=outcome["seconds"],
    )


def main(spec_path: str) -> int:
    from hitl_active.models.train import TrainConfig, train_detector

    spec = json.loads(Path(spec_path).read_text())
    logging.basicConfig(level=spec["log_level"], format="%(levelname)s %(name)s: %(message)s")
    result = Path(spec["result"])
    try:
        res = train_detector(
            Path(spec["data_yaml"]), Path(spec["out_dir"]), TrainConfig(**spec["config"])
        )
    except Exception as exc:  # reported to the parent, which raises it
        result.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    payload = dataclasses.asdict(res) | {"weights": str(res.weights)}
    result.write_text(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
