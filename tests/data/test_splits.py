from __future__ import annotations

import json

import pytest

from hitl_active.data.splits import scene_groups, split_by_scene
from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset


def test_copies_of_copies_belong_to_the_first_frame(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"duplicates": {"b": "a", "c": "b"}}))
    assert scene_groups(tmp_path, ["x/a.jpg", "x/b.jpg", "x/c.jpg", "x/d.jpg"]) == list("aaad")
    (tmp_path / "manifest.json").write_text(json.dumps({"duplicates": {"a": "b", "b": "a"}}))
    with pytest.raises(ValueError, match="cycle"):
        scene_groups(tmp_path, ["a.jpg"])
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid manifest"):
        scene_groups(tmp_path, ["a.jpg"])


def test_without_a_manifest_every_image_is_a_scene(tmp_path):
    assert scene_groups(tmp_path, ["a.jpg", "b.png"]) == ["a", "b"]


def test_held_out_scenes_never_leak_into_training():
    groups = ["s0"] * 5 + ["s1"] + ["s2"] * 3 + ["s3", "s4", "s5"]
    test, train = split_by_scene(groups, test_size=3, seed=1)
    assert len(test) == 3 and len({groups[i] for i in test}) == 3, "one frame per test scene"
    assert all(groups.index(groups[i]) == i for i in test), "the scene's first frame is kept"
    assert not {groups[i] for i in test} & {groups[i] for i in train}
    assert len(train) == sum(groups.count(g) for g in {groups[i] for i in train})
    with pytest.raises(ValueError, match="leaves none to train on"):
        split_by_scene(groups, test_size=6)


def test_singleton_scenes_give_a_plain_random_split():
    import numpy as np

    test, train = split_by_scene([str(i) for i in range(10)], test_size=4, seed=3)
    order = np.random.default_rng(3).permutation(10).tolist()
    assert test == order[:4] and train == order[4:]


def test_bursts_put_most_frames_in_few_scenes(tmp_path):
    spec = SyntheticSpec(
        n_images=120, seed=2, duplicate_fraction=0.0, burst_fraction=0.5, burst_frames=(6, 10)
    )
    ds = make_synthetic_dataset(tmp_path, spec, progress=False)
    groups = scene_groups(ds.root, ds.image_paths())
    sizes = [groups.count(g) for g in dict.fromkeys(groups) if g != groups[-1]]  # last: cut
    assert all(s == 1 or 6 <= s <= 10 for s in sizes), sizes
    assert sum(s for s in sizes if s > 1) > 0.7 * len(groups), "most frames are burst frames"
    with pytest.raises(ValueError, match="burst_frames"):
        SyntheticSpec(burst_fraction=0.5, burst_frames=(1, 3))
