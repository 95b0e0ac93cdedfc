from __future__ import annotations

import numpy as np
import pytest
from sampling_fakes import det, empty

from hitl_active.sampling import (
    Budget,
    CostModel,
    PackedDetections,
    SelectionContext,
    available_strategies,
    drop_near_duplicates,
    get_strategy,
    k_center_greedy,
    select_batch,
    top_k,
)
from hitl_active.sampling.dedup import same_boxes


def ctx(seed: int = 0, **kw) -> SelectionContext:
    return SelectionContext(rng=np.random.default_rng(seed), **kw)


def test_registry_knows_every_documented_name_and_lists_them_on_error():
    names = available_strategies()
    for name in (
        "random",
        "least-confidence-max",
        "margin-mean",
        "entropy-mean",
        "entropy-sum",
        "flip-stability",
        "coreset",
        "hybrid",
        "class-balance",
    ):
        assert name in names
        assert get_strategy(name).name == name
    assert get_strategy("hybrid+class-balance").name == "hybrid+class-balance"
    assert get_strategy("entropy-mean+class-balance").name == "entropy-mean+class-balance"
    with pytest.raises(
        ValueError, match=r"unknown sampling strategy 'entropy-median'.*margin-mean"
    ):
        get_strategy("entropy-median")
    with pytest.raises(ValueError, match="no per-image score"):
        get_strategy("coreset+class-balance")


def test_random_is_seeded_and_uniform_over_the_pool():
    pool = PackedDetections.from_detections([det([[0.9, 0.1]]) for _ in range(50)])
    a = select_batch(get_strategy("random"), pool, 10, ctx(1), dedup_threshold=None)
    b = select_batch(get_strategy("random"), pool, 10, ctx(1), dedup_threshold=None)
    c = select_batch(get_strategy("random"), pool, 10, ctx(2), dedup_threshold=None)
    assert a.indices.tolist() == b.indices.tolist() != c.indices.tolist()
    assert len(set(a.indices.tolist())) == 10


def test_top_k_breaks_ties_and_ranks_nan_last():
    scores = np.array([0.1, np.nan, 0.9, 0.5, 0.9])
    assert top_k(scores, 3).tolist() == [2, 4, 3]
    assert top_k(scores, 10)[-1] == 1
    assert set(top_k(scores, 2, np.random.default_rng(0)).tolist()) == {2, 4}


def test_duplicates_are_never_both_picked():
    # images 0 and 1 are the same frame (same embedding, both very uncertain)
    dets = [
        det([[0.5, 0.5]], emb=[1.0, 0.0, 0.0]),
        det([[0.5, 0.5]], emb=[0.999, 0.01, 0.0]),
        det([[0.6, 0.3]], emb=[0.0, 1.0, 0.0]),
        det([[0.99, 0.0]], emb=[0.0, 0.0, 1.0]),
    ]
    pool = PackedDetections.from_detections(dets)
    sel = select_batch(get_strategy("entropy-max"), pool, 2, ctx(), dedup_threshold=0.95)
    assert sel.indices.tolist() == [0, 2]
    assert sel.dropped_duplicates == [1]
    no_dedup = select_batch(get_strategy("entropy-max"), pool, 2, ctx(), dedup_threshold=None)
    assert sorted(no_dedup.indices.tolist()) == [0, 1]


def test_exhausted_seconds_budget_stops_selection():
    cost = CostModel(verify_s=1.0, delete_s=1.0, draw_s=10.0, image_s=2.0)
    pool = PackedDetections.from_detections([det([[0.5, 0.5]]) for _ in range(10)])
    per_image = cost.estimate_costs(pool)[0]
    assert per_image == pytest.approx(3.0)  # 2 s image + one shown box (verify or delete)
    sel = select_batch(get_strategy("entropy-mean"), pool, Budget.seconds(10.0), ctx(), cost)
    assert len(sel) == 3 and sel.total_estimated_seconds <= 10.0
    assert len(select_batch(get_strategy("random"), pool, Budget.seconds(2.9), ctx(), cost)) == 0
    assert len(select_batch(get_strategy("random"), pool, 0, ctx())) == 0
    assert len(select_batch(get_strategy("random"), pool, 99, ctx())) == 10


def test_k_center_greedy_covers_clusters_before_repeating_one():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=np.float32)
    points = np.concatenate([c + rng.normal(0, 0.1, (20, 2)) for c in centres])
    picked = k_center_greedy(points, 4, rng=rng)
    assert sorted(set((picked // 20).tolist())) == [0, 1, 2, 3]
    # with cluster 0 and 1 already labelled, the two picks come from clusters 2 and 3
    picked = k_center_greedy(points, 2, centres=centres[:2])
    assert sorted((picked // 20).tolist()) == [2, 3]


def test_coreset_and_hybrid_need_embeddings():
    pool = PackedDetections.from_detections([det([[0.5, 0.5]]), det([[0.9, 0.0]])])
    for name in ("coreset", "hybrid"):
        with pytest.raises(ValueError, match="embeddings"):
            select_batch(get_strategy(name), pool, 1, ctx())


def test_hybrid_picks_uncertain_images_from_different_clusters():
    # 3 clusters; cluster A holds the 6 most uncertain images, B the next, C is certain
    dets = []
    for i in range(6):
        dets.append(det([[0.5, 0.5]], emb=[1.0, 0.01 * i, 0.0]))  # A
    for i in range(6):
        dets.append(det([[0.7, 0.3]], emb=[0.0, 1.0, 0.01 * i]))  # B
    for i in range(6):
        dets.append(det([[0.99, 0.0]], emb=[0.01 * i, 0.0, 1.0]))  # C
    pool = PackedDetections.from_detections(dets)
    unc = select_batch(get_strategy("entropy-mean"), pool, 2, ctx(), dedup_threshold=None)
    assert all(i < 6 for i in unc.indices), "pure uncertainty takes both from cluster A"
    hyb = select_batch(get_strategy("hybrid", pool_factor=6), pool, 2, ctx(), dedup_threshold=None)
    groups = sorted(int(i) // 6 for i in hyb.indices)
    assert groups == [0, 1], f"hybrid should take one from A and one from B, got {hyb.indices}"
    assert not np.isnan(hyb.scores).any()


def test_class_balance_boosts_images_with_rare_predicted_classes():
    # class 2 is rare in the labelled set; images 0 and 1 are equally uncertain
    dets = [det([[0.6, 0.0, 0.0]]), det([[0.0, 0.0, 0.6]]), det([[0.97, 0.0, 0.0]])]
    pool = PackedDetections.from_detections(dets)
    context = ctx(labelled_class_counts=np.array([100, 50, 1]))
    base = get_strategy("entropy-mean").scores(pool, context)
    assert base[0] == pytest.approx(base[1])
    boosted = select_batch(get_strategy("entropy-mean+class-balance"), pool, 1, context)
    assert boosted.indices.tolist() == [1]
    alone = get_strategy("class-balance").scores(pool, context)
    assert alone[1] > alone[0] and alone[1] > alone[2]
    # nothing labelled yet: no boost, order unchanged
    flat = get_strategy("entropy-mean+class-balance").scores(pool, ctx())
    np.testing.assert_allclose(flat, base)


def test_empty_pool_and_empty_frames_are_selectable():
    pool = PackedDetections.from_detections([empty(), empty()], num_classes=2)
    sel = select_batch(get_strategy("entropy-mean"), pool, 1, ctx())
    assert len(sel) == 1
    none = PackedDetections.from_detections([], num_classes=2)
    assert len(select_batch(get_strategy("random"), none, 5, ctx())) == 0


def test_similar_embeddings_with_different_boxes_are_not_duplicates():
    # same embedding, but the model sees boxes in different places: two different frames
    a = det([[0.9, 0.0]], boxes=[[0, 0, 20, 20]], emb=[1.0, 0.0])
    b = det([[0.9, 0.0]], boxes=[[60, 60, 90, 90]], emb=[1.0, 0.0])
    c = det([[0.9, 0.0]], boxes=[[1, 1, 21, 21]], emb=[1.0, 0.0])  # a shifted by a pixel
    d = det([[0.8, 0.0]], boxes=[[40, 0, 60, 20]], emb=[0.0, 1.0])
    pool = PackedDetections.from_detections([a, b, c, d])
    assert same_boxes(pool, 0, 2) and not same_boxes(pool, 0, 1)
    sel = select_batch(get_strategy("random"), pool, 4, ctx(), dedup_threshold=0.8)
    assert sorted(sel.indices.tolist()) in ([0, 1, 3], [1, 2, 3])
    assert len(sel.dropped_duplicates) == 1


def test_coreset_strategy_picks_what_the_labelled_set_does_not_cover():
    embs = [[1, 0, 0], [0.99, 0.05, 0], [0, 1, 0], [0, 0.98, 0.05], [0, 0, 1]]
    pool = PackedDetections.from_detections([det([[0.9, 0.0]], emb=e) for e in embs])
    labelled = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    sel = select_batch(
        get_strategy("coreset"), pool, 1, ctx(labelled_embeddings=labelled), dedup_threshold=None
    )
    assert sel.indices.tolist() == [4]
    assert np.isnan(sel.scores).all(), "a pure set strategy has no per-image score"


def test_k_center_never_picks_an_image_twice_when_all_embeddings_are_equal():
    from hitl_active.sampling import k_center_greedy

    picked = k_center_greedy(np.zeros((6, 4), np.float32), 6, None, None)
    assert sorted(picked.tolist()) == list(range(6))


def test_a_batch_short_after_dedup_is_filled_from_the_dropped_images_in_rank_order():
    # images 0, 1, 2 are one frame (most uncertain first); 3 and 4 are other frames
    dets = [
        det([[0.5, 0.5]], emb=[1.0, 0.0, 0.0]),
        det([[0.55, 0.45]], emb=[0.999, 0.01, 0.0]),
        det([[0.6, 0.4]], emb=[0.998, 0.0, 0.01]),
        det([[0.99, 0.0]], emb=[0.0, 1.0, 0.0]),
        det([[0.98, 0.01]], emb=[0.0, 0.0, 1.0]),
    ]
    pool = PackedDetections.from_detections(dets)
    strategy = get_strategy("entropy-max")
    short = select_batch(strategy, pool, 4, ctx(), dedup_threshold=0.95)
    assert short.indices.tolist() == [0, 4, 3] and short.dropped_duplicates == [1, 2]
    full = select_batch(strategy, pool, 4, ctx(), dedup_threshold=0.95, fill_from_duplicates=True)
    assert full.indices.tolist() == [0, 4, 3, 1]
    assert full.dropped_duplicates == [2]


def test_drop_near_duplicates_keeps_rank_order_and_the_limit():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 16)).astype(np.float32)
    emb = np.concatenate([base, base[:2] + 0.01 * rng.normal(size=(2, 16)).astype(np.float32)])
    ranked = [4, 0, 1, 5, 2, 3]  # 4 copies 0, 5 copies 1
    assert list(drop_near_duplicates(ranked, emb, threshold=0.95)) == [4, 1, 2, 3]
    assert list(drop_near_duplicates(ranked, emb, threshold=0.95, limit=2)) == [4, 1]
