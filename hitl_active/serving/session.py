"""ONNX Runtime sessions: explicit execution providers and tuned session options."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CPU",
    "CUDA",
    "ModelLoadError",
    "available_providers",
    "create_session",
    "default_threads",
    "ort_errors",
    "select_providers",
]

logger = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class ModelLoadError(ValueError):
    """A model file the engine cannot use; the message names the file and what is wrong."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"cannot load model {self.path}: {problem}")


def available_providers() -> list[str]:
    """The execution providers this ONNX Runtime build offers (``onnxruntime-gpu`` adds CUDA)."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def select_providers(
    requested: Sequence[str] | None, available: Sequence[str] | None = None
) -> list[str]:
    """The providers to ask ONNX Runtime for, in priority order.

    ``requested=None`` picks CUDA (then CPU as fallback) when CUDA is available, else CPU.
    Requested providers that are not available are dropped with a warning naming the
    available ones; when none is left, a ``ValueError`` says what to install or request.
    """
    available = list(available_providers() if available is None else available)
    if requested is None:
        return [CUDA, CPU] if CUDA in available else [CPU]
    requested = list(requested)
    if not requested:
        raise ValueError(f"providers is an empty list; choose from the available {available}")
    missing = [p for p in requested if p not in available]
    chosen = [p for p in requested if p in available]
    hint = (
        " (CUDA needs the 'gpu' extra: pip install 'hitl-active[gpu]')" if CUDA in missing else ""
    )
    if not chosen:
        raise ValueError(
            f"none of the requested ONNX Runtime providers {requested} is available; "
            f"available: {available}{hint}"
        )
    if missing:
        logger.warning(
            "ONNX Runtime providers %s are not available and are skipped; available: %s%s",
            missing,
            available,
            hint,
        )
    return chosen


def default_threads() -> int:
    """Physical cores available to this process (at least 1)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or usable
    except ImportError:
        physical = usable
    return max(1, min(usable, physical))


def ort_errors() -> tuple[type[Exception], ...]:
    """ONNX Runtime's own exception types (they derive from ``Exception`` only)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    names = ("Fail", "InvalidArgument", "InvalidGraph", "InvalidProtobuf", "NotImplemented",
             "RuntimeException", "NoSuchFile")  # fmt: skip
    return tuple(getattr(state, n) for n in names if isinstance(getattr(state, n, None), type))


def create_session(
    onnx_path: str | Path,
    providers: Sequence[str] | None = None,
    intra_op_threads: int | None = None,
    spin: bool = False,
) -> Any:
    """An ``onnxruntime.InferenceSession`` with all graph optimisations and sized thread pools.

    ``spin=False`` stops idle intra-op threads from busy-waiting between operators: the
    decode threads need those cycles, and on a shared machine spinning threads slow every
    process down (measured 30-50 % faster inference on a busy 2-core machine).

    Raises:
        FileNotFoundError: no model at ``onnx_path``.
        ModelLoadError: ONNX Runtime cannot load the file.
        ValueError: no requested provider is available.
    """
    import onnxruntime as ort

    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX model {onnx_path} not found; see `hitl-active export`")
    chosen = list(providers) if providers else select_providers(None)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = intra_op_threads or default_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    try:
        session = ort.InferenceSession(str(onnx_path), options, providers=chosen)
    except (RuntimeError, *ort_errors()) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            onnx_path, f"ONNX Runtime cannot load it ({first}); re-export it with "
            "`hitl-active export`"
        ) from exc  # fmt: skip
    logger.info(
        "ONNX Runtime %s session for %s on %s (%d intra-op threads)",
        ort.__version__,
        onnx_path.name,
        session.get_providers(),
        options.intra_op_num_threads,
    )
    return session
