import numpy as np
import pytest
from workforce_truths import annotator, make_truths

from hitl_active.bench.simulated_annotator import AnnotatorProfile, SimulatedAnnotator
from hitl_active.workforce.flags import SpamTest, flag_skills, flag_spammers
from hitl_active.workforce.gold import score_gold
from hitl_active.workforce.stats import rates_differ


def _stream(person, others, truths, rng, gold_share=0.1, overlap_share=0.3):
    """The person's tasks in order: some gold, some overlapped with two others, the rest alone."""
    gold, answers = {}, []
    for t in truths:
        u = rng.random()
        if u < gold_share:
            gold[t.image] = t
        answers.append(person.annotate(t, rng))
        if gold_share <= u < gold_share + overlap_share:
            answers += [o.annotate(t, rng) for o in others]
    return answers, gold


@pytest.mark.parametrize("seed", range(5))
def test_spammer_flagged_within_30_tasks(seed):
    rng = np.random.default_rng(seed)
    spammer = SimulatedAnnotator("spam", AnnotatorProfile.random_spammer(3))
    others = [annotator("h1", 0.8), annotator("h2", 0.7)]
    answers, gold = _stream(spammer, others, make_truths(30, seed=100 + seed), rng)
    flags = [f for f in flag_spammers(answers, gold) if f.annotator == "spam"]
    assert len(flags) == 1 and flags[0].after_tasks <= 30
    assert flags[0].estimate.value < 0.2 and flags[0].kind == "spammer"
    assert "interval" in flags[0].message()


def test_honest_annotators_rarely_flagged():
    flagged = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        weak = annotator("weak", 0.55, fp_rate=0.3)
        answers, gold = _stream(weak, [annotator("h1", 0.6)], make_truths(60, seed=seed), rng)
        flagged += any(f.annotator == "weak" for f in flag_spammers(answers, gold))
    assert flagged <= 1


def test_low_recall_flagged_with_evidence_and_no_exclusion():
    truths = make_truths(120, seed=9)
    gold = {t.image: t for t in truths}
    rng = np.random.default_rng(1)
    people = [annotator(f"p{i}", r) for i, r in enumerate([0.9, 0.88, 0.92, 0.5])]
    skills = score_gold([p.annotate(t, rng) for p in people for t in truths], gold)
    flags = flag_skills(skills)
    assert {f.annotator for f in flags} == {"p3"}
    pooled = next(f for f in flags if f.figure == "recall of all classes")
    assert pooled.estimate.high < pooled.team_value - 0.1 and pooled.estimate.n > 100
    assert "missed objects" in pooled.look_at
    assert set(skills) == {"p0", "p1", "p2", "p3"}  # still scored: a flag excludes no one


def test_identical_annotators_rarely_differ():
    truths = make_truths(100, seed=3)
    gold = {t.image: t for t in truths}
    rng = np.random.default_rng(2)
    people = [annotator(f"p{i}", 0.8) for i in range(8)]
    skills = score_gold([p.annotate(t, rng) for p in people for t in truths], gold)
    names = sorted(skills)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    differ = 0
    for a, b in pairs:
        ca, cb = skills[a].overall.counts, skills[b].overall.counts
        differ += rates_differ(ca.found, ca.objects, cb.found, cb.objects) or rates_differ(
            ca.correct_boxes, ca.boxes, cb.correct_boxes, cb.boxes
        )
    assert differ <= 0.05 * len(pairs)
    assert flag_skills(skills) == []


def test_spam_test_validates_its_rates():
    with pytest.raises(ValueError):
        SpamTest(p_honest=0.1, p_spam=0.4)
