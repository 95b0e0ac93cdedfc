"""The active-learning loop: rounds, steps, retrain policies, backends and the model registry.

The workspace is in :mod:`hitl_active.workspace`, its state store in :mod:`hitl_active.store`
(``Workspace``, ``LoopConfig`` and ``Store`` are re-exported here as before).

The simulated annotator, the offline benchmark and the demo are in :mod:`hitl_active.bench`.
"""

from hitl_active.loop.backends import LabelStudioBackend, LocalBackend
from hitl_active.loop.policy import (
    AnyOf,
    EveryNAnnotations,
    EveryRound,
    LoopState,
    OnDemand,
    RetrainPolicy,
)
from hitl_active.loop.rounds import STEPS, Loop, RoundSummary
from hitl_active.store.store import SchemaTooNewError, Store
from hitl_active.workspace.workspace import LoopConfig, Workspace, WorkspaceError

__all__ = [
    "STEPS",
    "AnyOf",
    "EveryNAnnotations",
    "EveryRound",
    "LabelStudioBackend",
    "LocalBackend",
    "Loop",
    "LoopConfig",
    "LoopState",
    "OnDemand",
    "RetrainPolicy",
    "RoundSummary",
    "SchemaTooNewError",
    "Store",
    "Workspace",
    "WorkspaceError",
]
