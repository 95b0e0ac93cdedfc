"""Which device trains: every visible GPU when there is one, else the CPU.

``None`` (the default) asks torch: one CUDA GPU trains on ``"0"``, several on ``"0,1,..."``
(Ultralytics then launches its own DDP run over them), none on ``"cpu"``. An explicit
``"cpu"``, ``"mps"`` or GPU list is checked against what torch sees, so a config that asks
for a GPU the machine lacks fails before training with a line saying so.
"""

from __future__ import annotations

import logging
import re

__all__ = ["gpu_ids", "resolve_device"]

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
