"""Pay and effective wages on hand-built logs; the expected figures are worked out by hand."""

from datetime import date, datetime, timezone

import pytest

from hitl_active.workforce.hours import sessions
from hitl_active.workforce.pay import (
    PayModel,
    WageFloor,
    batch_estimate,
    implied_wage,
    load_floors,
    pay_for_period,
    task_times,
    wage_flags,
)
from hitl_active.workforce.worklog import WorkEvent

MODELS = {
    1: PayModel(1, "per_task", 0.25, "EUR", time_rate=12.0),
    2: PayModel(2, "hourly", 15.0, "EUR"),
    3: PayModel(3, "per_box", 0.05, "EUR", time_rate=12.0),
}
FLOOR = WageFloor("Lisbon", "EUR", 12.0, "PAI living-wage sheet", "2026-01-15")


def t(h: int, m: int, s: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, h, m, s, tzinfo=timezone.utc)


def ev(who, project, record, ended, lead, kind="annotation", **kw) -> WorkEvent:
    return WorkEvent(who, record, project, kind, record, ended, lead, **kw)


def pay(events, **kw):
    events = list(events)
    return pay_for_period(sessions(events), events, MODELS, **kw)


PIECE_RATE_DAY = [
    ev("ana", 1, 1, t(9, 1), 60),  # 9:00-9:01
    ev("ana", 1, 2, t(9, 3), 60),  # 9:02-9:03
    ev("ana", 1, 3, t(9, 5), 60),  # 9:04-9:05
    ev("ana", 1, 4, t(9, 7), 60, kind="skip"),  # 9:06-9:07
]


def test_per_task_pay_skips_paid_by_the_hour_and_the_wage_below_the_floor():
    p = pay(PIECE_RATE_DAY)["ana"]
    # one session 9:00-9:07 = 420 s with 240 s of lead time; the skip's share is a quarter
    assert p.active_seconds == 420
    assert p.tasks == 3
    assert p.parts == pytest.approx({"tasks": 0.75, "skipped": 105 / 3600 * 12})  # 0.35
    assert p.amount == pytest.approx(1.10)
    assert p.effective_wage == pytest.approx(1.10 * 3600 / 420)  # 9.43 EUR/h
    (flag,) = wage_flags({"ana": p}, {"Lisbon": FLOOR}, {"ana": "Lisbon"})
    assert (flag.kind, flag.limit) == ("wage_below_floor", 12.0)
    assert flag.value == pytest.approx(9.428571)
    assert "paid 1.10 EUR" in flag.message() and "0.12 active hours" in flag.message()
    assert "PAI living-wage sheet, 2026-01-15" in flag.message()


def test_wage_at_or_above_the_floor_is_not_flagged():
    p = pay(PIECE_RATE_DAY)["ana"]
    low = WageFloor("Porto", "EUR", 9.0, "sheet", "2026-01-15")
    assert wage_flags({"ana": p}, {"Porto": low}, {"ana": "Porto"}) == []
    # a floor in another currency cannot be compared: that person is flagged for a person to
    # look at, and everyone else's figures stand (the report is never refused whole)
    usd = WageFloor("X", "USD", 20, "s", "2026-01-01")
    bo = pay(PIECE_RATE_DAY)["ana"]
    flags = wage_flags(
        {"ana": p, "bo": bo}, {"X": usd, "Lisbon": FLOOR}, {"ana": "X", "bo": "Lisbon"}
    )
    assert [(f.annotator, f.kind) for f in flags] == [
        ("ana", "floor_currency"),
        ("bo", "wage_below_floor"),
    ]
    assert (
        "give the X floor in EUR" in flags[0].message() and "floor is in USD" in flags[0].message()
    )


def test_practice_is_paid_by_the_hour_at_the_practice_rate():
    events = [ev("bo", 2, 10, t(10, 10), 600, practice=True)]  # 10:00-10:10
    p = pay(events)["bo"]
    assert p.parts == pytest.approx({"practice": 2.50})  # 600 s at 15 EUR/h
    assert p.effective_wage == pytest.approx(15.0)
    # practice on a piece-rate project: its time rate, 12 EUR/h, not the piece rate
    events = [ev("bo", 1, 11, t(10, 10), 600, practice=True)]
    assert pay(events)["bo"].parts == pytest.approx({"practice": 2.00})


def test_unpaid_time_shows_as_a_zero_wage_and_pay_splits_by_project():
    draft = WorkEvent("ana", 9, 1, "draft", 90, t(9, 10), 600)  # 10 min, never submitted
    p = pay([draft])["ana"]
    assert (p.amount, p.effective_wage, p.currency) == (0.0, 0.0, "EUR")
    assert len(wage_flags({"ana": p}, {"Lisbon": FLOOR}, {"ana": "Lisbon"})) == 1
    events = [*PIECE_RATE_DAY, ev("ana", 2, 20, t(9, 9), 60, practice=True)]  # 9:08-9:09
    p = pay(events)["ana"]
    # one session 9:00-9:09 = 540 s, 300 s of lead: each 60 s of lead carries 108 s
    assert p.project_seconds == pytest.approx({1: 432, 2: 108})
    assert p.by_project[2] == pytest.approx({"practice": 108 / 3600 * 15})
    assert p.by_project[1] == pytest.approx({"tasks": 0.75, "skipped": 108 / 3600 * 12})


def test_per_box_pay_counts_the_latest_version_once():
    events = [
        ev("cy", 3, 5, t(9, 2), 120, boxes=10),  # 9:00-9:02
        ev("cy", 3, 5, t(9, 5), 180, boxes=12),  # reopened: 9:04-9:05, now 12 boxes
    ]
    p = pay(events)["cy"]
    assert (p.tasks, p.boxes, p.active_seconds) == (1, 12, 300)
    assert p.parts == pytest.approx({"boxes": 0.60})
    assert p.effective_wage == pytest.approx(7.20)


def test_hourly_pay_covers_every_active_second():
    events = [ev("di", 2, 7, t(9, 1), 60), ev("di", 2, 8, t(9, 4), 60)]  # 9:00-9:04
    p = pay(events)["di"]
    assert p.parts == pytest.approx({"hours": 240 / 3600 * 15})
    assert p.effective_wage == pytest.approx(15.0)


def test_period_takes_sessions_and_first_submissions_on_its_days():
    events = [ev("ana", 1, 1, t(9, 1, day=2), 60), ev("ana", 1, 2, t(9, 1, day=3), 60)]
    p = pay(events, days=(date(2026, 3, 3), date(2026, 3, 3)))["ana"]
    assert (p.tasks, p.active_seconds) == (1, 60)
    assert p.parts == pytest.approx({"tasks": 0.25})


def test_unknown_project_and_mixed_currencies_are_refused():
    with pytest.raises(ValueError, match="no pay model for project 9"):
        pay([ev("ana", 9, 1, t(9, 1), 60)])
    models = {**MODELS, 4: PayModel(4, "hourly", 20.0, "USD")}
    events = [ev("ana", 2, 1, t(9, 1), 60), ev("ana", 4, 2, t(9, 2), 60)]
    with pytest.raises(ValueError, match="paid in EUR and USD"):
        pay_for_period(sessions(events), events, models)


def test_pay_model_needs_a_time_rate_for_piece_rates():
    with pytest.raises(ValueError, match="needs time_rate"):
        PayModel(1, "per_task", 0.25, "EUR")
    with pytest.raises(ValueError, match="pay kind must be one of"):
        PayModel(1, "monthly", 1000.0, "EUR")


def test_pilot_implied_wage_and_time_shown_before_a_batch():
    pilot = [
        ev("ana", 1, 1, t(9, 1), 60),  # three tasks in 9:00-9:05: 100 s each with the time
        ev("ana", 1, 2, t(9, 3), 60),  # around them
        ev("ana", 1, 3, t(9, 5), 60),
        ev("ana", 1, 4, t(11, 0), 40),  # alone: 40 s
    ]
    seconds = task_times(sessions(pilot))
    assert sorted(seconds) == pytest.approx([40, 100, 100, 100])
    assert implied_wage(MODELS[1], seconds) == pytest.approx(9.00)  # 0.25 EUR per 100 s
    est = batch_estimate(MODELS[1], seconds, tasks=30)
    assert est.total_seconds == pytest.approx(3000)
    assert est.message().startswith("30 tasks, about 50 min (100 s each, from a pilot of 4")
    assert implied_wage(MODELS[3], seconds, boxes_per_task=[4, 6, 8]) == pytest.approx(10.80)
    with pytest.raises(ValueError, match="run a pilot batch first"):
        implied_wage(MODELS[1], [])


def test_floors_from_csv_and_yaml(tmp_path):
    csv = tmp_path / "floors.csv"
    csv.write_text(
        "location,currency,hourly,source,date\n"
        "Lisbon,EUR,6.10,PAI living-wage sheet,2026-01-15\n"
        "Nairobi,KES,310,Fairwork Kenya,2025-11-01\n"
    )
    floors = load_floors(csv)
    assert floors["Nairobi"] == WageFloor("Nairobi", "KES", 310.0, "Fairwork Kenya", "2025-11-01")
    yml = tmp_path / "floors.yaml"
    yml.write_text(
        "- {location: Lisbon, currency: EUR, hourly: 6.1, source: sheet, date: '2026-01-15'}\n"
    )
    assert load_floors(yml)["Lisbon"].hourly == 6.1


@pytest.mark.parametrize(
    "row, message",
    [
        ("Lisbon,EUR,,sheet,2026-01-15", "row 1: missing hourly"),
        ("Lisbon,EUR,six,sheet,2026-01-15", "hourly is a number"),
        ("Lisbon,EUR,6,sheet,15/01/2026", "date YYYY-MM-DD"),
    ],
)
def test_bad_floor_rows_say_which_row(tmp_path, row, message):
    path = tmp_path / "floors.csv"
    path.write_text(f"location,currency,hourly,source,date\n{row}\n")
    with pytest.raises(ValueError, match=message):
        load_floors(path)
