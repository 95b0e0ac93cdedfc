"""Bayesian Knowledge Tracing: the update against hand-computed numbers, mastery per trainee,
and fitting the parameters back from a simulated log."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.workforce.bkt_fit import fit_bkt, fit_skill
from hitl_active.workforce.grading import Outcome
from hitl_active.workforce.mastery import (
    Attempt,
    BKTParams,
    Mastery,
    bkt_update,
    predict_success,
    slip_guess,
)
from hitl_active.workforce.practice import PracticeTask, TaskType

P = BKTParams(prior=0.3, learn=0.15, slip=0.1, guess=0.2)


def test_update_after_a_right_answer_matches_the_hand_computation():
    # P(L|c) = 0.3*0.9 / (0.3*0.9 + 0.7*0.2) = 0.27/0.41; then + (1 - that)*0.15
    post = 0.27 / 0.41
    assert bkt_update(0.3, True, P) == pytest.approx(post + (1 - post) * 0.15)
    assert bkt_update(0.3, True, P) == pytest.approx(0.7097561, abs=1e-7)


def test_update_after_a_wrong_answer_matches_the_hand_computation():
    # P(L|w) = 0.3*0.1 / (0.3*0.1 + 0.7*0.8) = 0.03/0.59; then + (1 - that)*0.15
    assert bkt_update(0.3, False, P) == pytest.approx(0.1932203, abs=1e-7)


def test_the_task_types_own_learn_rate_is_used():
    p = BKTParams(prior=0.3, learn=0.15, slip=0.1, guess=0.2, learn_by_type={"fix_boxes": 0.5})
    post = 0.27 / 0.41
    assert bkt_update(0.3, True, p, task_type="fix_boxes") == pytest.approx(post + (1 - post) * 0.5)
    assert bkt_update(0.3, True, p, task_type="verify") == pytest.approx(bkt_update(0.3, True, P))


def test_difficulty_moves_slip_up_and_guess_down():
    assert slip_guess(P, 0.5) == pytest.approx((0.1, 0.2))
    assert slip_guess(P, 1.0) == pytest.approx((0.15, 0.1))
    assert slip_guess(P, 0.0) == pytest.approx((0.05, 0.3))
    assert predict_success(0.5, P, 1.0) == pytest.approx(0.5 * 0.85 + 0.5 * 0.1)
    hard = bkt_update(0.3, True, P, difficulty=1.0)
    assert hard == pytest.approx(0.3 * 0.85 / (0.3 * 0.85 + 0.7 * 0.1) * 0.85 + 0.15)


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"slip": 1.2}, "must lie in"), ({"guess": 0.7}, "slip and guess must be below")],
)
def test_bad_parameters_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        BKTParams(**kw)


def _task(skills=("recall:circle", "box_tightness")) -> PracticeTask:
    from hitl_active.formats.core import ImageLabels

    img = ImageLabels("a.jpg", 10, 10)
    return PracticeTask("t1", TaskType.CROWDED, "a.jpg", "", img, img, skills, 0.5)


def test_mastery_is_ready_at_the_threshold_and_replays_from_its_log():
    m = Mastery("ann", {"recall:circle": P}, threshold=0.9)
    task = _task()
    for _ in range(3):
        m.observe(task, Outcome("t1", {"recall:circle": True, "box_tightness": False}, ()), 1.5)
    assert m.p_learned("recall:circle") > 0.9 and m.ready("recall:circle")
    assert not m.ready("box_tightness") and not m.ready_on(["recall:circle", "box_tightness"])
    assert m.minutes == pytest.approx(4.5) and m.tasks_done == 3
    again = Mastery.replay("ann", m.attempts, params={"recall:circle": P}, threshold=0.9)
    assert again.p == pytest.approx(m.p)
    assert again.minutes == pytest.approx(4.5) and again.tasks_done == 3
    assert m.history("recall:circle") == [True, True, True]


def test_an_outcome_of_another_task_is_refused():
    with pytest.raises(ValueError, match="outcome of t2 given with task t1"):
        Mastery("ann").observe(_task(), Outcome("t2", {}, ()))


def simulate(params: BKTParams, n: int, length: int, rng: np.random.Generator):
    """Attempt logs of ``n`` trainees drawn from the BKT model itself (two task types)."""
    logs = {}
    for i in range(n):
        learned = rng.random() < params.prior
        seq = []
        for _ in range(length):
            kind = "fix_boxes" if rng.random() < 0.5 else "crowded"
            d = float(rng.random())
            s, g = slip_guess(params, d)
            seq.append(
                Attempt("box_tightness", bool(rng.random() < (1 - s if learned else g)), kind, d)
            )
            learned = learned or rng.random() < params.learn_for(kind)
        logs[f"t{i}"] = seq
    return logs


def test_fitting_recovers_planted_parameters_from_a_simulated_log():
    planted = BKTParams(0.15, 0.2, 0.08, 0.22, {"fix_boxes": 0.3, "crowded": 0.06})
    logs = simulate(planted, 1500, 15, np.random.default_rng(7))
    fitted = fit_bkt(logs)["box_tightness"]
    assert fitted.slip == pytest.approx(planted.slip, abs=0.03)
    assert fitted.guess == pytest.approx(planted.guess, abs=0.03)
    assert fitted.prior == pytest.approx(planted.prior, abs=0.04)
    for kind in ("fix_boxes", "crowded"):
        assert fitted.learn_by_type[kind] == pytest.approx(planted.learn_by_type[kind], abs=0.04)
    # a fit started far off lands on the same parameters
    start = BKTParams(0.5, 0.4, 0.3, 0.05)
    other = fit_skill([list(s) for s in logs.values()], start=start)
    assert other.slip == pytest.approx(fitted.slip, abs=0.01)


def test_fitting_without_attempts_on_a_skill_says_so():
    with pytest.raises(ValueError, match="no attempts logged on skills"):
        fit_bkt({"t0": [Attempt("verify", True, "verify", 0.5)]}, ["crowded"])
