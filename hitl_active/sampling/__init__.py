"""Active-learning selection: which images should humans label next.

Strategies turn a pool's predictions (:class:`PackedDetections`) into a ranking; the
registry maps names to strategies; :func:`select_batch` applies a budget (images or
annotator seconds from :class:`CostModel`) and drops near-duplicates. The default,
``entropy-sum+knapsack`` (:class:`Knapsack`), weighs each image's information against its
expected annotator-seconds.
"""

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.sampling.balance import ClassBalance, class_rarity, image_rarity
from hitl_active.sampling.base import (
    RandomStrategy,
    ScoreStrategy,
    SelectionContext,
    Strategy,
    top_k,
)
from hitl_active.sampling.cost import CorrectionCost, CostModel
from hitl_active.sampling.dedup import DuplicateFilter, drop_near_duplicates
from hitl_active.sampling.diversity import CoreSet, Hybrid, k_center_greedy
from hitl_active.sampling.knapsack import Knapsack
from hitl_active.sampling.packed import PackedDetections
from hitl_active.sampling.registry import DEFAULT_STRATEGY, available_strategies, get_strategy
from hitl_active.sampling.select import Budget, BudgetUnit, Selection, select_batch
from hitl_active.sampling.time_aware import PerSecond
from hitl_active.sampling.uncertainty import (
    Aggregation,
    BoxUncertainty,
    FlipStability,
    UncertaintyStrategy,
    box_distribution,
    box_uncertainty,
    image_uncertainty,
)

__all__ = [
    "DEFAULT_STRATEGY",
    "Aggregation",
    "BoxUncertainty",
    "Budget",
    "BudgetUnit",
    "ClassBalance",
    "CoreSet",
    "CorrectionCost",
    "CostModel",
    "DuplicateFilter",
    "FlipStability",
    "Hybrid",
    "Knapsack",
    "PackedDetections",
    "PerSecond",
    "RandomStrategy",
    "ScoreStrategy",
    "Selection",
    "SelectionContext",
    "Strategy",
    "UncertaintyStrategy",
    "available_strategies",
    "box_distribution",
    "box_iou",
    "box_uncertainty",
    "class_rarity",
    "drop_near_duplicates",
    "get_strategy",
    "image_rarity",
    "image_uncertainty",
    "k_center_greedy",
    "match_boxes",
    "select_batch",
    "top_k",
]
