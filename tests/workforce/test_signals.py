"""Signals on hand-built skip and overlap patterns: about classes, never about people."""

from dataclasses import fields
from datetime import datetime, timedelta, timezone

import numpy as np

from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.records import Answer
from hitl_active.workforce.signals import Signal, disagreement_signals, skip_signals
from hitl_active.workforce.worklog import WorkEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NAMES = {0: "car", 1: "van", 2: "truck", 3: "cross"}


def answers_to(tasks, skipped, who="ana", practice=False):
    return [
        WorkEvent(who, t, 1, "skip" if t in skipped else "annotation", 1000 * (who == "bo") + t,
                  T0 + timedelta(minutes=t), 30.0, practice=practice)
        for t in tasks
    ]  # fmt: skip


def test_a_class_skipped_more_than_the_rest_is_a_signal_about_instructions():
    classes = {t: (0,) for t in range(40)} | {t: (3,) for t in range(40, 80)}
    skipped = {0, 1} | set(range(40, 60))  # car: 2 of 40; cross: 20 of 40
    (s,) = skip_signals(answers_to(range(80), skipped), classes, NAMES)
    assert (s.kind, s.classes, s.value, s.baseline, s.n) == ("skips", (3,), 0.5, 0.05, 40)
    assert s.message == (
        "class 'cross': 50% of 40 tasks skipped against 5% on other classes; "
        "its instructions may be unclear"
    )


def test_even_skips_too_few_tasks_and_practice_give_no_signal():
    classes = {t: (0,) for t in range(40)} | {t: (3,) for t in range(40, 80)}
    even = {0, 1, 2, 3, 40, 41, 42, 43}
    assert skip_signals(answers_to(range(80), even), classes) == []
    few = {t: (0,) for t in range(40)} | {t: (3,) for t in range(40, 50)}
    events = answers_to(range(50), set(range(40, 50)))  # 10 of 10 crosses: under 20 tasks
    assert skip_signals(events, few) == []
    events = answers_to(range(80), set(range(40, 60)), practice=True)
    assert skip_signals(events, classes) == []


def test_signals_name_no_one():
    assert {f.name for f in fields(Signal)} == {
        "kind", "classes", "value", "baseline", "n", "message",
    }  # fmt: skip
    classes = {t: (0,) for t in range(40)} | {t: (3,) for t in range(40, 80)}
    skipped = set(range(40, 60))
    events = answers_to(range(80), skipped) + answers_to(range(80), skipped, who="bo")
    (s,) = skip_signals(events, classes)
    assert s.n == 80 and "ana" not in s.message and "bo" not in s.message


def _answer(who, image, label):
    box = np.array([[10, 10, 50, 50]], np.float32)
    return Answer(who, ImageLabels(f"im{image}", 100, 100, box, np.array([label], np.int64)))


def overlap(first_image=0):
    """30 images of a car, all three agree; 30 of a van, where C says truck."""
    out = []
    for i in range(first_image, first_image + 30):
        out += [_answer(w, i, 0) for w in "ABC"]
    for i in range(first_image + 30, first_image + 60):
        out += [_answer("A", i, 1), _answer("B", i, 1), _answer("C", i, 2)]
    return out


def test_disagreement_spike_and_confusable_classes():
    found = disagreement_signals(overlap(), class_names=NAMES)
    spike, pair = found
    assert (spike.kind, spike.classes, spike.value, spike.baseline, spike.n) == (
        "disagreement", (1,), 1.0, 0.0, 30,
    )  # fmt: skip
    assert "class 'van': annotators disagree on 100% of 30 objects against 0%" in spike.message
    assert (pair.kind, pair.classes, pair.value, pair.n) == ("confusable", (1, 2), 1.0, 30)
    assert "classes 'van' and 'truck': 30 of 30 objects" in pair.message


def test_no_spike_against_the_same_class_before():
    # the van was as disputed before: no spike, though the labels are still confused
    found = disagreement_signals(overlap(), earlier=overlap(first_image=100))
    assert [s.kind for s in found] == ["confusable"]
    calm = [a for a in overlap(100) if a.labels.class_id[0] != 2]
    calm += [_answer("C", i, 1) for i in range(130, 160)]  # C agreed then
    (spike, _) = disagreement_signals(overlap(), earlier=calm)
    assert (spike.classes, spike.baseline) == ((1,), 0.0)
    assert "against 0% before" in spike.message


def test_a_missed_object_is_a_dispute():
    out = [_answer(w, i, 0) for i in range(30) for w in "AB"]
    out += [Answer("C", ImageLabels(f"im{i}", 100, 100)) for i in range(30)]  # C drew nothing
    out += [_answer(w, i, 1) for i in range(30, 60) for w in "ABC"]
    (s,) = disagreement_signals(out)
    assert (s.classes, s.value, s.baseline) == ((0,), 1.0, 0.0)
