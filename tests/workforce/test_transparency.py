"""Transparency figures per project on a hand-built week; figures worked out by hand."""

import pytest
from test_pay import PIECE_RATE_DAY, ev, pay, t

from hitl_active.workforce.transparency import ProjectFigures, transparency


def test_rows_per_project_add_up_and_show_training_paid():
    events = [
        *PIECE_RATE_DAY,  # ana, per task: 9:00-9:07
        ev("ana", 2, 20, t(9, 9), 60, practice=True),  # ana, practice 9:08-9:09
        ev("bo", 2, 30, t(9, 1), 60),  # bo, hourly: 9:00-9:01 and 9:03-9:04
        ev("bo", 2, 31, t(9, 4), 60),
    ]
    pays = pay(events)
    rows = transparency(pays)
    # ana: one session of 540 s, 300 s of lead: 432 s on project 1 (1.11 EUR), 108 s practice
    # on project 2 (0.45 EUR at 15/h); bo: 240 s on project 2 (1.00 EUR)
    assert rows[0] == ProjectFigures(
        1, "EUR", 1, pytest.approx(0.12), pytest.approx(1.11), 0.0, pytest.approx(9.25),
        pytest.approx(9.25),
    )  # fmt: skip
    assert rows[1] == ProjectFigures(
        2, "EUR", 2, pytest.approx(348 / 3600), pytest.approx(1.45), pytest.approx(0.45),
        pytest.approx(15.0), pytest.approx(15.0),
    )  # fmt: skip
    active = sum(p.active_seconds for p in pays.values())
    assert sum(r.hours for r in rows) == pytest.approx(active / 3600)
    assert sum(r.pay for r in rows) == pytest.approx(sum(p.amount for p in pays.values()))
