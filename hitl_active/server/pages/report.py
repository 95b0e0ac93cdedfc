"""The transparency report, exportable: per project the hours worked, the pay, the effective
wages (over everyone, and the lowest person's) and the training paid, as HTML and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from hitl_active.server.pages.fairwork import skipped
from hitl_active.server.pages.html import page, section, table

__all__ = ["COLUMNS", "transparency_csv", "transparency_html", "transparency_rows"]

COLUMNS = ("project", "currency", "people", "hours", "pay", "training_paid", "wage", "lowest_wage")
HEAD = (
    "project",
    "currency",
    "people",
    "hours",
    "pay",
    "training paid",
    "effective wage /h",
    "lowest wage /h",
)


def transparency_rows(work: Any) -> list[Any]:
    """The report's rows (:class:`hitl_active.workforce.transparency.ProjectFigures`)."""
    return [] if work is None else list(work.transparency)


def _cell(value: Any, digits: int = 2) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def transparency_csv(work: Any) -> str:
    """The report as CSV, one row per project (numbers with 2 decimals, hours with 3)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in transparency_rows(work):
        d = r.to_dict()
        writer.writerow([_cell(d[c], 3 if c == "hours" else 2) for c in COLUMNS])
    return out.getvalue()


def transparency_table(work: Any) -> str:
    rows = [
        [_cell(r.to_dict()[c], 3 if c == "hours" else 2) for c in COLUMNS]
        for r in transparency_rows(work)
    ]
    if not rows:
        return "<p>No paid work recorded yet.</p>"
    return table(HEAD, rows)


def transparency_html(ws: Any, work: Any) -> str:
    """The report as a page of its own (to save or print)."""
    note = (
        '<p class="note">Hours are active time (lead time plus the time between tasks, '
        "practice and skipped tasks included); the effective wage is pay ÷ active hours; "
        "training paid is the pay for practice tasks.</p>"
    )
    body = section(
        "Transparency report", note, skipped(work), transparency_table(work), id="transparency"
    )
    floors = [
        [f.location, f"{f.hourly:.2f}", f.currency, f.source, f.date]
        for f in (work.floors.values() if work is not None else ())
    ]
    rows = (
        table(["location", "hourly", "currency", "source", "as of"], floors)
        if floors
        else ("<p>No floors configured (work.floors in the workspace config).</p>")
    )
    body += section("Living-wage floors", rows, id="floors")
    return page(f"Transparency report — {ws.root.name}", "hitl-active: per project", [body])
