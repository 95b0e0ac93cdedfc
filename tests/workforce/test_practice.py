"""Practice tasks made from labelled images, and grading answers on each task type."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.grading import grade
from hitl_active.workforce.practice import PracticeTask, TaskType, make_practice_tasks, shrink_box

NAMES = ["circle", "ring", "square"]
PAIRS = [("circle", "ring")]


def labels(image: str, boxes: list, classes: list, size: int = 400) -> ImageLabels:
    return ImageLabels(image, size, size, np.asarray(boxes, float).reshape(-1, 4), classes)


def scene() -> ImageLabels:
    """Two circles, a ring, a square and a small circle: five objects (crowded at 5)."""
    return labels(
        "a.jpg",
        [
            [10, 10, 110, 110],
            [150, 10, 250, 110],
            [10, 150, 110, 250],
            [150, 150, 250, 250],
            [300, 300, 320, 320],
        ],
        [0, 0, 1, 2, 0],
    )


def tasks_of(truth: ImageLabels, **kw) -> dict[TaskType, list[PracticeTask]]:
    out: dict[TaskType, list[PracticeTask]] = {}
    for t in make_practice_tasks([truth], NAMES, np.random.default_rng(0), confusable=PAIRS, **kw):
        out.setdefault(t.type, []).append(t)
    return out


def answer(truth: ImageLabels, boxes, classes) -> ImageLabels:
    return labels(truth.image, boxes, classes)


def test_every_task_type_is_made_with_its_skills_and_truth_kept_aside():
    by = tasks_of(scene())
    assert set(by) == set(TaskType)
    assert by[TaskType.VERIFY][0].skills == ("verify",)
    assert by[TaskType.FIX_BOXES][0].skills == ("box_tightness",)
    assert {t.skills for t in by[TaskType.FIND_ALL]} == {
        ("recall:circle",),
        ("recall:ring",),
        ("recall:square",),
    }
    assert by[TaskType.CHOOSE_CLASS][0].skills == ("label:circle|ring",)
    assert by[TaskType.CROWDED][0].skills == ("crowded", "box_tightness")
    assert by[TaskType.SMALL_OBJECTS][0].targets == (4,)
    draw = next(t for t in by[TaskType.DRAW_ONE] if t.target_class == 2)
    assert draw.targets == (3,) and len(draw.shown) == 4  # the square is the one left out
    assert all(len(t.shown) == 0 for t in by[TaskType.FIND_ALL])
    assert all(len(t.truth) == 5 for ts in by.values() for t in ts)
    ids = [t.id for ts in by.values() for t in ts]
    assert len(ids) == len(set(ids))


def test_no_crowded_small_or_pair_tasks_where_the_image_has_none():
    truth = labels("b.jpg", [[10, 10, 110, 110]], [2])
    by = tasks_of(truth)
    assert TaskType.CROWDED not in by and TaskType.SMALL_OBJECTS not in by
    assert TaskType.CHOOSE_CLASS not in by and TaskType.CONFUSABLE_PAIR not in by


def test_difficulty_follows_uncertainty_within_each_type():
    imgs = [labels(f"{i}.jpg", [[10, 10, 110, 110]], [2]) for i in range(3)]
    unc = {"0.jpg": 0.9, "1.jpg": 0.1, "2.jpg": 0.5}
    tasks = make_practice_tasks(imgs, NAMES, np.random.default_rng(0), uncertainty=unc)
    find = {t.image: t.difficulty for t in tasks if t.type is TaskType.FIND_ALL}
    assert find == {"1.jpg": 0.0, "2.jpg": 0.5, "0.jpg": 1.0}


def test_difficulty_from_size_and_count_when_no_uncertainty():
    small = labels("s.jpg", [[10, 10, 30, 30]], [2])
    big = labels("b.jpg", [[10, 10, 300, 300]], [2])
    tasks = make_practice_tasks([small, big], NAMES, np.random.default_rng(0))
    find = {t.image: t.difficulty for t in tasks if t.type is TaskType.FIND_ALL}
    assert find["s.jpg"] > find["b.jpg"]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"confusable": [("circle", "hexagon")]}, "confusable pair"),
        ({"types": ["paint"]}, "unknown practice task type"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kw, match):
    with pytest.raises(ValueError, match=match):
        make_practice_tasks([scene()], NAMES, np.random.default_rng(0), **kw)


def test_class_ids_beyond_the_names_are_refused():
    with pytest.raises(ValueError, match="class id 2 but only 2 class names"):
        make_practice_tasks([scene()], NAMES[:2], np.random.default_rng(0))


def test_shrink_box_has_the_asked_iou():
    from hitl_active.boxes import box_iou

    b = shrink_box(np.array([10, 20, 110, 220]), 0.6, np.random.default_rng(3))
    assert box_iou(b, np.array([10, 20, 110, 220]))[0, 0] == pytest.approx(0.6)


def test_a_missed_object_is_reported_missed():
    truth = scene()
    task = next(t for t in tasks_of(truth)[TaskType.DRAW_ONE] if t.target_class == 2)
    out = grade(task, task.shown, NAMES)
    assert out.correct == {"recall:square": False}
    (fb,) = out.feedback
    assert fb.kind == "missed" and fb.box == (150.0, 150.0, 250.0, 250.0) and "square" in fb.message
    done = answer(truth, [*task.shown.xyxy, [152, 150, 250, 248]], [*task.shown.class_id, 2])
    assert grade(task, done).correct == {"recall:square": True}


def test_a_loose_box_is_reported_with_its_iou():
    truth = scene()
    task = tasks_of(truth)[TaskType.FIX_BOXES][0]
    boxes = truth.xyxy.copy()
    boxes[0] = [10, 10, 90, 90]  # 80x80 inside 100x100: IoU 0.64
    out = grade(task, answer(truth, boxes, truth.class_id))
    assert out.correct == {"box_tightness": False}
    (fb,) = out.feedback
    assert fb.kind == "loose" and fb.iou == pytest.approx(0.64)
    assert grade(task, truth).correct == {"box_tightness": True}


def test_a_wrong_class_is_reported_with_the_answered_class():
    truth = scene()
    task = next(t for t in tasks_of(truth)[TaskType.CHOOSE_CLASS] if t.targets == (2,))
    assert task.choices == (0, 1)
    out = grade(task, answer(truth, task.shown.xyxy, [0]), NAMES)
    assert out.correct == {"label:circle|ring": False}
    assert out.feedback[0].kind == "wrong_class" and out.feedback[0].answered_class == 0
    assert grade(task, answer(truth, task.shown.xyxy, [1])).correct == {"label:circle|ring": True}


def test_verify_needs_every_right_box_kept_and_every_wrong_one_deleted():
    truth = scene()
    task = tasks_of(truth)[TaskType.VERIFY][0]
    out = grade(task, task.shown)  # kept everything, distractors included
    assert out.correct == {"verify": False}
    assert {f.kind for f in out.feedback} == {"wrongly_kept"}
    from hitl_active.boxes import box_iou

    right = (box_iou(task.shown.xyxy, truth.xyxy) >= 0.99).any(axis=1)
    keep = answer(truth, task.shown.xyxy[right], task.shown.class_id[right])
    assert grade(task, keep).correct == {"verify": True}
    first = np.flatnonzero(right)[0]
    drop = np.flatnonzero(right)[1:]
    out = grade(task, answer(truth, task.shown.xyxy[drop], task.shown.class_id[drop]))
    assert out.correct == {"verify": False}
    assert [f.kind for f in out.feedback] == ["wrongly_deleted"]
    assert out.feedback[0].box == tuple(np.round(task.shown.xyxy[first], 1))


def test_crowded_grades_finding_and_tightness_apart():
    truth = scene()
    task = tasks_of(truth)[TaskType.CROWDED][0]
    out = grade(task, answer(truth, truth.xyxy[1:], truth.class_id[1:]))
    assert out.correct == {"crowded": False, "box_tightness": True}
    boxes = truth.xyxy.copy()
    boxes[1] = [150, 10, 230, 90]
    out = grade(task, answer(truth, boxes, truth.class_id))
    assert out.correct == {"crowded": True, "box_tightness": False}


def test_confusable_pair_grades_labels_and_tightness_apart():
    truth = scene()
    task = tasks_of(truth)[TaskType.CONFUSABLE_PAIR][0]
    assert task.targets == (0, 1, 2, 4)
    idx = list(task.targets)
    swapped = truth.class_id[idx].copy()
    swapped[2] = 0  # the ring called a circle
    out = grade(task, answer(truth, truth.xyxy[idx], swapped), NAMES)
    assert out.correct == {"label:circle|ring": False, "box_tightness": True}
    assert out.feedback[0].message == "this is a ring, not a circle"


def test_small_objects_need_the_small_one_found():
    truth = scene()
    task = tasks_of(truth)[TaskType.SMALL_OBJECTS][0]
    assert grade(task, task.shown).correct == {"small_objects": False}
    assert grade(task, truth).correct == {"small_objects": True}


def test_an_answer_for_another_image_is_refused():
    task = tasks_of(scene())[TaskType.FIX_BOXES][0]
    with pytest.raises(ValueError, match="grade each answer against its own task"):
        grade(task, labels("other.jpg", [], []))
