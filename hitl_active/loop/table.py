"""The round-by-round table that ``hitl-active loop`` and the demo print."""

from __future__ import annotations

from collections.abc import Sequence

from hitl_active.loop.rounds import RoundSummary

__all__ = ["format_table"]

HEADER = (
    f"{'round':>5} {'labelled':>8} {'annot-h':>8} {'mAP50-95':>9} {'mAP50':>7} "
    f"{'model':>6} {'promoted':>8}"
)


def format_table(rows: Sequence[RoundSummary], header: bool = True) -> str:
    """The round-by-round table (one line per round)."""

    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    lines = [HEADER, "-" * len(HEADER)] if header else []
    for r in rows:
        lines.append(
            f"{r.round_id:>5} {r.labelled:>8} {r.annotator_hours:>8.3f} {f(r.map50_95):>9} "
            f"{f(r.map50):>7} {r.model_version or '-':>6} {'yes' if r.promoted else 'no':>8}"
        )
    return "\n".join(lines)
