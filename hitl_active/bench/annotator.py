"""A simulated annotator: corrects pre-labels to the ground truth and logs the time it took.

Used by the benchmark (:mod:`hitl_active.bench.simulate`): the "human" is an oracle that
always ends at the true labels, while the time it is charged depends on how good the
pre-labels were, via :class:`hitl_active.sampling.cost.CostModel`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from hitl_active.boxes import box_iou
from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels
from hitl_active.sampling.cost import CorrectionCost, CostModel
from hitl_active.sampling.review import shown_items

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
        truth = self._truth(key)
        if prelabels is None:
            shown: Detections | ImageLabels = ImageLabels(truth.image, truth.width, truth.height)
        else:
            shown = prelabels.above(self.display_threshold)
        cost = self.cost_model.cost_of_correction(shown, truth)
        self.total = self.total + cost
        logger.debug("annotated %s in %.1f s (%s)", key, cost.seconds, cost)
        return truth, cost

    def review(
        self, key: str, parts: Mapping[str, Detections]
    ) -> tuple[ImageLabels, CorrectionCost, tuple[int, int]]:
        """A box-level review of image ``key``: the labels it leaves to train on, its cost,
        and of the check items how many were right (an object of that class there) of how
        many (:func:`~hitl_active.sampling.review.trust_unchecked` reads them).

        ``parts`` is :meth:`~hitl_active.sampling.review.ReviewPlan.for_image`'s split. The
        check and fix items go to the annotator, who turns each into its true box or deletes
        it (:meth:`~hitl_active.sampling.cost.CostModel.cost_of_review`); the unchecked
        sure boxes stay as the model drew them (``source: model``); the unasked uncertain
        regions are ``ignore`` boxes, masked in training. Objects no item points at are
        not looked for, so they stay unlabelled.
        """
        truth = self._truth(key)
        items = shown_items(dict(parts))[0]
        cost, matched = self.cost_model.cost_of_review(items, truth, len(parts["check"]))
        self.total = self.total + cost
        xyxy: list[np.ndarray] = []
        cls: list[int] = []
        meta: list[dict] = []
        for i, t in enumerate(matched):
            if t is None:
                continue
            same = bool(items.class_id[i] == truth.class_id[t])
            iou = float(box_iou(items.xyxy[i : i + 1], truth.xyxy[t : t + 1])[0, 0])
            kept = same and iou >= self.cost_model.accept_iou
            xyxy.append(items.xyxy[i] if kept else truth.xyxy[t])
            cls.append(int(truth.class_id[t]))
            meta.append({"source": "human_accepted" if kept else "human_corrected"})
        for name, extra in (("unchecked", {"source": "model"}),
                            ("ignored", {"source": "model", "ignore": True})):  # fmt: skip
            det = parts[name]
            for i in range(len(det)):
                xyxy.append(det.xyxy[i])
                cls.append(int(det.class_id[i]))
                meta.append(dict(extra))
        labels = ImageLabels(
            truth.image, truth.width, truth.height,
            np.asarray(xyxy, np.float32).reshape(-1, 4), np.asarray(cls, np.int64), box_meta=meta,
        )  # fmt: skip
        checks = len(parts["check"])
        right = sum(
            t is not None and int(items.class_id[i]) == int(truth.class_id[t])
            for i, t in enumerate(matched[:checks])
        )
        logger.debug("reviewed %d items of %s in %.1f s", len(items), key, cost.seconds)
        return labels, cost, (right, checks)

    def _truth(self, key: str) -> ImageLabels:
        try:
            return self.truths[key]
        except KeyError:
            raise KeyError(
                f"the simulated annotator has no ground truth for {key!r}; "
                "select only images of the dataset it was built from"
            ) from None
