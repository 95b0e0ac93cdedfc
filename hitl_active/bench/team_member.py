"""A simulated annotator with planted skills, answering the loop's tasks as a team member.

:class:`hitl_active.bench.simulated_annotator.SimulatedAnnotator` answers an image given its
truth; the loop's backends ask an annotator for ``annotate(key, prelabels)`` (see
:class:`hitl_active.loop.backends.Annotator`). :class:`PlantedMember` joins the two: it looks
the truth up by image key, shows the pre-labels above the display threshold, and returns the
answer's labels and seconds. Used with :class:`hitl_active.team.team.SimulatedMember` to let
simulated people work their Label Studio queues.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hitl_active.bench.simulated_annotator import SimulatedAnnotator
from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels

__all__ = ["PlantedMember"]


class PlantedMember:
    """``sim`` answering images whose truths are ``truths`` (by image key)."""

    def __init__(
        self,
        sim: SimulatedAnnotator,
        truths: Mapping[str, ImageLabels],
        display_threshold: float,
        rng: np.random.Generator,
    ) -> None:
        self.sim, self.truths = sim, dict(truths)
        self.display_threshold, self.rng = float(display_threshold), rng

    def annotate(self, key: str, prelabels: Detections | None) -> tuple[ImageLabels, float]:
        try:
            truth = self.truths[key]
        except KeyError:
            raise KeyError(f"{self.sim.name}: no truth for image {key!r}") from None
        shown = None
        if prelabels is not None:
            d = prelabels.above(self.display_threshold)
            shown = ImageLabels(
                key, truth.width, truth.height, d.xyxy, d.class_id, scores=d.confidence
            )
        answer = self.sim.annotate(truth, self.rng, shown)
        return answer.labels, float(answer.seconds or 0.0)
