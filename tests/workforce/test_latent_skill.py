import numpy as np
from scipy.stats import spearmanr
from workforce_truths import annotator, make_truths

from hitl_active.workforce.latent import estimate_without_gold

# planted: (recall, label accuracy, box noise); reliability = recall × label accuracy
PLANTED = {
    "a0": (0.55, 0.90, 0.02),
    "a1": (0.65, 0.95, 0.06),
    "a2": (0.75, 0.80, 0.03),
    "a3": (0.80, 0.92, 0.05),
    "a4": (0.90, 0.97, 0.08),
    "a5": (0.97, 0.99, 0.04),
}


def _overlap_answers(seed: int):
    truths = make_truths(90, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    people = [annotator(n, r, s, label_accuracy=la) for n, (r, la, s) in PLANTED.items()]
    return [
        people[k].annotate(t, rng)
        for t in truths
        for k in rng.choice(len(people), 3, replace=False)
    ]


def test_dawid_skene_ranks_annotators_without_gold():
    skills = estimate_without_gold(_overlap_answers(7), 3, rng=np.random.default_rng(0))
    assert set(skills) == set(PLANTED)
    planted = [r * la for r, la, _ in PLANTED.values()]
    rho = spearmanr(planted, [skills[n].reliability for n in PLANTED]).statistic
    assert rho >= 0.8
    noise = spearmanr(
        [s for *_, s in PLANTED.values()], [skills[n].box_noise.value for n in PLANTED]
    )
    assert noise.statistic >= 0.8
    for n, (r, la, s) in PLANTED.items():
        e = skills[n].box_noise
        assert e.low <= e.value <= e.high
        assert abs(e.value - s) < 0.02, n
        assert abs(skills[n].reliability - r * la) < 0.15, n
        m = skills[n].confusion
        assert m.shape == (4, 4) and np.allclose(m.sum(axis=1)[m.sum(axis=1) > 0], 1.0)


def test_single_answers_carry_no_information():
    truths = make_truths(5, seed=1)
    rng = np.random.default_rng(0)
    answers = [annotator("a", 0.9).annotate(t, rng) for t in truths]
    assert estimate_without_gold(answers, 3, rng=rng) == {}
