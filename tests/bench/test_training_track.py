"""Simulated trainees and the training-track benchmark: answers graded as the learner
decided them, learning only where the planted matrix teaches, and the JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hitl_active.bench.simulated_learner import LearnerProfile, SimulatedLearner, build_answer
from hitl_active.bench.training_track import TrackConfig, practice_pool, run_bench
from hitl_active.workforce.grading import grade
from hitl_active.workforce.practice import TaskType

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tasks():
    return practice_pool(7, 15)


def test_the_pool_has_every_task_type(tasks):
    assert {t.type for t in tasks} == set(TaskType)


def test_answers_are_graded_exactly_as_the_learner_decided(tasks):
    rng = np.random.default_rng(0)
    for task in tasks:
        for _ in range(3):
            right = {s: bool(rng.random() < 0.5) for s in task.skills}
            assert grade(task, build_answer(task, right, rng)).correct == right, task.id


def test_a_learner_learns_only_what_the_planted_matrix_teaches(tasks):
    profile = LearnerProfile.plant(tasks, np.random.default_rng(1))
    profile = LearnerProfile(
        profile.skills,
        profile.types,
        np.zeros(len(profile.skills)),
        profile.learn * 0 + (np.arange(len(profile.types)) == 0)[:, None],  # only verify teaches
        profile.slip,
        profile.guess,
    )
    assert profile.types[0] == "verify"
    rng = np.random.default_rng(2)
    learner = SimulatedLearner("t", profile, rng)
    for task in [t for t in tasks if t.type is not TaskType.VERIFY][:50]:
        learner.attempt(task, rng)
    assert not any(learner.learned.values())
    learner.attempt(next(t for t in tasks if t.type is TaskType.VERIFY), rng)
    assert learner.learned["verify"] and sum(learner.learned.values()) == 1
    assert learner.tip(rng, noise=0.0) == {"verify": "verify"}  # what taught it, as a peer tip


def test_minutes_depend_on_the_task_type(tasks):
    profile = LearnerProfile.plant(tasks, np.random.default_rng(1))
    rng = np.random.default_rng(3)

    def mean_minutes(kind):
        mine = [t for t in tasks if t.type is kind]
        return np.mean([profile.minutes(mine[i % len(mine)], rng) for i in range(100)])

    assert mean_minutes(TaskType.CHOOSE_CLASS) < mean_minutes(TaskType.CROWDED)


def test_planted_best_type_is_one_that_grades_the_skill(tasks):
    profile = LearnerProfile.plant(tasks, np.random.default_rng(1))
    for skill in profile.skills:
        best = profile.best_type(skill)
        assert any(t.type.value == best and skill in t.skills for t in tasks)


def test_a_small_benchmark_run_returns_the_json_keys():
    cfg = TrackConfig(n_images=15, trainees=3, pilot_trainees=20, pilot_tasks=30)
    out = run_bench((7,), cfg)
    summary = out["summary"]
    json.dumps(out)
    for name in ("adaptive", "fixed", "random", "adaptive_with_tips"):
        per = summary["minutes_to_ready"][name]["per_trainee"][7]
        assert len(per) == 3 and all(m > 0 for m in per)
    assert 0.0 <= summary["best_type_recovered"] <= 1.0
    assert 0.0 <= summary["best_type_recovered_with_tips"] <= 1.0
    assert set(summary["hidden_mastery_at_ready"]) == set(summary["minutes_to_ready"])
    assert summary["bkt_max_abs_error"] >= 0.0
    assert set(summary["targets_met"]) == {
        "reduction_vs_fixed",
        "reduction_vs_random",
        "best_type_recovered",
        "bkt_max_abs_error",
    }
    assert out["per_seed"][0]["grade_mismatches"] == 0


def test_the_script_prints_json():
    cmd = [sys.executable, "scripts/bench_training_track.py", "--calibration", "--seeds", "1",
           "--trainees", "2", "--pilot-trainees", "10", "--images", "10"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    out = json.loads(done.stdout)
    assert out["seed_set"] == "calibration" and out["seeds"] == [0]
    assert {"adaptive", "fixed", "random"} <= set(out["minutes_to_ready"])
