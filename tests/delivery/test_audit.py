"""The audit's statistics: Wilson intervals, sample sizes, stratified plans, estimates."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.delivery.audit import (
    AuditPlan,
    estimate,
    plan_audit,
    sample_size,
    wilson,
)
from hitl_active.formats.core import ImageLabels


def test_wilson_matches_the_published_interval_and_stays_in_0_1():
    low, high = wilson(81, 263)  # Newcombe (1998), example: 0.2553-0.3662
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)
    wide, narrow = wilson(50, 100), wilson(50, 100, fraction=0.5)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_sample_size_gives_the_asked_width_and_never_more_than_the_class():
    n = sample_size(0.05)
    low, high = wilson(n // 2, n)
    assert (high - low) / 2 <= 0.05 and 370 <= n <= 390  # the textbook 385, give or take
    assert sample_size(0.05, population=100) < 100
    assert sample_size(0.05, population=10) == 10
    with pytest.raises(ValueError, match="half_width"):
        sample_size(0.7)


def _item(name, boxes, sources, cls=None):
    xyxy = np.array(boxes, np.float32).reshape(-1, 4)
    cid = np.zeros(len(xyxy), np.int64) if cls is None else np.array(cls, np.int64)
    return ImageLabels(name, 100, 100, xyxy, cid, box_meta=[{"source": s} for s in sources])


def test_a_plan_samples_each_class_apart_and_survives_a_round_trip():
    items = [_item(f"m{i}.jpg", [[0, 0, 10, 10]], ["model"]) for i in range(900)]
    items += [_item(f"h{i}.jpg", [[0, 0, 10, 10], [20, 20, 40, 40]], ["human", "human_accepted"])
              for i in range(40)]  # fmt: skip
    verified = {x.image for x in items if x.image.startswith("h")}
    plan = plan_audit(items, verified, half_width=0.05, seed=1)
    assert plan.population == {"human": 40, "corrected": 0, "accepted": 40, "model": 900,
                               "verified": 40, "model-only": 900}  # fmt: skip
    assert 35 <= len(plan.boxes["human"]) < 40  # the finite-population correction
    assert 250 <= len(plan.boxes["model"]) < 300
    assert {img for img, _ in plan.boxes["model"]} <= {x.image for x in items[:900]}
    assert AuditPlan.from_dict(plan.to_dict()) == plan
    assert plan_audit(items, verified, seed=1) == plan  # seeded


def test_estimates_count_confirmed_boxes_and_found_objects():
    truth = [[0, 0, 10, 10], [50, 50, 70, 70]]
    items = [
        _item("a.jpg", [[1, 0, 10, 10], [80, 80, 90, 90]], ["model", "model"]),  # 1 wrong
        _item("b.jpg", [[50, 50, 70, 70]], ["model"], cls=[1]),
    ]  # right box, wrong class
    plan = plan_audit(items, set(), half_width=0.05)
    reviewed = {
        "a.jpg": _item("a.jpg", truth, ["human"] * 2),
        "b.jpg": _item("b.jpg", [[50, 50, 70, 70]], ["human"]),
    }
    result = estimate(plan, {x.image: x for x in items}, reviewed)
    p = result["precision"]["model"]
    assert (p["confirmed"], p["inspected"], p["estimate"]) == (1, 3, 0.3333)
    assert p["low"] == p["high"] == 0.3333  # the whole class inspected: exact
    r = result["recall"]["model-only"]
    assert (r["confirmed"], r["inspected"]) == (1, 3)  # 1 of the 3 objects has a right box
    partial = estimate(plan, {x.image: x for x in items}, {"a.jpg": reviewed["a.jpg"]})
    assert partial["unreviewed"] == ["b.jpg"] and partial["precision"]["model"]["inspected"] == 2
