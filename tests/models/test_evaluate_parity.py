"""Parity of :func:`hitl_active.models.evaluate.evaluate` with pycocotools' ``COCOeval``.

Boxes are float32 (as :class:`Detections` and :class:`ImageLabels` store them), so the xywh
boxes handed to ``COCOeval`` (``w = x2 - x1`` in float64, exact) give bit-identical IoUs on
both sides and the same matches; what remains is the order of summation in the means and
``COCOeval``'s ``np.spacing(1)`` in the precision denominator (at most ``2**-52``, see
``evaluate``'s docstring), far inside the 1e-9 tolerance.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hitl_active.detections import Detections
from hitl_active.formats import ImageLabels, read_coco, write_coco
from hitl_active.models.evaluate import IOU_THRESHOLDS, evaluate

COCO = pytest.importorskip("pycocotools.coco").COCO
COCOeval = pytest.importorskip("pycocotools.cocoeval").COCOeval

TOL = 1e-9
SIZE = 640


def _xywh(box: np.ndarray) -> list[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return [x1, y1, x2 - x1, y2 - y1]


def _quiet(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` without pycocotools' progress lines on stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def _reference(
    preds: list[Detections], truths: list[ImageLabels], num_classes: int
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """COCOeval's mAP50-95, mAP50 and per-class AP50-95 / AP50 (NaN for classes without truth)."""
    images, annotations, results = [], [], []
    for image_id, (pred, truth) in enumerate(zip(preds, truths, strict=True), start=1):
        images.append({"id": image_id, "width": SIZE, "height": SIZE, "file_name": truth.image})
        for box, cls in zip(truth.xyxy, truth.class_id, strict=True):
            bbox = _xywh(box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(cls) + 1,
                    "bbox": bbox,
                    "area": bbox[2] * bbox[3],
                    "iscrowd": 0,
                }
            )
        for box, cls, score in zip(pred.xyxy, pred.class_id, pred.confidence, strict=True):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(cls) + 1,
                    "bbox": _xywh(box),
                    "score": float(score),
                }
            )
    gt = COCO()
    gt.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c + 1, "name": str(c)} for c in range(num_classes)],
    }
    _quiet(gt.createIndex)
    ev = COCOeval(gt, _quiet(gt.loadRes, results), "bbox")
    for step in (ev.evaluate, ev.accumulate, ev.summarize):
        _quiet(step)
    precision = ev.eval["precision"][:, :, :, 0, -1]  # (T, R, K), area "all", 100 dets
    ap50_95 = np.array([_mean(precision[:, :, k]) for k in range(num_classes)])
    ap50 = np.array([_mean(precision[0, :, k]) for k in range(num_classes)])
    return float(ev.stats[0]), float(ev.stats[1]), ap50_95, ap50


def _mean(values: np.ndarray) -> float:
    kept = values[values > -1]
    return float(kept.mean()) if kept.size else math.nan


def _assert_parity(preds: list[Detections], truths: list[ImageLabels], num_classes: int) -> None:
    ours = evaluate(preds, truths, num_classes)
    map50_95, map50, ap50_95, ap50 = _reference(preds, truths, num_classes)
    assert ours.map50_95 == pytest.approx(map50_95, abs=TOL)
    assert ours.map50 == pytest.approx(map50, abs=TOL)
    np.testing.assert_allclose(
        list(ours.per_class_ap50_95.values()), ap50_95, atol=TOL, rtol=0, equal_nan=True
    )
    np.testing.assert_allclose(
        list(ours.per_class_ap50.values()), ap50, atol=TOL, rtol=0, equal_nan=True
    )


def _pred(xyxy: np.ndarray, cls: np.ndarray, scores: np.ndarray, num_classes: int) -> Detections:
    n = len(xyxy)
    probs = np.zeros((n, num_classes), np.float32)
    probs[np.arange(n), cls] = scores
    return Detections(np.reshape(xyxy, (-1, 4)), scores, cls, probs, image_size=(SIZE, SIZE))


def _random_boxes(rng: np.random.Generator, n: int, grid: bool) -> np.ndarray:
    if grid:  # crowded on a coarse integer grid: equal IoUs, and IoUs exactly at thresholds
        xy = rng.integers(0, 6, size=(n, 2))
        wh = rng.integers(4, 6, size=(n, 2))
        return np.concatenate([xy, xy + wh], axis=1).astype(np.float32) * 4
    xy = rng.uniform(0, SIZE - 200, size=(n, 2))
    wh = rng.uniform(4, 200, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


def _jitter(rng: np.random.Generator, xyxy: np.ndarray, grid: bool) -> np.ndarray:
    """Moved corners; boxes stay upright (``x2 > x1``), as a detector's are."""
    if grid:  # one grid step (4 px) at most, on boxes of 16 px or more
        return xyxy + rng.choice([-4, 0, 4], size=xyxy.shape).astype(np.float32)
    wh = np.tile(xyxy[:, 2:] - xyxy[:, :2], 2)
    out = xyxy + rng.normal(0, 0.08, size=xyxy.shape) * wh
    out[:, 2:] = np.maximum(out[:, 2:], out[:, :2] + 1)
    return out.astype(np.float32)


def _scores(rng: np.random.Generator, n: int, tied: bool, hit: bool) -> np.ndarray:
    """Confidences, higher for predictions near a truth; quarters only when ``tied``."""
    if tied:
        return (rng.integers(2, 5, size=n) if hit else rng.integers(1, 3, size=n)) / 4
    return rng.uniform(0.3, 1.0, size=n) if hit else rng.uniform(0.05, 0.7, size=n)


def _random_case(
    seed: int, grid: bool, tied_scores: bool, n_images: int = 30, num_classes: int = 4
) -> tuple[list[Detections], list[ImageLabels]]:
    """Images with 0-6 truths of classes 0..C-2 (class C-1 has none), some without predictions;
    predictions are jittered truths (some relabelled, some duplicated) plus background boxes;
    the first image has 120 background predictions of class 0 (over the 100 kept)."""
    rng = np.random.default_rng(seed)
    preds, truths = [], []
    for i in range(n_images):
        n_truth = int(rng.integers(0, 7))
        t_xyxy = _random_boxes(rng, n_truth, grid)
        t_cls = rng.integers(0, num_classes - 1, size=n_truth)
        truths.append(ImageLabels(f"{i}.jpg", SIZE, SIZE, t_xyxy, t_cls))
        if i and rng.random() < 0.15:
            preds.append(_pred(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0), num_classes))
            continue
        found = rng.random(n_truth) < 0.8
        hits = _jitter(rng, np.concatenate([t_xyxy[found], t_xyxy[found][: n_truth // 2]]), grid)
        h_cls = np.concatenate([t_cls[found], t_cls[found][: n_truth // 2]])
        if grid:  # halfway between two truths of a class: equal IoU with both when congruent
            pairs = [(a, b) for a in range(n_truth) for b in range(a) if t_cls[a] == t_cls[b]]
            between = [(t_xyxy[a] + t_xyxy[b]) / 2 for a, b in pairs]
            hits = np.concatenate([hits, np.reshape(between, (-1, 4))])
            h_cls = np.concatenate([h_cls, [t_cls[a] for a, _ in pairs]]).astype(int)
        relabel = rng.random(len(h_cls)) < 0.1
        h_cls[relabel] = rng.integers(0, num_classes, size=int(relabel.sum()))
        n_bg = int(rng.integers(0, 5)) if i else 120
        bg_cls = rng.integers(0, num_classes, size=n_bg) if i else np.zeros(n_bg, int)
        p_xyxy = np.concatenate([hits, _random_boxes(rng, n_bg, grid)]).reshape(-1, 4)
        p_cls = np.concatenate([h_cls, bg_cls]).astype(int)
        scores = np.concatenate(
            [_scores(rng, len(h_cls), tied_scores, True), _scores(rng, n_bg, tied_scores, False)]
        )
        preds.append(_pred(p_xyxy, p_cls, scores.astype(np.float32), num_classes))
    return preds, truths


def test_iou_thresholds_are_cocoevals():
    np.testing.assert_array_equal(IOU_THRESHOLDS, COCOeval(iouType="bbox").params.iouThrs)
    assert IOU_THRESHOLDS[8] == 0.8999999999999999  # np.linspace's 0.9


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    ("grid", "tied_scores"),
    [(False, False), (False, True), (True, False), (True, True)],
    ids=["float", "float-tied-scores", "grid", "grid-tied-scores"],
)
def test_random_cases_match_cocoeval(seed: int, grid: bool, tied_scores: bool):
    preds, truths = _random_case(seed, grid, tied_scores)
    _assert_parity(preds, truths, num_classes=4)


def test_iou_tie_between_truths_goes_to_the_later_truth():
    # the first prediction overlaps both truths with IoU 90/110; COCOeval gives it the later
    # truth (B), so at 0.50..0.80 the copy of A is a true positive and the copy of B a duplicate
    a, b = [0, 0, 10, 10], [2, 0, 12, 10]
    truths = [ImageLabels("x.jpg", SIZE, SIZE, [a, b], [0, 0])]
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    preds = [_pred(np.array([[1, 0, 11, 10], a, b]), np.array([0, 0, 0]), scores, 1)]
    _assert_parity(preds, truths, num_classes=1)
    r = evaluate(preds, truths, 1)
    assert r.map50 == pytest.approx(1.0)  # TP, TP, FP: full recall at precision 1
    # 0.85..0.95: the first prediction misses (FP, TP, TP), precision 2/3 at every recall
    assert r.map50_95 == pytest.approx((7 * 1.0 + 3 * 2 / 3) / 10)


def test_tied_scores_rank_in_image_then_input_order():
    # equal scores: COCOeval ranks by a stable sort, images in id order, boxes in input order
    box, far = [0, 0, 10, 10], [50, 50, 60, 60]
    truths = [ImageLabels(f"{i}.jpg", SIZE, SIZE, [box], [0]) for i in range(2)]
    tie = np.array([0.5, 0.5], np.float32)
    preds = [_pred(np.array([far, box]), np.array([0, 0]), tie, 1), _pred([box], [0], tie[:1], 1)]
    _assert_parity(preds, truths, num_classes=1)
    # ranked: FP, TP, TP -> precision envelope 2/3 everywhere
    assert evaluate(preds, truths, 1).map50 == pytest.approx(2 / 3)


def test_perfect_predictions_score_one_where_cocoeval_gives_one_less_an_ulp():
    box = [0, 0, 10, 10]
    truths = [ImageLabels("x.jpg", SIZE, SIZE, [box], [0])]
    preds = [_pred(np.array([box]), np.array([0]), np.array([0.9], np.float32), 1)]
    ours = evaluate(preds, truths, 1)
    map50_95, map50, _, _ = _reference(preds, truths, 1)
    assert ours.map50_95 == ours.map50 == 1.0
    assert map50_95 == 1 - 2**-52  # precision 1 / (1 + np.spacing(1)) at the first rank
    assert 0 < 1 - map50 <= 2**-52


def test_inverted_prediction_is_a_false_positive_that_cocoeval_ignores():
    box = [0, 0, 10, 10]
    truths = [ImageLabels("x.jpg", SIZE, SIZE, [box], [0])]
    xyxy = np.array([[30, 30, 20, 40], box], np.float32)  # x2 < x1: negative area in COCO
    preds = [_pred(xyxy, np.array([0, 0]), np.array([0.9, 0.8], np.float32), 1)]
    ours = evaluate(preds, truths, 1)
    _, map50, _, _ = _reference(preds, truths, 1)
    assert ours.map50 == pytest.approx(0.5)  # FP then TP: precision 1/2 at recall 1
    assert map50 == pytest.approx(1.0, abs=TOL)  # the inverted box is not counted


def test_coco_export_loads_in_pycocotools(tmp_path: Path):
    _, truths = _random_case(0, grid=False, tied_scores=False, n_images=8)
    truths.append(ImageLabels("empty.jpg", 32, 48))
    path = write_coco(truths, tmp_path / "annotations.json", ["a", "b", "c", "d"])
    coco = _quiet(COCO, str(path))
    n_boxes = sum(len(t) for t in truths)
    assert len(coco.getAnnIds()) == n_boxes > 0
    assert len(coco.getImgIds()) == len(truths) and coco.getCatIds() == [1, 2, 3, 4]
    assert min(coco.getAnnIds()) >= 1  # COCOeval treats a match to annotation id 0 as none
    data = json.loads(path.read_text())
    boxes = np.array([a["bbox"] for a in data["annotations"]], np.float64)
    xyxy = np.concatenate([t.xyxy for t in truths]).astype(np.float64)
    np.testing.assert_allclose(boxes[:, :2] + boxes[:, 2:], xyxy[:, 2:], atol=1e-3)
    # the export evaluated against itself, as a results file, scores 1
    results = [dict(a, score=1.0) for a in data["annotations"]]
    ev = COCOeval(coco, _quiet(coco.loadRes, results), "bbox")
    for step in (ev.evaluate, ev.accumulate, ev.summarize):
        _quiet(step)
    assert ev.stats[0] == pytest.approx(1.0)
    back, names = read_coco(path)
    assert names == ["a", "b", "c", "d"] and [len(x) for x in back] == [len(t) for t in truths]
