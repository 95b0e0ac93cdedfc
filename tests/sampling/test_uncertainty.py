from __future__ import annotations

import numpy as np
import pytest
from sampling_fakes import det, empty

from hitl_active.sampling import (
    PackedDetections,
    SelectionContext,
    box_uncertainty,
    get_strategy,
    select_batch,
)
from hitl_active.sampling.packed import segment_max, segment_mean, segment_sum

UNCERTAINTY = [
    f"{m}-{a}" for m in ("least-confidence", "margin", "entropy") for a in ("max", "mean", "sum")
]


def ctx(seed: int = 0, **kw) -> SelectionContext:
    return SelectionContext(rng=np.random.default_rng(seed), **kw)


@pytest.mark.parametrize("measure", ["least-confidence", "margin", "entropy"])
def test_split_box_is_more_uncertain_than_confident_box(measure):
    u = box_uncertainty(np.array([[0.5, 0.5], [0.99, 0.01], [0.02, 0.0]]), measure)
    assert u[0] > u[1], "a 50/50 box must outrank a 99/1 box"
    assert u[0] > u[2], "a 50/50 box must outrank a confident-background candidate"
    assert np.all((u >= 0) & (u <= 1 + 1e-6))
    assert u[0] == pytest.approx(1.0, abs=1e-5)  # uniform over classes + background


def test_low_confidence_box_is_uncertain_about_object_vs_background():
    u = box_uncertainty(np.array([[0.5, 0.0], [0.95, 0.0]]), "entropy")
    assert u[0] > u[1]


@pytest.mark.parametrize("name", UNCERTAINTY)
def test_every_uncertainty_strategy_ranks_the_split_image_first(name):
    pool = PackedDetections.from_detections(
        [det([[0.99, 0.01]]), det([[0.5, 0.5]]), det([[0.97, 0.0]])]
    )
    sel = select_batch(get_strategy(name), pool, 1, ctx())
    assert sel.indices.tolist() == [1]


def test_aggregations_differ_as_expected():
    # image 0: one very uncertain box; image 1: three moderately uncertain boxes
    pool = PackedDetections.from_detections(
        [det([[0.5, 0.5]]), det([[0.8, 0.1], [0.8, 0.1], [0.8, 0.1]])]
    )
    assert get_strategy("entropy-max").scores(pool, ctx()).argmax() == 0
    assert get_strategy("entropy-mean").scores(pool, ctx()).argmax() == 0
    assert get_strategy("entropy-sum").scores(pool, ctx()).argmax() == 1


def test_empty_image_is_not_automatically_certain():
    pool = PackedDetections.from_detections(
        [det([[0.99, 0.0]]), empty(), det([[0.5, 0.5]]), det([[0.7, 0.2]])]
    )
    scores = get_strategy("entropy-mean").scores(pool, ctx())
    assert scores[1] > scores[0], "an empty frame must outrank a confidently detected one"
    assert scores[1] < scores[2]
    fixed = get_strategy("entropy-mean", empty_score=2.0).scores(pool, ctx())
    assert fixed[1] == 2.0 and fixed.argmax() == 1


def test_min_confidence_ignores_floor_candidates():
    pool = PackedDetections.from_detections([det([[0.99, 0.0], [0.04, 0.03]]), det([[0.9, 0.05]])])
    all_boxes = get_strategy("entropy-max").scores(pool, ctx())
    shown = get_strategy("entropy-max", min_confidence=0.25).scores(pool, ctx())
    assert all_boxes[0] > shown[0]


def test_segment_reductions_handle_empty_segments():
    v = np.array([1.0, 3.0, 2.0, 5.0])
    off = np.array([0, 2, 2, 4, 4])
    assert segment_sum(v, off).tolist() == [4.0, 0.0, 7.0, 0.0]
    assert segment_max(v, off, empty=-1).tolist() == [3.0, -1.0, 5.0, -1.0]
    assert segment_mean(v, off, empty=0).tolist() == [2.0, 0.0, 3.5, 0.0]


def test_packing_round_trips_and_validates():
    dets = [
        det([[0.9, 0.1]], emb=[1, 0]),
        empty(emb=[0, 1]),
        det([[0.2, 0.6], [0.5, 0.5]], emb=[1, 1]),
    ]
    pool = PackedDetections.from_detections(dets)
    assert pool.n_images == 3 and pool.n_boxes == 3
    assert pool.counts.tolist() == [1, 0, 2]
    assert pool.image_index.tolist() == [0, 2, 2]
    np.testing.assert_allclose(pool.image(2).class_probs, dets[2].class_probs)
    assert pool.embeddings.shape == (3, 2)
    with pytest.raises(ValueError, match="same model"):
        PackedDetections.from_detections([det([[0.9, 0.1]]), empty(3)])
    with pytest.raises(ValueError, match="offsets"):
        PackedDetections(np.zeros((2, 2)), np.zeros(2), np.zeros(2), np.zeros((2, 4)), [0, 1])


def test_flip_stability_prefers_boxes_that_move():
    stable = det([[0.9, 0.0]], boxes=[[10, 10, 40, 40]])
    moving = det([[0.9, 0.0]], boxes=[[10, 10, 40, 40]])
    pool = PackedDetections.from_detections([stable, moving])
    # flipped predictions in mirrored coordinates (width 100): stable box maps back exactly
    flipped = PackedDetections.from_detections(
        [det([[0.9, 0.0]], boxes=[[60, 10, 90, 40]]), det([[0.9, 0.0]], boxes=[[50, 20, 80, 50]])]
    )
    strategy = get_strategy("flip-stability")
    assert strategy.extra_passes == 1
    scores = strategy.scores(pool, ctx(flipped=flipped))
    assert scores[0] == pytest.approx(0.0, abs=1e-6)
    assert scores[1] > 0.3
    with pytest.raises(ValueError, match="flipped"):
        strategy.scores(pool, ctx())
