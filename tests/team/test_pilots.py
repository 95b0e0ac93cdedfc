"""A pilot's report on a workspace: the WHO-5 survey's answers before and after the start,
pilot against control, with the effect planted in them found."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from hitl_active.store import schema as t
from hitl_active.team.pilots import define_pilot, in_a_pilot, pilot_report
from hitl_active.workforce.pilot import who5_score
from hitl_active.workspace.workspace import LoopConfig, Workspace

DAY = 86400.0


@pytest.fixture
def ws(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(3):
        Image.new("RGB", (32, 24), (40 * i, 0, 0)).save(pool / f"{i}.jpg")
    cfg = LoopConfig(images=str(pool), classes=["a"], gold_size=0)
    with Workspace.create(tmp_path / "ws", cfg) as ws:
        yield ws


def _answer(ws, person_id: int, score: int, when: float) -> None:
    items = [score // 20] * 5  # WHO-5 answers that score `score`
    ws.store.add_wellbeing(person_id, items, who5_score(items))
    w = t.wellbeing
    with ws.store.transaction() as c:
        newest = c.execute(sa.select(sa.func.max(w.c.id))).scalar_one()
        c.execute(sa.update(w).where(w.c.id == newest).values(answered_at=when))


def test_the_report_finds_the_planted_well_being_effect(ws):
    rng = np.random.default_rng(3)
    names = [f"p{i}" for i in range(8)] + [f"c{i}" for i in range(8)]
    ids = {n: ws.store.add_annotator(n).id for n in names}
    start = time.time() - 10 * DAY
    define_pilot(ws, "rate", "rate x1.2", names[:8], names[8:], start, baseline_days=14)
    assert in_a_pilot(ws, ids["p0"]) and not in_a_pilot(ws, 10_000)
    for n in names:
        level = int(rng.integers(2, 4)) * 20  # 40 or 60
        lift = 20 if n.startswith("p") else 0  # the pilot's people answer one step higher
        _answer(ws, ids[n], level, start - 5 * DAY)
        _answer(ws, ids[n], level + lift, start + 5 * DAY)
    report = pilot_report(ws, "rate")
    who5 = next(e for e in report["effects"] if e["measure"].startswith("WHO-5"))
    assert who5["too_small"] is False and who5["estimate"] == pytest.approx(20.0)
    assert who5["pilot_n"] == who5["control_n"] == 8
    hours = next(e for e in report["effects"] if e["measure"] == "active hours per week")
    assert hours["estimate"] == pytest.approx(0.0)  # nobody worked in either period
    with pytest.raises(ValueError, match="exists"):
        define_pilot(ws, "rate", "again", names[:1], names[1:2], start)
    with pytest.raises(KeyError, match="no pilot named"):
        pilot_report(ws, "nope")
