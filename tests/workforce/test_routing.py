"""Routing by skill: hard frames to the skilled, easy ones to trainees, overlap, honeypots."""

from collections import Counter

import numpy as np
import pytest

from hitl_active.workforce.routing import POOLED, Frame, Person, plan_round


def _frames(n: int, classes=(0,)) -> list[Frame]:
    return [Frame(i, uncertainty=1.0 - i / n, classes=classes) for i in range(n)]


def test_the_hardest_frames_go_to_whoever_is_best_on_their_class():
    frames = [Frame(1, 0.9, (0,)), Frame(2, 0.8, (1,)), Frame(3, 0.1, (0,)), Frame(4, 0.05, (1,))]
    people = [
        Person("cat-expert", skill={0: 0.95, 1: 0.5}),
        Person("dog-expert", skill={0: 0.5, 1: 0.95}),
    ]
    plan = plan_round(
        frames, people, overlap_share=0, honeypot_share=0, rng=np.random.default_rng(0)
    )
    who = {a.image_id: a.annotator for a in plan}
    assert who[1] == "cat-expert" and who[2] == "dog-expert"
    assert Counter(who.values()) == {"cat-expert": 2, "dog-expert": 2}  # even load


def test_trainees_get_easy_frames_only_and_first():
    people = [
        Person("pro", skill={POOLED: 0.9}),
        Person("new", tier="trainee", skill={POOLED: 0.4}),
    ]
    plan = plan_round(_frames(10), people, overlap_share=0, honeypot_share=0,
                      rng=np.random.default_rng(0))  # fmt: skip
    trainee = sorted(a.image_id for a in plan if a.annotator == "new")
    assert trainee and min(trainee) >= 5  # frames 0-4 are the harder half
    assert len(plan) == 10 and len({a.image_id for a in plan}) == 10


def test_overlap_gives_a_share_of_frames_to_three_different_people():
    people = [Person(f"a{i}", skill={POOLED: 0.8}) for i in range(4)]
    plan = plan_round(_frames(20), people, overlap_share=0.1, overlap_k=3, honeypot_share=0,
                      rng=np.random.default_rng(1))  # fmt: skip
    per_frame = Counter(a.image_id for a in plan)
    overlapped = [i for i, n in per_frame.items() if n > 1]
    assert len(overlapped) == 2 and all(per_frame[i] == 3 for i in overlapped)
    for i in overlapped:
        assert len({a.annotator for a in plan if a.image_id == i}) == 3
        assert {a.kind for a in plan if a.image_id == i} == {"overlap"}


def test_honeypots_are_a_share_of_each_queue_and_never_an_image_seen_before():
    people = [Person("a"), Person("b")]
    gold = list(range(100, 130))
    seen = {"a": {100, 101, 102}}
    plan = plan_round(_frames(18), people, gold, seen, overlap_share=0, honeypot_share=0.1,
                      rng=np.random.default_rng(2))  # fmt: skip
    for name in ("a", "b"):
        tasks = [p for p in plan if p.annotator == name and p.kind == "task"]
        pots = [p.image_id for p in plan if p.annotator == name and p.kind == "honeypot"]
        assert len(pots) == 1 and len(tasks) == 9  # 10% of a 10-item queue
        assert set(pots) <= set(gold) and not set(pots) & seen.get(name, set())


def test_nobody_to_route_to_is_a_clear_error():
    with pytest.raises(ValueError, match="annotators add"):
        plan_round(_frames(3), [], rng=np.random.default_rng(0))
