"""The transparency report, exportable: per project the hours worked, the pay, the effective
wages (over everyone, and the lowest person's) and the training paid, as HTML
(``templates/pages/transparency.html``) and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from hitl_active.templates import render

__all__ = [
    "COLUMNS",
    "skipped_note",
    "transparency_cells",
    "transparency_csv",
    "transparency_html",
    "transparency_rows",
]

COLUMNS = ("project", "currency", "people", "hours", "pay", "training_paid", "wage", "lowest_wage")


def transparency_rows(work: Any) -> list[Any]:
    """The report's rows (:class:`hitl_active.workforce.transparency.ProjectFigures`)."""
    return [] if work is None else list(work.transparency)


def skipped_note(work: Any, annotator: str | None = None) -> str:
    """The note naming the stored rows left out of the figures (``annotator``'s only, when
    given); ``""`` when none were."""
    return "" if work is None else work.skipped_note(annotator)


def _cell(value: Any, digits: int = 2) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def transparency_cells(work: Any) -> list[list[str]]:
    """The report's table as text, a row per project in :data:`COLUMNS` order (numbers with
    2 decimals, hours with 3)."""
    return [
        [_cell(d[c], 3 if c == "hours" else 2) for c in COLUMNS]
        for d in (r.to_dict() for r in transparency_rows(work))
    ]


def transparency_csv(work: Any) -> str:
    """The report as CSV, one row per project (numbers with 2 decimals, hours with 3)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(transparency_cells(work))
    return out.getvalue()


def transparency_html(ws: Any, work: Any) -> str:
    """The report as a page of its own (to save or print)."""
    floors = [
        [f.location, f"{f.hourly:.2f}", f.currency, f.source, f.date]
        for f in (work.floors.values() if work is not None else ())
    ]
    return render(
        "pages/transparency.html",
        workspace=ws.root.name,
        skipped=skipped_note(work),
        rows=transparency_cells(work),
        floors=floors,
    )
