"""The likely-error queue finds planted label errors of each kind at its top, scored by a
model that never trained on those labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hitl_active.cli import main
from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
from hitl_active.delivery.likely_errors import _out_of_sample, likely_errors, score_boxes
from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.yolo import read_yolo_labels
from hitl_active.loop.registry import ModelRegistry
from hitl_active.workspace.workspace import LoopConfig, Workspace


def _sure(truth: ImageLabels, n_classes: int) -> Detections:
    probs = np.zeros((len(truth), n_classes), np.float32)
    probs[np.arange(len(truth)), truth.class_id] = 0.97
    return Detections.from_class_probs(truth.xyxy, probs, image_size=(truth.width, truth.height))


def test_scores_point_at_each_kind_of_error():
    truth = ImageLabels("a", 100, 100, np.array([[0, 0, 20, 20], [50, 50, 80, 80]]), [0, 1])
    pred = _sure(truth, 2)
    right = truth
    moved = ImageLabels("a", 100, 100, np.array([[0, 0, 20, 20], [62, 62, 95, 95]]), [0, 1])
    swapped = ImageLabels("a", 100, 100, truth.xyxy, [0, 0])
    missing = ImageLabels("a", 100, 100, truth.xyxy[:1], [0])
    out = score_boxes([right, moved, swapped, missing], [pred] * 4, 2)
    assert min(b["score"] for b in out[0]["boxes"]) > 0.9 and not out[0]["overlooked"]
    assert out[1]["boxes"][1]["issue"] == "badloc" and out[1]["boxes"][1]["score"] < 0.6
    assert out[2]["boxes"][1]["issue"] == "swap" and out[2]["boxes"][1]["score"] < 0.6
    (miss,) = out[3]["overlooked"]
    assert miss["class_id"] == 1 and miss["score"] < 0.5
    assert out[0]["score"] > max(o["score"] for o in out[1:])


@pytest.fixture
def answered(tmp_path):
    data = make_synthetic_dataset(
        tmp_path / "data", SyntheticSpec(n_images=14, min_side=96, max_side=128, seed=4),
        progress=False,
    )  # fmt: skip
    classes = data.class_names
    ws = Workspace.create(
        tmp_path / "ws", LoopConfig(images=str(data.images_dir), classes=classes, gold_size=0)
    )
    reg = ModelRegistry(ws.store, ws.models_dir)
    onnx = tmp_path / "planted.onnx"  # never run: the predictions are planted
    onnx.write_bytes(b"")
    name = reg.begin_version(None)
    reg.finish_version(name, None, onnx, {"images": []}, {})
    planted, rows = {}, []
    for k, img in enumerate(ws.store.images()):
        truth = read_yolo_labels(
            data.root / "labels" / (img.path.rsplit("/", 1)[-1].rsplit(".", 1)[0] + ".txt"),
            img.path, img.width, img.height, len(classes),
        )  # fmt: skip
        rows.append((img.id, _sure(truth, len(classes)), None, None))
        boxes = [{"xyxy": b.tolist(), "class_id": int(c), "source": "human"}
                 for b, c in zip(truth.xyxy, truth.class_id, strict=True)]  # fmt: skip
        if boxes and k in (1, 2, 3):
            kind = {1: "badloc", 2: "swap", 3: "overlooked"}[k]
            first = boxes[0]
            if kind == "badloc":
                x1, y1, x2, y2 = first["xyxy"]
                w, h = x2 - x1, y2 - y1
                first["xyxy"] = [x1 + 0.45 * w, y1 + 0.45 * h, x2 + 0.45 * w, y2 + 0.45 * h]
            elif kind == "swap":
                first["class_id"] = (first["class_id"] + 1) % len(classes)
            else:
                boxes = boxes[1:]
            planted[img.path] = kind
        ws.store.add_annotation(
            img.id, external_id=f"t:{img.id}", revision="1", boxes=boxes, source="test",
            annotator="ana", lead_time=10.0,
        )  # fmt: skip
    ws.store.put_predictions(name, rows)
    yield ws, planted, name
    ws.close()


def test_the_queue_puts_planted_errors_first(answered):
    ws, planted, version = answered
    assert len(planted) == 3
    assert set(_out_of_sample(ws).values()) == {version}
    queue = likely_errors(ws)
    top = queue["entries"][:3]
    assert {e["image"]: e["issue"] for e in top} == planted
    assert all(e["scored_by"] == version for e in top)
    assert queue["images"] == len(ws.store.images()) and queue["unscored"] == 0


def test_a_version_trained_on_an_image_does_not_score_it(answered):
    ws, _, version = answered
    reg = ModelRegistry(ws.store, ws.models_dir)
    first = ws.store.images()[0]
    name = reg.begin_version(version)
    onnx = ws.root / "later.onnx"
    onnx.write_bytes(b"")
    reg.finish_version(name, None, onnx, {"images": [{"id": first.id}]}, {})
    scorer = _out_of_sample(ws)
    assert scorer[first.id] == version  # the newer version trained on it
    assert scorer[ws.store.images()[1].id] == name


def test_the_command_writes_the_queue(answered, capsys):
    ws, planted, _ = answered
    assert main(["audit", "-w", str(ws.root), "--likely-errors", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert all(kind in out for kind in planted.values())
    saved = json.loads((ws.root / "reports" / "likely_errors.json").read_text())
    assert len(saved["entries"]) == saved["boxes"] > 3
