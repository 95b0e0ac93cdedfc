"""Near-duplicate frames by image fingerprint, on generated bursts (real JPEG files)."""

from __future__ import annotations

import numpy as np
import pytest
from sampling_fakes import det

from hitl_active.data.fingerprint import FINGERPRINT_THRESHOLD, image_fingerprint
from hitl_active.data.splits import scene_groups
from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
from hitl_active.sampling import PackedDetections, SelectionContext, get_strategy, select_batch
from hitl_active.sampling.dedup import DuplicateFilter

MARGIN = 0.01  # both kinds of pair stay this far from the threshold, not at the noise floor


@pytest.fixture(scope="module")
def bursts(tmp_path_factory):
    root = tmp_path_factory.mktemp("bursts")
    spec = SyntheticSpec(n_images=90, min_side=128, max_side=224, seed=11, burst_fraction=0.4)
    data = make_synthetic_dataset(root, spec, progress=False)
    paths = data.image_paths()
    return paths, np.asarray(scene_groups(root, paths))


def test_fingerprint_separates_burst_pairs_from_other_scenes(bursts) -> None:
    paths, scenes = bursts
    prints = np.stack([image_fingerprint(p) for p in paths])
    sim = prints @ prints.T
    iu = np.triu_indices(len(paths), k=1)
    same = scenes[iu[0]] == scenes[iu[1]]
    assert same.sum() >= 50, "the generated set should hold bursts"
    assert sim[iu][same].min() >= FINGERPRINT_THRESHOLD + MARGIN  # every burst pair caught
    assert sim[iu][~same].max() <= FINGERPRINT_THRESHOLD - MARGIN  # no unrelated pair flagged


def test_filter_keeps_one_frame_per_scene(bursts) -> None:
    paths, scenes = bursts
    keep = DuplicateFilter(None, fingerprint=lambda i: image_fingerprint(paths[i]))
    kept = [i for i in range(len(paths)) if keep.accept(i)]
    assert sorted(scenes[kept].tolist()) == sorted(set(scenes.tolist()))
    assert len(kept) + len(keep.dropped) == len(paths)


def test_select_batch_never_picks_two_frames_of_a_burst(bursts) -> None:
    paths, scenes = bursts
    burst = next(s for s in dict.fromkeys(scenes.tolist()) if (scenes == s).sum() >= 3)
    frames = np.flatnonzero(scenes == burst)[:3].tolist()
    others = [i for i in range(len(paths)) if scenes[i] != burst][:3]
    order = frames + others  # the burst's frames are the most uncertain images
    dets = [det([[0.5, 0.5]]) for _ in frames] + [det([[0.9, 0.05]]) for _ in others]
    pool = PackedDetections.from_detections(dets)
    ctx = SelectionContext(rng=np.random.default_rng(0))
    sel = select_batch(
        get_strategy("entropy-max"), pool, 3, ctx,
        fingerprint=lambda i: image_fingerprint(paths[order[i]]),
    )  # fmt: skip
    picked = [order[i] for i in sel.indices.tolist()]
    assert picked[0] in frames  # the burst ranks first ...
    assert sum(scenes[p] == burst for p in picked) == 1  # ... and only one of its frames is taken
    assert sorted(order[i] for i in [*sel.dropped_duplicates, sel.indices[0]]) == sorted(frames)


def test_unreadable_image_is_never_a_duplicate(tmp_path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    assert image_fingerprint(bad) is None
    keep = DuplicateFilter(None, fingerprint=lambda i: image_fingerprint(bad))
    assert keep.accept(0) and keep.accept(1)


def test_filter_needs_embeddings_or_fingerprints() -> None:
    with pytest.raises(ValueError, match="embeddings or a fingerprint"):
        DuplicateFilter(None)


def test_unreadable_image_has_no_fingerprint_after_ultralytics_is_imported(tmp_path) -> None:
    # Ultralytics patches PIL's Image.open at import (an unidentified file makes it reach
    # for pi-heif); the fingerprint must still see a plain unreadable image.
    import ultralytics  # noqa: F401

    from hitl_active.data.fingerprint import image_fingerprint

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    assert image_fingerprint(bad) is None
