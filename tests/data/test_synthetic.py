from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hitl_active.data.synthetic import SyntheticDataset, SyntheticSpec, make_synthetic_dataset


def test_synthetic_dataset_is_deterministic_and_complete(tmp_path):
    spec = SyntheticSpec(n_images=30, seed=3)
    a = make_synthetic_dataset(tmp_path / "a", spec, progress=False)
    b = make_synthetic_dataset(tmp_path / "b", spec, progress=False)
    assert len(a.image_paths()) == 30
    for pa, pb in zip(a.image_paths(), b.image_paths(), strict=True):
        assert a.label_path(pa).read_text() == b.label_path(pb).read_text()
    sizes = {Image.open(p).size for p in a.image_paths()}
    assert len(sizes) > 1, "images should come in different sizes"
    assert a.duplicates, "some near-duplicate frames are expected at the default fraction"
    loaded = SyntheticDataset.load(a.root)
    assert loaded.class_names == list(spec.classes)
    assert loaded.duplicates == a.duplicates


def test_labels_are_normalised_and_classes_unbalanced(tmp_path):
    ds = make_synthetic_dataset(tmp_path, SyntheticSpec(n_images=120, seed=0), progress=False)
    rows = [
        line.split() for p in ds.image_paths() for line in ds.label_path(p).read_text().splitlines()
    ]
    arr = np.array(rows, dtype=float)
    assert np.all((arr[:, 1:] >= 0) & (arr[:, 1:] <= 1))
    counts = np.bincount(arr[:, 0].astype(int), minlength=4)
    assert counts[3] > 0, "the rare class must appear"
    assert counts[3] < counts[0] / 3, f"class 3 should be rare, counts={counts}"


def test_bad_spec_is_explained():
    with pytest.raises(ValueError, match="one weight per class"):
        SyntheticSpec(classes=("circle", "square"), class_weights=(1.0,))
    with pytest.raises(ValueError, match="unknown synthetic classes"):
        SyntheticSpec(classes=("dragon",), class_weights=(1.0,))
