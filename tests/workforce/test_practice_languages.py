"""Practice instructions and feedback, and the task's "why" line, in the trainee's language
(the English words unchanged, the class names as the project names them)."""

from __future__ import annotations

from test_practice import NAMES, answer, scene, tasks_of

from hitl_active.i18n import translator
from hitl_active.loop.backends import why_line
from hitl_active.workforce.grading import feedback_text, grade
from hitl_active.workforce.practice import PROMPTS, TaskType, prompt_text


def test_feedback_reads_in_the_trainees_language_with_its_values():
    truth = scene()
    task = next(t for t in tasks_of(truth)[TaskType.DRAW_ONE] if t.target_class == 2)
    (fb,) = grade(task, task.shown, NAMES).feedback
    assert feedback_text(fb) == fb.message == "a square here was not boxed"
    assert feedback_text(fb, translator("uk").gettext) == "тут не обведено об’єкт «square»"
    assert feedback_text(fb, translator("ar").gettext) == "يوجد هنا square بلا إطار"
    loose_task = tasks_of(truth)[TaskType.FIX_BOXES][0]
    boxes = truth.xyxy.copy()
    boxes[0] = [10, 10, 90, 90]
    (loose,) = grade(loose_task, answer(truth, boxes, truth.class_id), NAMES).feedback
    assert "IoU 0.64" in loose.message and "IoU 0.64" in feedback_text(
        loose, translator("uk").gettext
    )


def test_every_prompt_is_translated_and_keeps_its_class_names():
    for words in PROMPTS.values():
        english = words.format(*["circle", "ring"][: words.count("{}")])
        assert prompt_text(english) == english
        for lang in ("ar", "uk"):
            said = prompt_text(english, translator(lang).gettext)
            assert said != english and all(
                n in said for n in ["circle", "ring"][: words.count("{}")]
            )
    assert prompt_text("Something else.", translator("uk").gettext) == "Something else."


def test_the_why_line_speaks_the_annotators_language():
    english = why_line(2, 10, 0.812, 3)
    assert english == (
        "Picked 2 of 10: the model is unsure here (uncertainty 0.81 of 1). "
        "Check every box, and draw what it missed."
    )
    uk = why_line(2, 10, 0.812, 3, "uk")
    assert uk.startswith("Вибрано 2 з 10") and "0,81" in uk  # a decimal comma
    assert why_line(None, None, None, None, "ar").startswith("اختيرت عشوائيًا")
