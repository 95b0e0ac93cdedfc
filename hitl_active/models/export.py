"""Export a trained detector to ONNX with class names, input size and an embedding output.

The embedding is the global average pool of the last backbone layer's feature map (for
YOLO11 that is layer 10, the C2PSA block after SPPF; for YOLOv8 layer 9, SPPF). It is
added to the exported graph as a second output named ``embedding`` with shape
``(batch, channels)`` (256 for YOLO11n), so one ``session.run`` yields boxes and embeddings.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from pathlib import Path

from hitl_active.models.ultra import quiet_ultralytics, ultralytics_yolo
from hitl_active.serving.metadata import EMBEDDING_OUTPUT, META_EMBEDDING_LAYER, META_MODEL_VERSION

__all__ = ["add_embedding_output", "export_onnx"]

logger = logging.getLogger(__name__)


def _module_output(graph: object, layer: int) -> str:
    """The tensor leaving Ultralytics module ``model.<layer>`` (consumed outside it)."""
    prefix = f"/model.{layer}/"
    inside = [n for n in graph.node if n.name.startswith(prefix)]
    produced = {t for n in inside for t in n.output}
    leaving = []
    for node in graph.node:
        if node.name.startswith(prefix):
            continue
        leaving += [t for t in node.input if t in produced and t not in leaving]
    if len(leaving) != 1:
        raise ValueError(
            f"cannot find the output of layer {layer} in the ONNX graph (found {leaving}); "
            "export with embedding=False or from an Ultralytics detection model"
        )
    return leaving[0]


def add_embedding_output(onnx_path: Path, layer: int) -> str:
    """Add ``embedding = Flatten(GlobalAveragePool(<layer output>))`` as a graph output."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(onnx_path))
    graph = model.graph
    if any(o.name == EMBEDDING_OUTPUT for o in graph.output):
        return next((p.value for p in model.metadata_props if p.key == META_EMBEDDING_LAYER), "")
    source = _module_output(graph, layer)
    pooled = f"{EMBEDDING_OUTPUT}_pooled"
    graph.node.extend(
        [
            helper.make_node("GlobalAveragePool", [source], [pooled], name="/embedding/Pool"),
            helper.make_node(
                "Flatten", [pooled], [EMBEDDING_OUTPUT], name="/embedding/Flatten", axis=1
            ),
        ]
    )
    graph.output.append(
        helper.make_tensor_value_info(EMBEDDING_OUTPUT, TensorProto.FLOAT, ["batch", "channels"])
    )
    described = f"model.{layer} ({source})"
    model.metadata_props.append(
        onnx.StringStringEntryProto(key=META_EMBEDDING_LAYER, value=described)
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(onnx_path))
    return described


def _trained_imgsz(net: object) -> int:
    """The image size the weights were trained at (640 when unrecorded)."""
    args = getattr(net, "args", None) or {}
    if not isinstance(args, dict):
        args = vars(args)
    size = args.get("imgsz", 640)
    return int(max(size) if isinstance(size, (list, tuple)) else size)


def export_onnx(
    weights: Path,
    out_path: Path,
    imgsz: int | None = None,
    dynamic: bool = True,
    embedding: bool = True,
    model_version: str | None = None,
) -> Path:
    """Export Ultralytics ``weights`` (.pt) to ONNX at ``out_path``.

    Args:
        imgsz: export (and default inference) size; the training size when ``None``.
        dynamic: dynamic batch, height and width (needed for rectangular batches).
        embedding: add the ``embedding`` output (pooled last backbone layer).
        model_version: stamped into the metadata (``hitl_model_version``) for provenance.

    Raises:
        FileNotFoundError: ``weights`` does not exist.
    """
    weights, out_path = Path(weights), Path(out_path)
    if not weights.is_file():
        raise FileNotFoundError(
            f"weights file {weights} not found; train one with `hitl-active train` first"
        )
    import onnx
    import torch

    YOLO = ultralytics_yolo()

    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Ultralytics writes next to the weights: export from a private copy so files beside the
    # weights (an earlier export, say) are never overwritten.
    with tempfile.TemporaryDirectory(prefix="hitl_export_") as tmp:
        local = Path(tmp) / weights.name
        shutil.copy2(weights, local)
        with quiet_ultralytics(), warnings.catch_warnings():
            # tracing the Detect head warns about shape checks that are fine for export
            warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
            model = YOLO(str(local))
            size = imgsz or _trained_imgsz(model.model)
            exported = model.export(
                format="onnx", dynamic=dynamic, simplify=False, imgsz=size, verbose=False
            )
        shutil.move(str(exported), out_path)
    described = None
    if embedding:
        layer = len(model.model.yaml.get("backbone", [])) - 1
        described = add_embedding_output(out_path, layer)
    if model_version is not None:
        proto = onnx.load(str(out_path))
        proto.metadata_props.append(
            onnx.StringStringEntryProto(key=META_MODEL_VERSION, value=model_version)
        )
        onnx.save(proto, str(out_path))
    logger.info(
        "exported %s -> %s (imgsz %d, dynamic %s, embedding %s)",
        weights,
        out_path,
        size,
        dynamic,
        described,
    )
    return out_path
