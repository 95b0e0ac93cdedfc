"""What an exported detector says about itself: class names, input size, stride, our extras.

The engine reads this before it creates an ONNX Runtime session; the exporter
(:mod:`hitl_active.models.export`) writes the same keys. Only the ``onnx`` protobuf reader is
used (imported when a model is read), never a training library.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EMBEDDING_OUTPUT",
    "META_EMBEDDING_LAYER",
    "META_MODEL_VERSION",
    "ModelMetadata",
    "read_model_metadata",
]

EMBEDDING_OUTPUT = "embedding"
META_EMBEDDING_LAYER = "hitl_embedding_layer"
META_MODEL_VERSION = "hitl_model_version"


@dataclass(frozen=True)
class ModelMetadata:
    """What the engine needs to know about an exported model."""

    class_names: list[str]
    imgsz: tuple[int, int]  # (height, width) the model was exported at
    stride: int
    has_embedding: bool
    version: str | None  # our model version, when one was stamped at export
    dynamic: bool = True
    embedding_layer: str | None = None


def _parse_literal(text: str) -> object:
    """Metadata values are JSON or Python literals (Ultralytics writes ``{0: 'a'}``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return ast.literal_eval(text)


def read_model_metadata(onnx_path: str | Path) -> ModelMetadata:
    """Read class names, input size, stride and our extras from an ONNX model's metadata.

    Raises:
        FileNotFoundError: no file at ``onnx_path``.
        ValueError: the model carries no class names (not exported by Ultralytics or us).
    """
    import onnx

    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX model {onnx_path} not found; see `hitl-active export`")
    model = onnx.load(str(onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    if "names" not in meta:
        raise ValueError(
            f"{onnx_path} has no 'names' metadata; export it with `hitl-active export` or "
            "Ultralytics' exporter so class names travel with the model"
        )
    names = _parse_literal(meta["names"])
    if isinstance(names, dict):
        class_names = [str(names[k]) for k in sorted(names, key=int)]
    else:
        class_names = [str(n) for n in names]
    imgsz_raw = _parse_literal(meta.get("imgsz", "[640, 640]"))
    imgsz_list = [int(v) for v in (imgsz_raw if isinstance(imgsz_raw, list) else [imgsz_raw] * 2)]
    input_shape = model.graph.input[0].type.tensor_type.shape.dim
    dynamic = any(d.dim_param or not d.dim_value for d in list(input_shape)[2:])
    outputs = {o.name for o in model.graph.output}
    return ModelMetadata(
        class_names=class_names,
        imgsz=(imgsz_list[0], imgsz_list[-1]),
        stride=int(meta.get("stride", 32)),
        has_embedding=EMBEDDING_OUTPUT in outputs,
        version=meta.get(META_MODEL_VERSION),
        dynamic=dynamic,
        embedding_layer=meta.get(META_EMBEDDING_LAYER),
    )
