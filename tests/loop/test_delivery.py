"""Dataset delivery: every box keeps its provenance, in every format, with a dataset card."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from hitl_active.delivery import export_dataset
from hitl_active.detections import Detections
from hitl_active.formats.coco import read_coco
from hitl_active.loop.registry import ModelRegistry
from hitl_active.workspace.workspace import LoopConfig, Workspace


@pytest.fixture
def ws(tmp_path):
    d = tmp_path / "images"
    d.mkdir()
    for i in range(4):
        Image.new("RGB", (64, 48)).save(d / f"img{i}.jpg")
    ws = Workspace.create(tmp_path / "ws", LoopConfig(images=str(d), classes=["a", "b"]))
    ids = [r.id for r in ws.store.images()]
    # image 0: annotated by a person (one drawn box, one corrected pre-label)
    ws.store.add_annotation(
        ids[0],
        "ann-1",
        "1",
        [
            {"xyxy": [1, 1, 10, 10], "class_id": 0, "source": "human"},
            {
                "xyxy": [20, 5, 40, 30],
                "class_id": 1,
                "source": "human_corrected",
                "model_version": "v0001",
            },
        ],
        annotator="ann@example.com",
        lead_time=3600.0,
    )
    # image 1: gold set (imported labels)
    ws.store.set_gold_labels(ids[1], [{"xyxy": [2, 2, 12, 12], "class_id": 1}], "import")
    # images 2, 3: model-only pre-labels of the promoted version (one box under threshold)
    reg = ModelRegistry(ws.store, ws.models_dir)
    v = reg.begin_version(None)
    (tmp_path / "w.pt").write_bytes(b"w")
    reg.finish_version(v, tmp_path / "w.pt", None, {}, {"gold": {"map50_95": 0.4, "map50": 0.7}})
    reg.promote(v)
    dets = Detections.from_class_probs(
        np.array([[5, 5, 30, 30], [0, 0, 4, 4]], np.float32),
        np.array([[0.1, 0.8], [0.05, 0.1]], np.float32),
        image_size=(64, 48),
    )
    ws.store.put_predictions(v, [(ids[2], dets.to_dict(), None, 0.5), (ids[3], None, "bad", None)])
    yield ws
    ws.close()


def test_yolo_export_has_labels_provenance_and_card(ws, tmp_path):
    res = export_dataset(ws, tmp_path / "out", "yolo")
    out = res.out_dir
    assert res.n_images == 3 and res.n_boxes == 4
    assert sorted(p.name for p in (out / "labels").iterdir()) == [
        "img0.txt",
        "img1.txt",
        "img2.txt",
    ]
    assert len(list((out / "images").glob("*.jpg"))) == 3
    prov = json.loads((out / "provenance.json").read_text())
    assert [b["source"] for b in prov["img0.jpg"]] == ["human", "human_corrected"]
    assert prov["img0.jpg"][0]["annotator"] == "ann@example.com"
    assert prov["img1.jpg"][0]["source"] == "human"
    model_box = prov["img2.jpg"][0]
    assert model_box["source"] == "model" and model_box["model_version"] == "v0001"
    assert model_box["score"] == pytest.approx(0.8) and model_box["class"] == "b"
    card = json.loads((out / "dataset_card.json").read_text())
    assert card["boxes_per_class"] == {"a": 1, "b": 3}
    assert card["human_verified_share"] == pytest.approx(0.75)
    assert card["annotator_hours"] == pytest.approx(1.0)
    assert (card["images"], card["human_verified_images"]) == (3, 2)
    assert card["model_metrics"]["map50_95"] == 0.4
    assert "human-verified share: 75.0%" in (out / "DATASET_CARD.md").read_text()


def test_coco_and_voc_keep_provenance_per_box(ws, tmp_path):
    export_dataset(ws, tmp_path / "coco", "coco")
    items, names = read_coco(tmp_path / "coco" / "annotations.json")
    assert names == ["a", "b"] and sum(len(x) for x in items) == 4
    sources = sorted(m["source"] for x in items for m in x.box_meta)
    assert sources == ["human", "human", "human_corrected", "model"]
    assert (tmp_path / "coco" / "images" / "img0.jpg").is_file()
    export_dataset(ws, tmp_path / "voc", "voc")
    root = ET.parse(tmp_path / "voc" / "Annotations" / "img2.xml").getroot()
    assert root.find("object/provenance/source").text == "model"


def test_human_only_export_and_refusal_to_overwrite(ws, tmp_path):
    res = export_dataset(ws, tmp_path / "h", "yolo", include_model_only=False)
    assert res.n_images == 2 and res.card["human_verified_share"] == 1.0
    with pytest.raises(FileExistsError, match="not empty"):
        export_dataset(ws, tmp_path / "h", "yolo")
    with pytest.raises(ValueError, match="choose one of: yolo, coco, voc"):
        export_dataset(ws, tmp_path / "x", "csv")
