"""Detector training (Ultralytics), dataset preparation and ONNX export.

Heavy libraries (torch, ultralytics, onnx) are imported inside the functions that need them.
"""

from hitl_active.models.dataset import prepare_yolo_dataset
from hitl_active.models.export import export_onnx
from hitl_active.models.train import TrainConfig, TrainResult, train_detector
from hitl_active.serving.metadata import ModelMetadata, read_model_metadata

__all__ = [
    "ModelMetadata",
    "TrainConfig",
    "TrainResult",
    "export_onnx",
    "prepare_yolo_dataset",
    "read_model_metadata",
    "train_detector",
]
