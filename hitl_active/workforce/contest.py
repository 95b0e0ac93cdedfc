"""Contesting gold items: an annotator who thinks a gold answer is wrong contests it.

A contested item is left out of that annotator's gold scores until a reviewer re-checks it:
either the gold is upheld (the item counts again) or corrected (the corrected truth replaces
the gold for everyone). Pure functions over records; storing them is the caller's part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.records import Gold

__all__ = ["ContestStatus", "GoldContest", "apply_reviews", "contest", "excluded", "review"]


class ContestStatus(str, Enum):
    CONTESTED = "contested"
    UPHELD = "upheld"
    CORRECTED = "corrected"


@dataclass(frozen=True)
class GoldContest:
    annotator: str
    image: str
    reason: str
    status: ContestStatus = ContestStatus.CONTESTED
    reviewer: str | None = None
    corrected: ImageLabels | None = None


def contest(annotator: str, image: str, reason: str, gold: Gold) -> GoldContest:
    """A new contest of the gold answer on ``image``."""
    if image not in gold:
        raise ValueError(f"{image!r} is not a gold item; only gold items can be contested")
    if not reason.strip():
        raise ValueError("say why the gold answer looks wrong (reason is empty)")
    return GoldContest(annotator, image, reason.strip())


def review(c: GoldContest, reviewer: str, corrected: ImageLabels | None = None) -> GoldContest:
    """The reviewer's decision: ``corrected=None`` upholds the gold, else replaces it."""
    if c.status is not ContestStatus.CONTESTED:
        raise ValueError(
            f"the contest of {c.image!r} by {c.annotator!r} is already {c.status.value}"
        )
    if corrected is not None and corrected.image != c.image:
        raise ValueError(f"the correction is for {corrected.image!r}, not {c.image!r}")
    status = ContestStatus.UPHELD if corrected is None else ContestStatus.CORRECTED
    return replace(c, status=status, reviewer=reviewer, corrected=corrected)


def excluded(contests: Iterable[GoldContest]) -> set[tuple[str, str]]:
    """``(annotator, image)`` pairs to leave out of scoring: contests not yet reviewed."""
    return {(c.annotator, c.image) for c in contests if c.status is ContestStatus.CONTESTED}


def apply_reviews(gold: Gold, contests: Iterable[GoldContest]) -> dict[str, ImageLabels]:
    """The gold with every corrected item replaced by its correction."""
    out = dict(gold)
    for c in contests:
        if c.status is ContestStatus.CORRECTED and c.corrected is not None:
            out[c.image] = c.corrected
    return out
