"""Retrain policies: small objects with one method, ``should_retrain(state) -> bool``.

Modelled on baal's stopping criteria. The loop builds a :class:`LoopState` after the
annotations of a round are in and asks the policy whether to train a new version now.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = [
    "AnyOf",
    "EveryNAnnotations",
    "EveryRound",
    "LoopState",
    "OnDemand",
    "RetrainPolicy",
    "policy_from_config",
]


@dataclass(frozen=True)
class LoopState:
    """What a policy may look at.

    Attributes:
        round_id: the round being finished.
        labelled: images with a current human annotation (gold set excluded).
        new_annotations: of those, how many arrived since the last trained version.
        has_model: whether any version is promoted yet.
        requested: someone asked for a retrain (``hitl-active loop --retrain-now``).
    """

    round_id: int
    labelled: int
    new_annotations: int
    has_model: bool
    requested: bool = False


class RetrainPolicy(ABC):
    """Decides whether to train a new model version now."""

    @abstractmethod
    def should_retrain(self, state: LoopState) -> bool: ...

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class EveryRound(RetrainPolicy):
    """Retrain after every round that brought new annotations."""

    def should_retrain(self, state: LoopState) -> bool:
        return state.new_annotations > 0 or state.requested


class EveryNAnnotations(RetrainPolicy):
    """Retrain once ``n`` new annotations have arrived since the last version."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"EveryNAnnotations needs n >= 1, got {n}")
        self.n = n

    def should_retrain(self, state: LoopState) -> bool:
        return state.new_annotations >= self.n or state.requested


class OnDemand(RetrainPolicy):
    """Retrain only when asked to."""

    def should_retrain(self, state: LoopState) -> bool:
        return state.requested and state.labelled > 0


class AnyOf(RetrainPolicy):
    """Retrain when any of the given policies says so."""

    def __init__(self, *policies: RetrainPolicy) -> None:
        if not policies:
            raise ValueError("AnyOf needs at least one policy")
        self.policies = policies

    def should_retrain(self, state: LoopState) -> bool:
        return any(p.should_retrain(state) for p in self.policies)


def policy_from_config(retrain_every: int, on_demand_only: bool = False) -> RetrainPolicy:
    """``retrain_every`` 0: every round; N: every N new annotations."""
    if on_demand_only:
        return OnDemand()
    return EveryRound() if retrain_every <= 0 else EveryNAnnotations(retrain_every)
