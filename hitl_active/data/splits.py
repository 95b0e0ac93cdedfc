"""Train/test splits that keep the frames of one scene together.

A near-duplicate frame on both sides of a split leaks its scene into the test set, and a
scene filmed as a 20-frame burst would weigh 20 times in it. :func:`split_by_scene` holds out
whole scenes and keeps one frame of each held-out scene for testing.

Scenes come from a dataset's ``manifest.json`` (written by
:func:`~hitl_active.data.synthetic.make_synthetic_dataset`: ``duplicates`` maps a frame's
stem to the stem it copies). Without one, every image is its own scene, and the split is a
plain random one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["scene_groups", "split_by_scene"]


def scene_groups(root: str | Path, paths: Sequence[str | Path]) -> list[str]:
    """The scene of each image in ``paths``: the stem of the frame its scene started with."""
    manifest = Path(root) / "manifest.json"
    copies: dict[str, str] = {}
    if manifest.is_file():
        try:
            copies = dict(json.loads(manifest.read_text()).get("duplicates", {}))
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{manifest} is not a valid manifest ({exc}); delete it to treat every image "
                "as its own scene"
            ) from exc
    groups = []
    for p in paths:
        stem = Path(p).stem
        seen = {stem}
        while stem in copies:  # a copy of a copy belongs to the first frame's scene
            stem = copies[stem]
            if stem in seen:
                raise ValueError(f"{manifest} has a cycle of duplicates through {stem}")
            seen.add(stem)
        groups.append(stem)
    return groups


def split_by_scene(
    groups: Sequence[str], test_size: int, seed: int = 0
) -> tuple[list[int], list[int]]:
    """``(test, train)`` indices: ``test_size`` held-out scenes, one frame each (the first);
    the train side gets every frame of the other scenes.

    With one image per scene this is ``permutation[:test_size]`` / the rest.
    """
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    scenes = list(members.values())
    if test_size >= len(scenes):
        raise ValueError(
            f"the dataset has {len(scenes)} scenes; holding out {test_size} of them for "
            "testing leaves none to train on"
        )
    order = np.random.default_rng(seed).permutation(len(scenes))
    test = [scenes[k][0] for k in order[:test_size]]
    train = [i for k in order[test_size:] for i in scenes[k]]
    return test, train
