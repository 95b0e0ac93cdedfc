"""A loop waiting hours for annotations says so when something changes, not every poll."""

from __future__ import annotations

import logging

from hitl_active.loop import backends
from hitl_active.loop.backends import WaitingLog


def test_waiting_is_said_when_the_count_changes_or_a_minute_passed(caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(backends.time, "monotonic", lambda: clock[0])
    waiting = WaitingLog("tasks")
    with caplog.at_level(logging.INFO, logger="hitl_active.loop.backends"):
        for pending in (5, 5, 5, 4, 4):  # polls five seconds apart
            waiting(3, pending)
            clock[0] += 5
        clock[0] += 60
        waiting(3, 4)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "round 3: waiting for 5 tasks in Label Studio",
        "round 3: waiting for 4 tasks in Label Studio",
        "round 3: waiting for 4 tasks in Label Studio",
    ]
