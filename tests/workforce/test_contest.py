import numpy as np
import pytest
from workforce_truths import annotator, make_truths

from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.contest import (
    ContestStatus,
    apply_reviews,
    contest,
    excluded,
    review,
)
from hitl_active.workforce.gold import score_gold


def test_contest_excludes_until_reviewed_then_correction_applies():
    truths = make_truths(25, seed=6)
    gold = {t.image: t for t in truths}
    rng = np.random.default_rng(0)
    answers = [annotator("a", 0.9).annotate(t, rng) for t in truths]
    c = contest("a", truths[0].image, "the gold misses a circle", gold)
    assert c.status is ContestStatus.CONTESTED
    assert score_gold(answers, gold, exclude=excluded([c]))["a"].images == 24

    upheld = review(c, "lead")
    assert upheld.status is ContestStatus.UPHELD and excluded([upheld]) == set()
    assert apply_reviews(gold, [upheld]) == gold

    t0 = truths[0]
    fixed = ImageLabels(
        t0.image, t0.width, t0.height, answers[0].labels.xyxy, answers[0].labels.class_id
    )
    corrected = review(c, "lead", corrected=fixed)
    new_gold = apply_reviews(gold, [corrected])
    assert new_gold[t0.image] is fixed and gold[t0.image] is t0
    with pytest.raises(ValueError, match="already"):
        review(corrected, "lead")


def test_contest_input_checked():
    gold = {"g": ImageLabels("g", 10, 10)}
    with pytest.raises(ValueError, match="not a gold item"):
        contest("a", "other", "why", gold)
    with pytest.raises(ValueError, match="reason"):
        contest("a", "g", "  ", gold)
