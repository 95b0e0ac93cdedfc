"""The active-learning loop: workspace and state store, rounds, retrain policies, demo.

``loop.simulate`` and ``loop.annotator`` (the simulated annotator and the offline
benchmark) are imported on their own.
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
from hitl_active.loop.store import SchemaTooNewError, Store
from hitl_active.loop.workspace import LoopConfig, Workspace, WorkspaceError

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
