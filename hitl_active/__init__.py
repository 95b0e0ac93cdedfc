"""hitl-active: active learning for object detection with humans in the loop.

The public API is importable from here. Names load lazily, so ``import hitl_active`` does
not pull in ONNX Runtime, PyTorch or Ultralytics until one of them is actually needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Detections": "hitl_active.detections",
    "ImageLabels": "hitl_active.formats.core",
    "ImageReadError": "hitl_active.data.images",
    "read_image": "hitl_active.data.images",
    "SyntheticSpec": "hitl_active.data.synthetic",
    "make_synthetic_dataset": "hitl_active.data.synthetic",
    "TrainConfig": "hitl_active.models.train",
    "train_detector": "hitl_active.models.train",
    "export_onnx": "hitl_active.models.export",
    "read_model_metadata": "hitl_active.serving.metadata",
    "evaluate": "hitl_active.models.evaluate",
    "ModelRegistry": "hitl_active.loop.registry",
    "Engine": "hitl_active.serving.engine",
    "EngineConfig": "hitl_active.serving.engine",
    "get_strategy": "hitl_active.sampling.registry",
    "available_strategies": "hitl_active.sampling.registry",
    "select_batch": "hitl_active.sampling.select",
    "Budget": "hitl_active.sampling.select",
    "CostModel": "hitl_active.sampling.cost",
    "PackedDetections": "hitl_active.sampling.packed",
    "LabelStudioClient": "hitl_active.labelstudio.client",
    "Workspace": "hitl_active.workspace.workspace",
    "LoopConfig": "hitl_active.workspace.workspace",
    "create_app": "hitl_active.server.app",
    # the workflow: a loop over a workspace, where its tasks go, and the delivery
    "Loop": "hitl_active.loop.rounds",
    "LocalBackend": "hitl_active.loop.backends",
    "LabelStudioBackend": "hitl_active.loop.backends",
    "TeamBackend": "hitl_active.team.team",
    "load_truths": "hitl_active.loop.backends",
    "SimulatedAnnotator": "hitl_active.bench.annotator",
    "import_model": "hitl_active.loop.import_model",
    "export_dataset": "hitl_active.delivery.export",
}

__all__ = [
    "Budget",
    "CostModel",
    "Detections",
    "Engine",
    "EngineConfig",
    "ImageLabels",
    "ImageReadError",
    "LabelStudioBackend",
    "LabelStudioClient",
    "LocalBackend",
    "Loop",
    "LoopConfig",
    "ModelRegistry",
    "PackedDetections",
    "SimulatedAnnotator",
    "SyntheticSpec",
    "TeamBackend",
    "TrainConfig",
    "Workspace",
    "__version__",
    "available_strategies",
    "create_app",
    "evaluate",
    "export_dataset",
    "export_onnx",
    "get_strategy",
    "import_model",
    "load_truths",
    "make_synthetic_dataset",
    "read_image",
    "read_model_metadata",
    "select_batch",
    "train_detector",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hitl_active' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from hitl_active.bench.annotator import SimulatedAnnotator
    from hitl_active.data.images import ImageReadError, read_image
    from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
    from hitl_active.delivery.export import export_dataset
    from hitl_active.detections import Detections
    from hitl_active.formats.core import ImageLabels
    from hitl_active.labelstudio.client import LabelStudioClient
    from hitl_active.loop.backends import LabelStudioBackend, LocalBackend, load_truths
    from hitl_active.loop.import_model import import_model
    from hitl_active.loop.registry import ModelRegistry
    from hitl_active.loop.rounds import Loop
    from hitl_active.models.evaluate import evaluate
    from hitl_active.models.export import export_onnx
    from hitl_active.models.train import TrainConfig, train_detector
    from hitl_active.sampling.cost import CostModel
    from hitl_active.sampling.packed import PackedDetections
    from hitl_active.sampling.registry import available_strategies, get_strategy
    from hitl_active.sampling.select import Budget, select_batch
    from hitl_active.server.app import create_app
    from hitl_active.serving.engine import Engine, EngineConfig
    from hitl_active.serving.metadata import read_model_metadata
    from hitl_active.team.team import TeamBackend
    from hitl_active.workspace.workspace import LoopConfig, Workspace
