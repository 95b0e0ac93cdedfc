"""Pilots of working conditions: define one, and report its effect on people and client.

A pilot names a change (a higher rate, a daily cap, paid breaks, the training track), the
annotators who get it and a control group who do not, and when it starts (and ends). Its
report compares each measure per person before the start (``baseline_days``) and after it,
pilot against control, by difference in differences
(:func:`hitl_active.workforce.pilot.did_estimate`):

* well-being: the WHO-5 score of the short survey on the person's own page (consented,
  optional, kept under a pseudonym, never shown per person to a manager; figures of fewer
  than :data:`~hitl_active.workforce.pilot.MIN_GROUP` people are withheld);
* the work figures the project already has: active hours per week, the share of tasks
  skipped, and tasks done per active hour (the client's side: annotator time per task).

Setting up a pilot changes no one's pay or caps: the change itself is made as usual (the
work settings in ``hitl-active.yaml``); the pilot records what was tried and measures it.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from hitl_active.team.team_work import work_sessions
from hitl_active.workforce.pilot import MIN_GROUP, did_estimate
from hitl_active.workspace.workspace import Workspace

__all__ = ["define_pilot", "in_a_pilot", "pilot_report"]

DAY = 86400.0
MEASURES = ("WHO-5 well-being (0-100)", "active hours per week", "share of tasks skipped",
            "tasks per active hour")  # fmt: skip


def define_pilot(
    ws: Workspace, name: str, change: str, pilot: list[str], control: list[str],
    start: float, end: float | None = None, baseline_days: int = 14,
) -> dict[str, Any]:  # fmt: skip
    """Record a pilot; people are named as ``hitl-active annotators`` names them.

    Raises:
        ValueError: an unknown person, one in both groups, an empty group, a name taken or
            an end before the start.
    """
    if any(p["name"] == name for p in ws.store.pilots()):
        raise ValueError(f"a pilot named {name!r} exists; pick another name")
    ids = {}
    for who in [*pilot, *control]:
        person = ws.store.annotator(who)
        if person is None:
            raise ValueError(f"no annotator {who!r}; `hitl-active annotators` lists them")
        ids[who] = person.id
    both = set(pilot) & set(control)
    if both:
        raise ValueError(f"{sorted(both)} cannot be in the pilot and the control group at once")
    if not pilot or not control:
        raise ValueError("a pilot needs people in both groups (--group and --control)")
    if end is not None and end <= start:
        raise ValueError("the pilot ends before it starts")
    ws.store.add_pilot(name, change, [ids[p] for p in pilot], [ids[c] for c in control],
                       start, end, baseline_days)  # fmt: skip
    return next(p for p in ws.store.pilots() if p["name"] == name)


def in_a_pilot(ws: Workspace, annotator_id: int, now: float | None = None) -> bool:
    """Whether the person is in a pilot (either group) whose measuring time is running."""
    now = time.time() if now is None else now
    for p in ws.store.pilots():
        opens = p["start"] - p["baseline_days"] * DAY
        running = opens <= now and (p["end"] is None or now <= p["end"] + 7 * DAY)
        if running and annotator_id in (*p["pilot_group"], *p["control_group"]):
            return True
    return False


def _window_values(ws: Workspace, ids: list[int], windows, sessions) -> dict[str, dict]:
    """Per measure, person (id) -> (before, after) in the two windows."""
    names = {i: ws.store.annotator(i).name for i in ids}  # type: ignore[union-attr]
    out: dict[str, dict] = {m: {} for m in MEASURES}
    for i in ids:
        pairs: dict[str, list] = {m: [None, None] for m in MEASURES}
        scores = ws.store.wellbeing(i)
        for k, (lo, hi) in enumerate(windows):
            mine = [s["score"] for s in scores if lo <= s["answered_at"] < hi]
            pairs[MEASURES[0]][k] = sum(mine) / len(mine) if mine else None
            ss = [s for s in sessions if s.annotator == names[i] and lo <= s.start.timestamp() < hi]
            active = sum(s.active_seconds for s in ss)
            weeks = max((hi - lo) / (7 * DAY), 1 / 7)
            done = sum(p.kind == "annotation" and not p.practice for s in ss for p in s.pieces)
            skipped = sum(p.kind == "skip" and not p.practice for s in ss for p in s.pieces)
            pairs[MEASURES[1]][k] = active / 3600 / weeks
            pairs[MEASURES[2]][k] = skipped / (done + skipped) if done + skipped else None
            pairs[MEASURES[3]][k] = done / (active / 3600) if active > 0 else None
        for m in MEASURES:
            out[m][str(i)] = tuple(pairs[m])
    return out


def pilot_report(ws: Workspace, name: str, now: float | None = None) -> dict[str, Any]:
    """The pilot's effect on each measure, with intervals, and its groups' sizes.

    Raises:
        KeyError: no pilot of that name.
    """
    pilot = next((p for p in ws.store.pilots() if p["name"] == name), None)
    if pilot is None:
        known = [p["name"] for p in ws.store.pilots()]
        raise KeyError(f"no pilot named {name!r}; pilots: {known or 'none yet'}")
    now = time.time() if now is None else now
    start, end = pilot["start"], min(pilot["end"] or now, now)
    windows = [(start - pilot["baseline_days"] * DAY, start), (start, end)]
    sessions = work_sessions(ws)
    values = {g: _window_values(ws, pilot[f"{g}_group"], windows, sessions)
              for g in ("pilot", "control")}  # fmt: skip
    effects = [did_estimate(m, values["pilot"][m], values["control"][m]) for m in MEASURES]
    day = lambda t: datetime.fromtimestamp(t, tz=timezone.utc).date().isoformat()  # noqa: E731
    return {
        "pilot": name, "change": pilot["change"],
        "before": [day(windows[0][0]), day(windows[0][1])],
        "after": [day(windows[1][0]), day(windows[1][1])],
        "groups": {"pilot": len(pilot["pilot_group"]), "control": len(pilot["control_group"])},
        "min_group": MIN_GROUP,
        "effects": [e.to_dict() | {"says": e.sentence()} for e in effects],
    }  # fmt: skip
