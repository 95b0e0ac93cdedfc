"""What an exported detector says about itself: class names, input size, stride, our extras.

The engine reads this before it creates an ONNX Runtime session; the exporter
(:mod:`hitl_active.models.export`) writes the same keys. Only the ``onnx`` protobuf reader is
used (imported when a model is read), never a training library.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hitl_active.serving.session import ModelLoadError

__all__ = [
    "EMBEDDING_OUTPUT",
    "META_EMBEDDING_LAYER",
    "META_MODEL_VERSION",
    "ModelLoadError",
    "ModelMetadata",
    "check_class_names",
    "check_head_shape",
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


# Metadata values longer than this are not parsed (a literal nested deep enough crashes the parser).
_MAX_META_CHARS = 1 << 20


def _parse_literal(text: str) -> object:
    """Metadata values are JSON or Python literals (Ultralytics writes ``{0: 'a'}``), parsed
    safely (``json`` / ``ast.literal_eval``, never ``eval``).

    Raises:
        ValueError: the text is neither.
    """
    if len(text) > _MAX_META_CHARS:
        raise ValueError(f"{len(text)} characters, more than {_MAX_META_CHARS}")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(f"not JSON or a Python literal ({type(exc).__name__})") from exc


def _class_names(path: Path, text: str) -> list[str]:
    """``names`` metadata as a list: a list of names or an ``{index: name}`` mapping 0..n-1."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    try:
        names = _parse_literal(text)
    except ValueError as exc:
        raise ModelLoadError(path, f"its 'names' metadata {shown!r} cannot be read: {exc}") from exc
    if isinstance(names, dict):
        try:
            keys = sorted(int(k) for k in names)
        except (TypeError, ValueError):
            keys = []
        if keys != list(range(len(names))):
            raise ModelLoadError(
                path,
                f"its 'names' metadata {shown!r} is not a mapping of class ids 0..n-1 to names",
            )
        names = [names[k] if k in names else names[str(k)] for k in keys]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ModelLoadError(
            path, f"its 'names' metadata {shown!r} is not a non-empty list of class names"
        )
    return names


def check_head_shape(path: str | Path, shape: Sequence[int | str], num_names: int) -> None:
    """Refuse a first output that is not the YOLO head ``(batch, 4 + classes, anchors)`` for
    ``num_names`` classes; a symbolic dimension (a string) is not checked.

    Raises:
        ModelLoadError: naming the file, the shape, and the class counts when they differ.
    """
    dims = list(shape)
    if len(dims) != 3:
        raise ModelLoadError(
            path, f"not a YOLO detection model: its first output has shape {dims}, expected "
            "[batch, 4 + classes, anchors]; export a YOLO detector with `hitl-active export`"
        )  # fmt: skip
    channels = dims[1]
    if isinstance(channels, int) and channels != 4 + num_names:
        raise ModelLoadError(
            path, f"its 'names' metadata lists {num_names} classes but the detection head "
            f"outputs {channels} channels, i.e. {channels - 4} classes; re-export the model "
            "with the names it was trained on"
        )  # fmt: skip


def check_class_names(
    path: str | Path, model_names: Sequence[str], expected: Sequence[str], owner: str
) -> None:
    """Refuse a model whose classes (names and order) differ from ``owner``'s.

    Raises:
        ModelLoadError: showing both lists.
    """
    if list(model_names) != list(expected):
        raise ModelLoadError(
            path, f"its classes {list(model_names)} differ from {owner}'s {list(expected)}; "
            "use a model trained on these classes, in this order"
        )  # fmt: skip


def _check_graph(path: Path, model: object, names: list[str]) -> None:
    if not model.graph.output or not model.graph.input:
        raise ModelLoadError(path, "the ONNX graph has no inputs or outputs")
    dims = [
        d.dim_value or d.dim_param or "?" for d in model.graph.output[0].type.tensor_type.shape.dim
    ]
    check_head_shape(path, dims, len(names))


def read_model_metadata(onnx_path: str | Path) -> ModelMetadata:
    """Read class names, input size, stride and our extras from an ONNX model's metadata.

    Raises:
        FileNotFoundError: no file at ``onnx_path``.
        ModelLoadError: the file is not ONNX, is not a YOLO detector, or its ``names``
            metadata is missing, unreadable or does not match the head's class count.
    """
    import onnx
    from google.protobuf.message import DecodeError

    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX model {onnx_path} not found; see `hitl-active export`")
    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as exc:
        raise ModelLoadError(
            onnx_path, f"not an ONNX model ({exc}); pass the .onnx file `hitl-active export` wrote"
        ) from exc
    if not model.graph.node:
        raise ModelLoadError(
            onnx_path, "not an ONNX model (no graph in it); pass the .onnx file "
            "`hitl-active export` wrote"
        )  # fmt: skip
    meta = {p.key: p.value for p in model.metadata_props}
    if "names" not in meta:
        raise ModelLoadError(
            onnx_path, "it has no 'names' metadata; export it with `hitl-active export` or "
            "Ultralytics' exporter so class names travel with the model"
        )  # fmt: skip
    class_names = _class_names(onnx_path, meta["names"])
    _check_graph(onnx_path, model, class_names)
    try:
        imgsz_raw = _parse_literal(meta.get("imgsz", "[640, 640]"))
        imgsz_list = [
            int(v) for v in (imgsz_raw if isinstance(imgsz_raw, list) else [imgsz_raw] * 2)
        ]
        stride = int(meta.get("stride", 32))
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(
            onnx_path, f"its 'imgsz' or 'stride' metadata is not a size ({exc})"
        ) from exc
    input_shape = model.graph.input[0].type.tensor_type.shape.dim
    dynamic = any(d.dim_param or not d.dim_value for d in list(input_shape)[2:])
    outputs = {o.name for o in model.graph.output}
    return ModelMetadata(
        class_names=class_names,
        imgsz=(imgsz_list[0], imgsz_list[-1]),
        stride=stride,
        has_embedding=EMBEDDING_OUTPUT in outputs,
        version=meta.get(META_MODEL_VERSION),
        dynamic=dynamic,
        embedding_layer=meta.get(META_EMBEDDING_LAYER),
    )
