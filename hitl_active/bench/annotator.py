"""A simulated annotator: corrects pre-labels to the ground truth and logs the time it took.

Used by the benchmark (:mod:`hitl_active.bench.simulate`): the "human" is an oracle that
always ends at the true labels, while the time it is charged depends on how good the
pre-labels were, via :class:`hitl_active.sampling.cost.CostModel`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels
from hitl_active.sampling.cost import CorrectionCost, CostModel

__all__ = ["SimulatedAnnotator"]

logger = logging.getLogger(__name__)


class SimulatedAnnotator:
    """An oracle over ``truths`` (keyed by image key, e.g. its path).

    Args:
        truths: ground truth per image.
        cost_model: prices each correction.
        display_threshold: pre-labels shown to the annotator are boxes at or above it.
    """

    def __init__(
        self,
        truths: Mapping[str, ImageLabels],
        cost_model: CostModel | None = None,
        display_threshold: float = 0.25,
    ) -> None:
        self.truths = dict(truths)
        self.cost_model = cost_model or CostModel()
        self.display_threshold = float(display_threshold)
        self.total = CorrectionCost()

    def annotate(
        self, key: str, prelabels: Detections | None
    ) -> tuple[ImageLabels, CorrectionCost]:
        """The corrected labels of image ``key`` and what correcting them cost.

        ``prelabels`` are the model's detections (all candidates; only those above the
        display threshold are shown); ``None`` means the image is labelled from scratch.
        """
        try:
            truth = self.truths[key]
        except KeyError:
            raise KeyError(
                f"the simulated annotator has no ground truth for {key!r}; "
                "select only images of the dataset it was built from"
            ) from None
        if prelabels is None:
            shown: Detections | ImageLabels = ImageLabels(truth.image, truth.width, truth.height)
        else:
            shown = prelabels.above(self.display_threshold)
        cost = self.cost_model.cost_of_correction(shown, truth)
        self.total = self.total + cost
        logger.debug("annotated %s in %.1f s (%s)", key, cost.seconds, cost)
        return truth, cost
