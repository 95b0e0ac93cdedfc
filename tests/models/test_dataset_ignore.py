"""Training data from a box review: regions nobody looked at are masked, not labelled."""

from __future__ import annotations

import numpy as np
from PIL import Image

from hitl_active.formats.core import ImageLabels
from hitl_active.models.dataset import prepare_yolo_dataset, split_ignored


def test_ignored_regions_are_masked_and_left_out_of_the_labels(tmp_path):
    src = tmp_path / "a.jpg"
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(src, quality=95)
    plain = tmp_path / "b.jpg"
    Image.fromarray(np.full((40, 60, 3), 30, np.uint8)).save(plain, quality=95)
    labels = ImageLabels(
        str(src), 60, 40, np.array([[0, 0, 10, 10], [20, 10, 40, 30]], np.float32), [0, 1],
        box_meta=[{"source": "human"}, {"source": "model", "ignore": True}],
    )  # fmt: skip
    kept, ignored = split_ignored(labels)
    assert kept.class_id.tolist() == [0] and kept.box_meta == [{"source": "human"}]
    assert ignored.tolist() == [[20, 10, 40, 30]]
    # an unasked candidate over a confirmed object masks around it, not over it
    labels.xyxy[1] = [0, 0, 30, 30]
    other = ImageLabels(str(plain), 60, 40, np.array([[1, 1, 9, 9]], np.float32), [1])
    prepare_yolo_dataset([(src, labels), (plain, other)], [], ["a", "b"], tmp_path / "ds")
    images = tmp_path / "ds" / "train" / "images"
    masked = np.asarray(Image.open(images / "a.png"))
    assert (masked[12:30, 12:30] == 114).all(), "the ignored region is not masked"
    assert abs(int(masked[0:10, 0:10].mean()) - 200) <= 3, "the confirmed box was masked"
    assert abs(int(masked[32:40, 32:60].mean()) - 200) <= 3, "the rest of the image changed"
    assert (images / "b.jpg").is_symlink(), "an image without ignored regions is copied"
    lines = (tmp_path / "ds" / "train" / "labels" / "a.txt").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("0 ")
