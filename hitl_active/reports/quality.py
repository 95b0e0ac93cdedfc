"""The delivery's measured quality as people read it: where the newest audit estimate is
kept in the state store and its rows, shared by the dataset card and the report."""

from __future__ import annotations

from typing import Any

__all__ = ["AUDIT_RESULT_KEY", "quality_rows"]

#: The newest audit estimate (``hitl_active.delivery.audit.estimate``) in the store's kv.
AUDIT_RESULT_KEY = "audit.result"

HEAD = ("figure", "class", "estimate", "95% interval", "inspected", "of")


def quality_rows(result: dict[str, Any]) -> list[list[str]]:
    """One row per figure with anything inspected: precision per box class, then recall per
    image class."""
    rows = []
    for kind, unit, of in (("precision", "boxes", "boxes"), ("recall", "objects", "images")):
        for c, f in result[kind].items():
            if not f["inspected"]:
                continue
            rows.append([kind, c, f"{f['estimate']:.1%}", f"{f['low']:.1%}–{f['high']:.1%}",
                         f"{f['inspected']} {unit}", f"{f['population']} {of}"])  # fmt: skip
    return rows
