import numpy as np
import pytest
from workforce_truths import annotator, make_truths

from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.gold import ALL, score_gold
from hitl_active.workforce.records import Answer
from hitl_active.workforce.stats import beta_rate, mean_estimate, noise_estimate


def _answer(who, image, boxes, classes, prelabel=None):
    lab = ImageLabels(image, 200, 200, np.array(boxes, float).reshape(-1, 4), classes)
    return Answer(who, lab, prelabel=prelabel, seconds=10.0)


def test_hand_built_image_scored_exactly():
    gold = {"g": ImageLabels("g", 200, 200, [[0, 0, 100, 100], [120, 120, 160, 160]], [0, 1])}
    ans = _answer(
        "ann",
        "g",
        [[0, 0, 100, 110], [120, 120, 160, 160], [170, 0, 190, 20]],  # tall, mislabelled, extra
        [0, 0, 2],
    )
    s = score_gold([ans], gold, min_count=0)["ann"]
    c0, c1, c2 = s.per_class[0], s.per_class[1], s.per_class[2]
    assert (c0.counts.objects, c0.counts.found, c0.counts.right_label) == (1, 1, 1)
    assert (c1.counts.found, c1.counts.right_label) == (1, 0)
    assert c0.precision.value == 0.5  # two boxes labelled 0, one is a class-0 object
    assert c2.precision.value == 0.0
    assert c0.iou.value is None  # a t-interval needs two values
    assert s.overall.recall.value == 1.0
    assert s.overall.label_accuracy.value == 0.5
    assert s.overall.iou.value == pytest.approx((100 / 110 + 1.0) / 2)
    # corner errors relative to size: one y2 off by 10 on a 100-high box, over 8 coordinates
    assert s.box_noise.value == pytest.approx(np.sqrt(0.1**2 / 8))


def test_planted_recall_and_noise_recovered():
    truths = make_truths(150, seed=11)
    gold = {t.image: t for t in truths}
    rng = np.random.default_rng(3)
    planted = {"a": (0.6, 0.02), "b": (0.8, 0.05), "c": (0.95, 0.08)}
    answers = [annotator(n, r, s).annotate(t, rng) for n, (r, s) in planted.items() for t in truths]
    skills = score_gold(answers, gold)
    for who, (recall, noise) in planted.items():
        s = skills[who]
        assert abs(s.overall.recall.value - recall) < 0.06, who
        assert abs(s.box_noise.value - noise) / noise < 0.2, who
        for c in range(3):
            assert abs(s.per_class[c].recall.value - recall) < 0.12, (who, c)
        assert s.overall.label_accuracy.value == pytest.approx(0.95, abs=0.05)
    rank = sorted(planted, key=lambda w: skills[w].overall.recall.value)
    assert rank == ["a", "b", "c"]
    assert sorted(planted, key=lambda w: skills[w].box_noise.value) == ["a", "b", "c"]


def test_automation_bias_measured_on_wrong_prelabels():
    truths = make_truths(120, seed=5)
    gold = {t.image: t for t in truths}
    rng = np.random.default_rng(8)

    def prelabel(t):  # every true box with the next class (wrong), plus one invented box
        boxes = np.vstack([t.xyxy, [[1, 1, 30, 30]]])
        return ImageLabels(t.image, t.width, t.height, boxes, [*((t.class_id + 1) % 3), 0])

    answers = []
    for name, p in (("trusting", 0.8), ("careful", 0.05)):
        ann = annotator(name, 0.9, accept_wrong=p)
        answers += [ann.annotate(t, rng, prelabel=prelabel(t)) for t in truths]
    skills = score_gold(answers, gold)
    assert skills["trusting"].overall.automation_bias.value == pytest.approx(0.8, abs=0.08)
    assert skills["careful"].overall.automation_bias.value == pytest.approx(0.05, abs=0.05)


def test_too_few_objects_is_not_enough_data():
    truths = make_truths(3, seed=1)
    rng = np.random.default_rng(0)
    answers = [annotator("a", 0.9).annotate(t, rng) for t in truths]
    s = score_gold(answers, {t.image: t for t in truths})["a"]
    assert s.overall.recall.value is None
    assert "not enough data" in s.overall.recall.reason
    assert s.box_noise.value is None


def test_contested_items_left_out_of_that_annotators_scores():
    truths = make_truths(30, seed=2)
    gold = {t.image: t for t in truths}
    rng = np.random.default_rng(0)
    answers = [annotator(n, 0.9).annotate(t, rng) for n in ("a", "b") for t in truths]
    skills = score_gold(answers, gold, exclude={("a", truths[0].image)})
    assert skills["a"].images == 29 and skills["b"].images == 30


@pytest.mark.parametrize("n", [20, 80, 400])
def test_intervals_well_formed_and_narrow_with_data(n):
    rng = np.random.default_rng(n)
    r = beta_rate(int(0.7 * n), n)
    m = mean_estimate(rng.uniform(0.6, 0.9, n))
    s = noise_estimate(rng.normal(0, 0.05, (n, 4)))
    for e in (r, m, s):
        assert e.low <= e.value <= e.high and e.n == n
    assert r.low >= 0 and r.high <= 1
    wide = beta_rate(int(0.7 * n), n).high - beta_rate(int(0.7 * n), n).low
    narrow = beta_rate(int(0.7 * 4 * n), 4 * n)
    assert narrow.high - narrow.low < wide


def test_interval_coverage_near_nominal():
    rng = np.random.default_rng(21)
    hits = [beta_rate(int(rng.binomial(200, 0.8)), 200).covers(0.8) for _ in range(400)]
    assert 0.85 <= np.mean(hits) <= 0.95


def test_pooled_class_key_present():
    truths = make_truths(10, seed=4)
    rng = np.random.default_rng(0)
    s = score_gold(
        [annotator("a", 0.9).annotate(t, rng) for t in truths], {t.image: t for t in truths}
    )
    assert ALL in s["a"].per_class


def _random_answer(rng, who, image, truth, kind):
    """A honeypot answer of one kind: empty, all wrong, all right, duplicated, or random."""
    if kind == "empty":
        return _answer(who, image, np.zeros((0, 4)), [])
    if kind == "wrong":  # boxes far from every gold box
        n = int(rng.integers(1, 4))
        return _answer(who, image, [[180, 180, 195, 195]] * n, [0] * n)
    if kind == "right":
        return _answer(who, image, truth.xyxy, list(truth.class_id))
    if kind == "duplicates":
        return _answer(who, image, np.vstack([truth.xyxy] * 3), list(truth.class_id) * 3)
    n = int(rng.integers(0, 5))
    xy = rng.uniform(0, 150, (n, 2))
    boxes = np.hstack([xy, xy + rng.uniform(2, 50, (n, 2))])
    return _answer(who, image, boxes, list(rng.integers(0, 3, n)))


@pytest.mark.parametrize("seed", range(12))
def test_any_honeypot_answers_give_scores_flags_and_a_route(seed):
    """No honeypot answer, however careless, can stop scoring, flagging or routing."""
    from hitl_active.workforce.flags import flag_skills
    from hitl_active.workforce.routing import POOLED, Frame, Person, plan_round

    rng = np.random.default_rng(seed)
    gold = {
        f"g{i}": ImageLabels(f"g{i}", 200, 200, [[10, 10, 60, 60], [80, 90, 140, 150]], [0, 1])
        for i in range(4)
    }
    kinds = ["empty", "wrong", "right", "duplicates", "random"]
    people = [f"p{i}" for i in range(5)]
    answers = [
        _random_answer(rng, who, image, truth, kinds[int(rng.integers(len(kinds)))])
        for who in people
        for image, truth in gold.items()
        if rng.random() < 0.8
    ]
    skills = score_gold(answers, gold, min_count=int(rng.integers(0, 4)))
    for who, s in skills.items():
        recall = s.overall.recall
        assert recall.value is None or (
            0 <= recall.value <= 1 and 0 <= recall.low <= recall.high <= 1
        )
        assert s.box_noise.value is None or np.isfinite(s.box_noise.value)
        mine = [a for a in answers if a.annotator == who]
        if all(len(a.labels.xyxy) == 0 for a in mine):
            assert recall.value in (None, 0.0)  # missed every gold box: recall 0, not a crash
    flag_skills(skills)
    team = [
        Person(who, skill={POOLED: skills[who].overall.recall.value} if who in skills else {})
        for who in people
    ]
    frames = [Frame(i, float(rng.random()), (0,)) for i in range(10)]
    plan = plan_round(frames, team, rng=np.random.default_rng(seed))
    assert {a.image_id for a in plan if a.kind != "honeypot"} == set(range(10))
