"""The records the workforce estimators read: annotators' answers and gold truth.

Boxes are :class:`hitl_active.formats.core.ImageLabels` (pixels, xyxy, class ids), the same
type the format converters and the Label Studio pull produce, so an answer pulled from Label
Studio (or made by a simulated annotator) is scored without conversion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from hitl_active.formats.core import ImageLabels

__all__ = ["Answer", "Gold", "by_annotator", "by_image"]

Gold = Mapping[str, ImageLabels]
"""Gold truth per image key (the same key as :attr:`Answer.image`)."""


@dataclass(frozen=True)
class Answer:
    """One annotator's submitted labels for one image.

    Attributes:
        annotator: who answered (a stable id, e.g. the Label Studio user's email or id).
        labels: the boxes they submitted; ``labels.image`` is the image key.
        prelabel: the pre-label the task started from (what the model showed), or ``None``.
        seconds: time spent on the task (Label Studio's ``lead_time``), ``None`` if unknown.
    """

    annotator: str
    labels: ImageLabels
    prelabel: ImageLabels | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.annotator, str) or not self.annotator:
            raise ValueError(f"Answer.annotator must be a non-empty string, got {self.annotator!r}")
        if not isinstance(self.labels, ImageLabels):
            raise TypeError(
                f"Answer.labels must be ImageLabels, got {type(self.labels).__name__}; "
                "convert the result with hitl_active.formats first"
            )
        if self.prelabel is not None and self.prelabel.image != self.labels.image:
            raise ValueError(
                f"Answer by {self.annotator!r}: pre-label is for {self.prelabel.image!r} but the "
                f"labels are for {self.labels.image!r}; pass the pre-label of the same image"
            )
        if self.seconds is not None and not (np.isfinite(self.seconds) and self.seconds >= 0):
            raise ValueError(
                f"Answer by {self.annotator!r} on {self.labels.image!r}: seconds must be a "
                f"finite number >= 0 or None, got {self.seconds!r}"
            )

    @property
    def image(self) -> str:
        return self.labels.image


def by_annotator(answers: Iterable[Answer]) -> dict[str, list[Answer]]:
    """Answers grouped by annotator, in the order given."""
    out: dict[str, list[Answer]] = {}
    for a in answers:
        out.setdefault(a.annotator, []).append(a)
    return out


def by_image(answers: Iterable[Answer]) -> dict[str, list[Answer]]:
    """Answers grouped by image key; an annotator answering an image twice is an error."""
    out: dict[str, list[Answer]] = {}
    for a in answers:
        group = out.setdefault(a.image, [])
        if any(b.annotator == a.annotator for b in group):
            raise ValueError(
                f"{a.annotator!r} answered {a.image!r} twice; keep only their latest answer"
            )
        group.append(a)
    return out
