import json

import numpy as np
from workforce_truths import annotator, make_truths

from hitl_active.workforce.flags import flag_skills
from hitl_active.workforce.gold import score_gold
from hitl_active.workforce.report import annotator_report


def test_an_annotator_sees_every_figure_and_flag_about_them():
    truths = make_truths(100, seed=12)
    gold = {t.image: t for t in truths}
    rng = np.random.default_rng(0)
    people = [annotator(f"p{i}", r) for i, r in enumerate([0.9, 0.9, 0.92, 0.5])]
    skills = score_gold([p.annotate(t, rng) for p in people for t in truths], gold)
    flags = flag_skills(skills)
    names = {0: "circle", 1: "square", 2: "cross"}
    mine = json.loads(json.dumps(annotator_report("p3", skills, None, flags, names)))
    assert set(mine["gold"]["per_class"]) == {"all", "circle", "square", "cross"}
    recall = mine["gold"]["per_class"]["all"]["recall"]
    assert recall["low"] <= recall["value"] <= recall["high"]
    assert mine["flags"] and all("interval" in f["message"] for f in mine["flags"])
    assert mine["overlap"] is None
    other = annotator_report("p0", skills, None, flags, names)
    assert other["flags"] == []  # others' flags are not shown to p0
    assert "img0" not in json.dumps(mine)  # no image keys: gold items stay unrevealed
