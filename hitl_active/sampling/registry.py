"""Strategy names → strategies, with an error that lists the valid names.

Names:

- ``random``
- ``{least-confidence,margin,entropy}-{max,mean,sum}``: box uncertainty per image
- ``flip-stability``: localisation instability under a horizontal flip (2 inference passes)
- ``coreset``: k-center greedy on image embeddings
- ``hybrid``: top ``4 x budget`` by entropy-mean, then k-center greedy among them;
  ``hybrid-<uncertainty name>`` picks another shortlist score (e.g. ``hybrid-margin-max``)
- ``class-balance``: rank by predicted rare-class presence

Any score strategy or hybrid takes a ``+class-balance`` suffix to boost rare-class images,
e.g. ``entropy-mean+class-balance`` or ``hybrid+class-balance``. Any score strategy (boosted
or not) then takes ``+per-second`` to rank by information per expected annotator-second
(:class:`~hitl_active.sampling.time_aware.PerSecond`, option ``beta``), e.g.
``entropy-sum+class-balance+per-second``; ``time-aware`` names that one with a class-balance
``alpha`` of 2 and ``beta`` 0.5. Or it takes ``+knapsack`` (``+knapsack-<share>``) to fill the
batch as a knapsack: the most information whose expected seconds stay within ``share``
(default 1) of an average batch's (:class:`~hitl_active.sampling.knapsack.Knapsack`).
``entropy-sum+knapsack`` is the default: the one measured to beat random on annotator-hours
(README, "Active learning").
"""

from __future__ import annotations

import re
from typing import Any

from hitl_active.sampling.balance import ClassBalance
from hitl_active.sampling.base import RandomStrategy, ScoreStrategy, Strategy
from hitl_active.sampling.diversity import CoreSet, Hybrid
from hitl_active.sampling.knapsack import Knapsack
from hitl_active.sampling.time_aware import PerSecond
from hitl_active.sampling.uncertainty import (
    Aggregation,
    BoxUncertainty,
    FlipStability,
    UncertaintyStrategy,
)

__all__ = ["DEFAULT_STRATEGY", "available_strategies", "get_strategy"]

# The one measured to beat random on annotator-hours (README, "Active learning"): entropy-sum's
# information (it finds the rare class) within an average batch's annotator-seconds.
DEFAULT_STRATEGY = "entropy-sum+knapsack"
_BOOST = "+class-balance"
_PER_SECOND = "+per-second"
_KNAPSACK = re.compile(r"\+knapsack(?:-(\d+(?:\.\d+)?))?$")
#: the time-aware strategy's full name and options
TIME_AWARE = ("entropy-sum+class-balance+per-second", {"alpha": 2.0, "beta": 0.5})


def _uncertainty_names() -> list[str]:
    return [f"{m.value}-{a.value}" for m in BoxUncertainty for a in Aggregation]


def available_strategies() -> list[str]:
    """Every base name :func:`get_strategy` accepts (any of them may add ``+class-balance``)."""
    return [
        "random",
        *_uncertainty_names(),
        "flip-stability",
        "coreset",
        "hybrid",
        *(f"hybrid-{n}" for n in _uncertainty_names()),
        "class-balance",
        "time-aware",
        DEFAULT_STRATEGY,
    ]


def _score_strategy(name: str, options: dict[str, Any]) -> ScoreStrategy | None:
    if name == "random":
        return RandomStrategy()
    if name == "flip-stability":
        return FlipStability(**options)
    if name in _uncertainty_names():
        measure, aggregation = name.rsplit("-", 1)
        return UncertaintyStrategy(measure, aggregation, **options)
    return None


def _unknown(name: str) -> ValueError:
    valid = ", ".join(available_strategies())
    return ValueError(
        f"unknown sampling strategy {name!r}; valid names: {valid} (each may end in "
        f"'{_BOOST}', score strategies then in '{_PER_SECOND}')"
    )


def get_strategy(name: str, **options: Any) -> Strategy:
    """Build the strategy called ``name``.

    ``options`` go to the underlying uncertainty strategy (e.g. ``empty_score=0.5``,
    ``min_confidence=0.05``) and, for hybrids, ``pool_factor``; class-balance boosts
    take ``alpha``, ``+per-second`` takes ``beta``.
    """
    raw = name
    name = name.strip().lower()
    if name == "time-aware":
        full, defaults = TIME_AWARE
        strategy = get_strategy(full, **{**defaults, **options})
        strategy.name = "time-aware"
        return strategy
    knapsack = _KNAPSACK.search(name)
    if knapsack:
        share = options.pop("share", 1.0)
        if knapsack.group(1):  # the share written in the name wins
            share = float(knapsack.group(1))
        base = get_strategy(name[: knapsack.start()], **options)
        if not isinstance(base, ScoreStrategy) or base.name == "random":
            raise ValueError(
                f"{raw!r}: '+knapsack' needs a per-image score to weigh against time; "
                "use it on an uncertainty strategy, e.g. 'entropy-sum+knapsack'"
            )
        return Knapsack(base, share=share)
    if name.endswith(_PER_SECOND):
        beta = options.pop("beta", 0.5)
        base = get_strategy(name[: -len(_PER_SECOND)], **options)
        if not isinstance(base, ScoreStrategy) or base.name == "random":
            raise ValueError(
                f"{raw!r}: '{_PER_SECOND}' needs a per-image score to divide by time; "
                "use it on an uncertainty strategy, e.g. 'entropy-sum+per-second'"
            )
        return PerSecond(base, beta=beta)
    boost = name.endswith(_BOOST)
    if boost:
        name = name[: -len(_BOOST)]
    alpha = options.pop("alpha", 1.0)
    pool_factor = options.pop("pool_factor", 4.0)
    strategy: Strategy
    if name == "class-balance":
        if boost:
            raise _unknown(raw)
        strategy = ClassBalance(None, alpha=alpha)
    elif name == "coreset":
        if boost:
            raise ValueError(
                "coreset has no per-image score to boost; use 'hybrid+class-balance' instead"
            )
        strategy = CoreSet()
    elif name == "hybrid" or name.startswith("hybrid-"):
        inner_name = "entropy-mean" if name == "hybrid" else name[len("hybrid-") :]
        inner = _score_strategy(inner_name, options)
        if inner is None or inner_name == "random":
            raise _unknown(raw)
        if boost:
            inner = ClassBalance(inner, alpha=alpha)
        strategy = Hybrid(inner, pool_factor=pool_factor)
        strategy.name = raw.strip().lower()
    else:
        base = _score_strategy(name, options)
        if base is None:
            raise _unknown(raw)
        strategy = ClassBalance(base, alpha=alpha) if boost else base
    return strategy
