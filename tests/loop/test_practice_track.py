"""A practice task is stored as it was shown, so grading never depends on making the pool again."""

import numpy as np

from hitl_active.formats.core import ImageLabels
from hitl_active.loop.practice_track import task_from_dict, task_to_dict
from hitl_active.workforce.grading import grade
from hitl_active.workforce.practice import make_practice_tasks


def _labelled() -> list[ImageLabels]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(6):
        n = 2 + i % 4
        xy = rng.uniform(0, 150, (n, 2))
        wh = rng.uniform(12, 40, (n, 2))
        boxes = np.hstack([xy, xy + wh])
        out.append(ImageLabels(f"img{i}.png", 200, 200, boxes, rng.integers(0, 3, n)))
    return out


def test_a_stored_task_is_the_task_that_was_shown_and_grades_alike():
    tasks = make_practice_tasks(_labelled(), ["a", "b", "c"], np.random.default_rng(1))
    assert len({t.type for t in tasks}) >= 3
    for task in tasks:
        back = task_from_dict(task_to_dict(task))
        assert (back.id, back.type, back.prompt, back.skills) == (
            task.id, task.type, task.prompt, task.skills
        )  # fmt: skip
        assert np.allclose(back.shown.xyxy, task.shown.xyxy)
        assert np.array_equal(back.truth.class_id, task.truth.class_id)
        assert (back.targets, back.choices, back.target_class) == (
            task.targets, task.choices, task.target_class
        )  # fmt: skip
        # the truth itself as the answer grades the same on both
        assert grade(back, task.truth).correct == grade(task, task.truth).correct
