"""Model serving: the ONNX Runtime pre-labelling engine.

Heavy libraries (onnxruntime) are imported when an engine is created, not at import time.
"""

from hitl_active.serving.engine import Engine, EngineConfig, PathPrediction
from hitl_active.serving.session import available_providers, select_providers

__all__ = ["Engine", "EngineConfig", "PathPrediction", "available_providers", "select_providers"]
