"""ImageLabels validation: one (input, expected error) row per rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hitl_active.formats import ImageLabels


def _make(**changes: Any) -> ImageLabels:
    kwargs: dict[str, Any] = {
        "image": "a.jpg",
        "width": 10,
        "height": 8,
        "xyxy": [[0, 0, 5, 4]],
        "class_id": [0],
    }
    kwargs.update(changes)
    return ImageLabels(**kwargs)


def test_accepts_and_normalises_types() -> None:
    labels = _make(width=10.0, height=np.int64(8), class_id=np.array([2.0]), scores=[0.5])
    assert labels.size == (10, 8) and isinstance(labels.width, int)
    assert labels.class_id.dtype == np.int64 and labels.xyxy.dtype == np.float32
    empty = _make(xyxy=[], class_id=[])
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"width": 0}, "width and height must be positive"),
        ({"width": 10.5}, "whole pixels"),
        ({"height": "tall"}, "must be numbers"),
        ({"xyxy": [[0, 0, 5]]}, "shape (N, 4)"),
        ({"xyxy": [[0, 0, 5, np.nan]]}, "NaN or infinity"),
        ({"xyxy": [[5, 0, 1, 4]]}, "x2 >= x1"),
        ({"class_id": [0, 1]}, "class_id must have shape (1,)"),
        ({"class_id": [-1]}, "non-negative integers"),
        ({"class_id": [1.5]}, "non-negative integers"),
        ({"scores": [0.1, 0.2]}, "scores must have shape (1,)"),
        ({"box_meta": [{}, {}]}, "one dict per box (1), got 2"),
        ({"box_meta": ["human"]}, "entries must be dicts"),
    ],
)
def test_invalid_input_is_rejected(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as err:
        _make(**changes)
    assert fragment in str(err.value)
