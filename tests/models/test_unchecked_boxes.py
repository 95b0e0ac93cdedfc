"""Training on the sure boxes nobody checked (box review) does not lower gold mAP.

Box review leaves the model's sure boxes unchecked and trains on them as ``source: model``
boxes (:mod:`hitl_active.sampling.review`). The alternative is to train without them: their
regions masked, as the uncertain regions nobody was asked about are. Both arms fine-tune
the shipped photo base on the same real photos (raccoon-voc), where a person boxed 30% of
the objects and the other 70% carry a sure-line detector's boxes: a little loose, and one
in ten a false box somewhere else (the object itself then unboxed). Gold mAP is measured on
held-out photos through the product's engine and evaluation.
"""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.data.labelled import load_labelled_dataset
from hitl_active.formats.core import ImageLabels
from hitl_active.models.evaluate import evaluate
from hitl_active.models.export import export_onnx
from hitl_active.models.start import shipped_base
from hitl_active.models.train import TrainConfig, train_on_labels
from hitl_active.serving.engine import Engine, EngineConfig

pytestmark = pytest.mark.slow

IMGSZ = 160
UNCHECKED = 0.7  # share of objects that carry the model's box, not a person's
FALSE = 0.1  # share of those boxes that are false


def _review(truth: ImageLabels, rng: np.random.Generator, mask: bool) -> ImageLabels:
    """A person's boxes and the model's unchecked sure boxes (``mask``: ignored instead)."""
    xyxy, cls, meta = [], [], []
    size = np.array([truth.width, truth.height] * 2, np.float64)
    for box, c in zip(truth.xyxy.astype(np.float64), truth.class_id.tolist(), strict=True):
        if rng.random() >= UNCHECKED:
            xyxy.append(box)
            meta.append({"source": "human"})
        else:
            w, h = box[2] - box[0], box[3] - box[1]
            if rng.random() < FALSE:  # a false box of the same size somewhere else
                x, y = rng.uniform(0, truth.width - w), rng.uniform(0, truth.height - h)
                made = np.array([x, y, x + w, y + h])
            else:
                made = box + rng.normal(0, 0.04, 4) * np.array([w, h, w, h])
                made = np.r_[np.minimum(made[:2], made[2:]), np.maximum(made[:2], made[2:])]
            xyxy.append(np.clip(made, 0, size))
            meta.append({"source": "model", **({"ignore": True} if mask else {})})
        cls.append(c)
    return ImageLabels(
        truth.image, truth.width, truth.height,
        np.asarray(xyxy, np.float32).reshape(-1, 4), np.asarray(cls, np.int64), box_meta=meta,
    )  # fmt: skip


def _gold_map(items, names, gold, work) -> float:
    config = TrainConfig(model=str(shipped_base()), epochs=10, imgsz=IMGSZ, batch=8, seed=0,
                         workers=0)  # fmt: skip
    result = train_on_labels(items, names, work, config)
    onnx = export_onnx(result.weights, work / "model.onnx", imgsz=IMGSZ)
    engine = Engine(onnx, EngineConfig(conf_floor=0.01))
    preds = [p.detections for p in engine.predict_paths([str(p) for p, _ in gold])]
    return evaluate(preds, [lab for _, lab in gold], len(names), names).map50_95


def test_unchecked_sure_boxes_do_not_lower_gold_map(tmp_path, raccoon_dir):
    items, names = load_labelled_dataset(raccoon_dir)
    train, gold = items[:60], items[160:200]
    arms = {
        mask: [(p, _review(t, np.random.default_rng(i), mask)) for i, (p, t) in enumerate(train)]
        for mask in (False, True)
    }
    # the same people's boxes in both arms (same draws); only the unchecked ones differ
    for (_, a), (_, b) in zip(arms[False], arms[True], strict=True):
        assert [m["source"] for m in a.box_meta] == [m["source"] for m in b.box_meta]
        people = [m["source"] == "human" for m in a.box_meta]
        np.testing.assert_array_equal(a.xyxy[people], b.xyxy[people])
    kept = _gold_map(arms[False], names, gold, tmp_path / "kept")
    without = _gold_map(arms[True], names, gold, tmp_path / "masked")
    assert kept >= without - 0.01, f"gold mAP50-95 {kept:.3f} with them, {without:.3f} without"
