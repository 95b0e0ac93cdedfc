"""Which device trains: every visible GPU when there is one, else the CPU.

``None`` (the default) asks torch: one CUDA GPU trains on ``"0"``, several on ``"0,1,..."``
(Ultralytics then launches its own DDP run over them), none on ``"cpu"``. An explicit
``"cpu"``, ``"mps"`` or GPU list is checked against what torch sees, so a config that asks
for a GPU the machine lacks fails before training with a line saying so.

On the CPU, training uses every core the process may run on
(:func:`cpu_training_threads`).
"""

from __future__ import annotations

import logging
import os
import re

from hitl_active.models.ultra import user_cpu_threads

__all__ = ["cpu_training_threads", "gpu_ids", "resolve_device", "use_cpu_threads"]

logger = logging.getLogger(__name__)

_GPUS = re.compile(r"^\d+(,\d+)*$")


def gpu_ids(device: str) -> list[int]:
    """The GPU indices in a device string (``"0,1"`` -> ``[0, 1]``; ``"cpu"`` -> ``[]``)."""
    return [int(p) for p in device.split(",")] if _GPUS.match(device) else []


def resolve_device(device: str | None) -> str:
    """The Ultralytics ``device`` argument for ``device`` (``None``: choose automatically).

    Raises:
        ValueError: ``device`` is not ``cpu``, ``mps`` or a GPU list, or names a GPU that
            torch cannot see.
    """
    import torch

    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device is None or device.strip().lower() == "auto":
        chosen = ",".join(str(i) for i in range(visible)) if visible else "cpu"
        logger.info("training device: %s (%d CUDA GPU(s) visible)", chosen, visible)
        return chosen
    device = device.strip().replace(" ", "")
    if device in ("cpu", "mps"):
        return device
    if not _GPUS.match(device):
        raise ValueError(f"device {device!r} is not cpu, mps or a GPU list such as 0 or 0,1")
    missing = [i for i in gpu_ids(device) if i >= visible]
    if missing:
        seen = f"GPUs 0-{visible - 1}" if visible else "no CUDA GPU"
        raise ValueError(
            f"device {device!r} asks for GPU {missing[0]} but torch sees {seen}; "
            "set device to cpu, to visible GPUs, or leave it out to choose automatically"
        )
    return device


def cpu_training_threads() -> int:
    """Threads for training on the CPU: the user's ``OMP_NUM_THREADS``, else every core.

    On the CPU Ultralytics makes its batches in the training process (it sets ``workers=0``)
    yet trains on one core fewer than the machine has, up to 8 (its ``select_device``, when
    the trainer and the final validation start): on 2 cores half the machine (a YOLO11n
    training step at batch 16, imgsz 320: 1.5 s on one thread, 0.85 s on two). So every core
    this process may run on trains, unless the user set ``OMP_NUM_THREADS`` (two trainings
    side by side, say): then that count. Ultralytics' import sets ``OMP_NUM_THREADS=1`` when
    it is unset; that 1 is not the user's (:func:`~hitl_active.models.ultra.user_cpu_threads`).
    """
    threads = user_cpu_threads()
    if threads is not None:
        return threads
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def use_cpu_threads(threads: int) -> None:
    """Run torch's CPU work (training) on ``threads`` threads from now on."""
    import torch

    torch.set_num_threads(threads)
    logger.debug("training on %d CPU threads", threads)
