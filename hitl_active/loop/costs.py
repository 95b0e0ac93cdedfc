"""The workspace's cost model: fitted to its recorded annotations once there are enough.

Every annotation the store holds with a lead time is one observation (its diff against
the pre-label gives the actions; see :mod:`hitl_active.sampling.cost_fit`). With at least
:data:`~hitl_active.sampling.cost_fit.MIN_ANNOTATIONS` of them the loop prices images with
the fitted seconds; before that, with the published defaults of
:class:`~hitl_active.sampling.cost.CostModel`. ``hitl-active cost fit`` shows the fit with
intervals and keeps it in the workspace (store key ``cost_fit``).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from hitl_active.sampling.cost import CostModel
from hitl_active.sampling.cost_fit import MIN_ANNOTATIONS, CostFit, counts_from_diff, fit_costs
from hitl_active.workspace.workspace import Workspace

__all__ = ["FIT_KEY", "annotation_log", "fit_workspace", "workspace_cost_model"]

logger = logging.getLogger(__name__)

FIT_KEY = "cost_fit"


def annotation_log(ws: Workspace) -> tuple[np.ndarray, np.ndarray]:
    """``(counts (n, 6), seconds (n,))`` of the current annotations that have a lead time
    (a positive, finite one: a row stored before the intake checks may hold anything)."""
    rows = [
        a for a in ws.store.annotations() if a.lead_time is not None and 0 < a.lead_time < math.inf
    ]
    counts = np.array([counts_from_diff(a.diff, len(a.boxes)) for a in rows]).reshape(-1, 6)
    return counts, np.array([float(a.lead_time or 0.0) for a in rows], np.float64)


def fit_workspace(ws: Workspace, n_boot: int = 200, seed: int | None = None) -> CostFit | None:
    """The fit of ``ws``'s annotations, or None when fewer than ``MIN_ANNOTATIONS`` have times."""
    counts, seconds = annotation_log(ws)
    if len(seconds) < MIN_ANNOTATIONS:
        return None
    rng = np.random.default_rng(ws.config.seed if seed is None else seed)
    return fit_costs(counts, seconds, rng, n_boot=n_boot)


def workspace_cost_model(ws: Workspace) -> CostModel:
    """The model the loop budgets with: fitted when there are enough annotations."""
    fit = fit_workspace(ws, n_boot=0)
    if fit is None:
        return CostModel()
    logger.info("pricing images with seconds fitted to %d annotations", fit.n_annotations)
    return fit.cost_model()
