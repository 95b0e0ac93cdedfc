"""Box-level review: which boxes of which images to put to people, within a seconds budget.

Whole-image review asks an annotator to re-check every pre-label of an image and scan it
for what the model missed. Box-level review puts *items* to people instead:

- a **check** item is a pre-label the model is sure of (confidence at or above ``sure``):
  the annotator accepts it (``verify_s``), tightens it (``fix_s``) or deletes it
  (``delete_s``), a yes/no question for the most part (1.6 s per box in the literature);
- a **fix** item is an uncertain region (a candidate between ``floor`` and ``sure``): the
  annotator puts the right box there (``fix_s``) or says nothing is there (``delete_s``).

:func:`plan_review` chooses the images *and*, within them, the items, as one knapsack:
each item brings information (its box's uncertainty, the per-box term of
``entropy-sum``) and costs expected seconds; an image costs ``image_s`` to open once any
of its items is chosen. The Lagrangian decomposes: at an exchange rate ``lam`` an item is
worth asking when ``value - lam * seconds > 0``, an image when the sum of its worthwhile
items exceeds ``lam * image_s``; ``lam`` is the smallest rate whose choice fits the
budget, found by bisection.

What is not put to people keeps its provenance: a sure box left unchecked is a ``model``
box (delivered as model-made, never counted as verified), trained on while the same
model's checked sure boxes prove right often enough (:func:`trust_unchecked`) and masked
otherwise; an uncertain region left unasked is *ignored* in training (its pixels are
masked, see :func:`hitl_active.models.dataset.prepare_yolo_dataset`), neither object nor
background.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hitl_active.choices import Choice
from hitl_active.detections import Detections
from hitl_active.sampling.dedup import DuplicateFilter
from hitl_active.sampling.knapsack import bisect_rate
from hitl_active.sampling.packed import PackedDetections, segment_sum
from hitl_active.sampling.uncertainty import BoxUncertainty, box_uncertainty

__all__ = [
    "MIN_CHECKED",
    "TRUST_PRECISION",
    "ItemKind",
    "ReviewPlan",
    "ReviewSettings",
    "item_kinds",
    "plan_review",
    "shown_items",
    "split_parts",
    "trust_unchecked",
    "whole_image_costs",
]


class ItemKind(Choice):
    """What a box of a box-level review is to the annotator."""

    CHECK = "check"  # a sure pre-label: accept, tighten or delete
    FIX = "fix"  # an uncertain region: put the right box there, or say nothing is


@dataclass(frozen=True)
class ReviewSettings:
    """Where a box-level review draws its lines.

    Args:
        sure: candidates at or above this confidence are check items (and, unasked,
            model boxes); below it, down to ``floor``, fix items (unasked: ignored).
        floor: candidates below this are not shown at all.
    """

    sure: float = 0.5
    floor: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.floor <= self.sure <= 1.0:
            raise ValueError(
                f"box review needs 0 < floor <= sure <= 1, got floor {self.floor}, sure {self.sure}"
            )


#: unchecked sure boxes train as the model's boxes only while people keep at least this
#: share of the sure boxes they do check (of the same model), over at least ``MIN_CHECKED``
TRUST_PRECISION = 0.9
MIN_CHECKED = 20


def trust_unchecked(right: int, checked: int) -> bool:
    """Whether a model's unchecked sure boxes may train as its boxes: people found ``right``
    of ``checked`` of its check items right (the object there, of that class). Check items
    are the sure boxes most worth asking about, the least certain of them, so their share
    right is a conservative reading of the unchecked ones'. Below :data:`TRUST_PRECISION`,
    or before :data:`MIN_CHECKED` were checked, the unchecked ones are masked like unasked
    regions."""
    return checked >= MIN_CHECKED and right >= TRUST_PRECISION * checked


def item_kinds(confidence: np.ndarray, settings: ReviewSettings) -> np.ndarray:
    """``(M,)`` per box: ``"check"``, ``"fix"`` or ``""`` (below the floor: not an item)."""
    c = np.asarray(confidence, dtype=np.float64)
    out = np.full(len(c), "", dtype=object)
    out[c >= settings.floor] = ItemKind.FIX.value
    out[c >= settings.sure] = ItemKind.CHECK.value
    return out


@dataclass
class ReviewPlan:
    """One batch of box-level review.

    Attributes:
        indices: pool images with at least one item put to people (or reviewed whole), in
            the order planned: those that fit at the exchange rate by gain, then the top-up.
        full: per selected image, whether it is reviewed whole (every pre-label shown,
            missed objects drawn) rather than item by item.
        items: per selected image, the rows of its detections put to people (none when
            reviewed whole).
        kinds: per selected image, each of those rows' :class:`ItemKind` value.
        unchecked: per selected image, the sure rows left unchecked (model boxes).
        ignored: per selected image, the uncertain rows left unasked (masked in training).
        estimated_seconds: expected annotator seconds of each selected image's items.
        scores: each selected image's gain at the rate it was planned at (information less
            its seconds' worth; before a trim to the budget's last seconds).
        exchange_rate: the information per second at which the planned images fit the
            budget (the upper end of the bisection).
        dropped_duplicates: pool images skipped as near-duplicates of chosen ones.
        seconds: wall time the planning took.
    """

    indices: np.ndarray
    full: np.ndarray
    items: list[np.ndarray]
    kinds: list[list[str]]
    unchecked: list[np.ndarray]
    ignored: list[np.ndarray]
    estimated_seconds: np.ndarray
    scores: np.ndarray
    exchange_rate: float = 0.0
    dropped_duplicates: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def n_items(self) -> int:
        return int(sum(len(i) for i in self.items))

    def for_image(self, position: int, detections: Detections) -> dict[str, Detections]:
        """The ``position``-th selected image's detections split into ``check``, ``fix``,
        ``unchecked`` and ``ignored`` (:func:`split_parts`)."""
        return split_parts(
            detections, self.items[position], self.kinds[position],
            self.unchecked[position], self.ignored[position],
        )  # fmt: skip


def split_parts(detections: Detections, items, kinds, unchecked, ignored) -> dict[str, Detections]:
    """One image's detections split by its plan's rows into ``check``, ``fix``,
    ``unchecked`` and ``ignored`` (each a :class:`Detections` subset)."""
    items, kinds = np.asarray(items, np.int64), np.asarray(kinds, dtype=object)
    return {
        "check": detections[items[kinds == ItemKind.CHECK.value]],
        "fix": detections[items[kinds == ItemKind.FIX.value]],
        "unchecked": detections[np.asarray(unchecked, np.int64)],
        "ignored": detections[np.asarray(ignored, np.int64)],
    }


def shown_items(parts: dict[str, Detections]) -> tuple[Detections, list[str]]:
    """What a box-review task shows of ``parts``: the check items, then the fix items, as
    one :class:`Detections`, and each one's kind (the order its regions are numbered in)."""
    check, fix = parts["check"], parts["fix"]
    joined = Detections(
        xyxy=np.concatenate([check.xyxy, fix.xyxy]),
        confidence=np.concatenate([check.confidence, fix.confidence]),
        class_id=np.concatenate([check.class_id, fix.class_id]),
        class_probs=np.concatenate([check.class_probs, fix.class_probs]),
        image_size=check.image_size,
        model_version=check.model_version,
    )
    return joined, [ItemKind.CHECK.value] * len(check) + [ItemKind.FIX.value] * len(fix)


def whole_image_costs(
    pool: PackedDetections, settings: ReviewSettings, cost_model, display_threshold: float = 0.25
) -> np.ndarray:
    """``(n_images,)`` expected seconds to review each image whole, priced as its items are,
    so the two ways of reviewing an image compare at the same prices: opening (``image_s``),
    every shown pre-label (at or above ``display_threshold``) as a check or fix item by the
    sure line, and every hidden candidate as a missed object to draw with probability ``p``
    (``draw_s``). :meth:`~hitl_active.sampling.cost.CostModel.estimate_costs` prices a shown
    uncertain box as a verification instead (``verify_s``), which is cheaper when it is
    tight and dearer when it must be redrawn."""
    p = pool.confidence.astype(np.float64)
    kinds = np.where(p >= settings.sure, ItemKind.CHECK.value, ItemKind.FIX.value)
    shown = item_costs(p, kinds, cost_model.verify_s, cost_model.fix_s, cost_model.delete_s)
    per_box = np.where(p >= display_threshold, shown, p * cost_model.draw_s)
    return cost_model.image_s + segment_sum(per_box, pool.offsets)


def item_costs(
    confidence: np.ndarray, kinds: np.ndarray, verify_s: float, fix_s: float, delete_s: float
) -> np.ndarray:
    """``(M,)`` expected seconds of each item (0 where a box is not an item).

    A check item with confidence ``p`` is accepted with probability ``p`` (``verify_s``),
    deleted otherwise; a fix item holds an object with probability ``p`` (``fix_s`` to put
    its box right), else it is deleted.
    """
    p = np.asarray(confidence, dtype=np.float64)
    check = kinds == ItemKind.CHECK.value
    fix = kinds == ItemKind.FIX.value
    out = np.zeros(len(p))
    out[check] = p[check] * verify_s + (1 - p[check]) * delete_s
    out[fix] = p[fix] * fix_s + (1 - p[fix]) * delete_s
    return out


@dataclass
class _Prices:
    """Per item (``value``, ``cost``) and per image (``full_value``, ``full_cost``: the
    whole image reviewed) information and expected seconds."""

    value: np.ndarray
    cost: np.ndarray
    offsets: np.ndarray
    image_s: float
    full_value: np.ndarray
    full_cost: np.ndarray

    def choose(self, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """At rate ``lam``: the items worth asking, and per image its gain, seconds and
        whether reviewing it whole gains more than its items do."""
        net = self.value - lam * self.cost
        worth = net > 0
        item_gain = segment_sum(np.where(worth, net, 0.0), self.offsets) - lam * self.image_s
        item_s = segment_sum(np.where(worth, self.cost, 0.0), self.offsets) + self.image_s
        item_gain = np.where(segment_sum(worth.astype(np.int64), self.offsets) > 0, item_gain, 0)
        full_gain = self.full_value - lam * self.full_cost
        full = full_gain > item_gain + 1e-9  # a tie: the same boxes, put one by one
        return (
            worth,
            np.where(full, full_gain, item_gain),
            np.where(full, self.full_cost, item_s),
            full,
        )

    def trim(
        self, image: int, worth: np.ndarray, seconds: float
    ) -> tuple[np.ndarray | None, float]:
        """Image ``image``'s worthwhile items cut to the most information per second that
        fits ``seconds`` (opening included); ``None`` when not even one fits."""
        s, e = int(self.offsets[image]), int(self.offsets[image + 1])
        rows = np.flatnonzero(worth[s:e]) + s
        left = seconds - self.image_s
        keep = np.zeros_like(worth)
        for r in rows[np.argsort(-self.value[rows] / self.cost[rows], kind="stable")]:
            if self.cost[r] <= left:
                keep[r] = True
                left -= self.cost[r]
        if not keep.any():
            return None, 0.0
        out = worth.copy()
        out[s:e] = keep[s:e]
        return out, float(seconds - left)


def plan_review(
    pool: PackedDetections,
    budget_seconds: float,
    settings: ReviewSettings,
    cost_model,
    rng: np.random.Generator | None = None,
    fingerprint: Callable[[int], np.ndarray | None] | None = None,
    full_value: np.ndarray | None = None,
    display_threshold: float = 0.25,
    iterations: int = 50,
) -> ReviewPlan:
    """The images and, within them, the items whose information is most per second, within
    ``budget_seconds`` of expected annotator time (see the module docstring).

    An image may also be reviewed whole (every pre-label above ``display_threshold`` shown,
    missed objects drawn), priced by the cost model's image estimate and worth
    ``full_value`` (the image's information, e.g. its ``entropy-sum``; default: the sum
    of all its candidates' uncertainty): where the model may be missing objects the items
    cannot point at, that is the better buy. ``cost_model`` (a
    :class:`~hitl_active.sampling.cost.CostModel`) prices the actions; ``fingerprint``
    (pool index -> image fingerprint) keeps near-duplicate frames out of one batch; ``rng``
    breaks ties between equal gains.
    """
    start = time.perf_counter()
    if budget_seconds < 0:
        raise ValueError(f"the review budget must be non-negative, got {budget_seconds} s")
    kinds = item_kinds(pool.confidence, settings)
    is_item = kinds != ""
    uncertainty = box_uncertainty(pool.class_probs, BoxUncertainty.ENTROPY).astype(np.float64)
    cost = item_costs(
        pool.confidence, kinds, cost_model.verify_s, cost_model.fix_s, cost_model.delete_s
    )
    if full_value is None:
        full_value = segment_sum(uncertainty, pool.offsets)
    prices = _Prices(
        value=np.where(is_item, uncertainty, 0.0),
        cost=np.where(is_item, np.maximum(cost, 1e-3), 0.0),
        offsets=pool.offsets,
        image_s=float(cost_model.image_s),
        full_value=np.asarray(full_value, dtype=np.float64),
        full_cost=np.maximum(
            whole_image_costs(pool, settings, cost_model, display_threshold), 1e-3
        ),
    )
    allowed = np.ones(pool.n_images, dtype=bool)
    dropped: list[int] = []
    tie = rng.random(pool.n_images) if rng is not None else np.zeros(pool.n_images)
    lam = 0.0
    for _ in range(4):  # re-solve after dropping near-duplicates, which frees budget
        lo, lam = _rate(prices, budget_seconds, allowed, iterations)
        dedup = None if fingerprint is None else DuplicateFilter(
            None, capacity=max(pool.n_images, 1), fingerprint=fingerprint
        )  # fmt: skip
        chosen, spent, new_drops = [], 0.0, []
        taken: set[int] = set()
        # first what fits at the rate that fits, then fill what is left at the rate
        # just below it (best first, skipping what no longer fits)
        for choice in (prices.choose(lam), prices.choose(lo)):
            worth, gain, seconds, full = choice
            order = np.lexsort((-tie, -gain)).tolist()
            for i in order:
                if gain[i] <= 0 or not allowed[i] or i in taken:
                    continue
                asked, cost_i = worth, float(seconds[i])
                if spent + cost_i > budget_seconds + 1e-9:
                    if full[i]:
                        continue
                    asked, cost_i = prices.trim(i, worth, budget_seconds - spent)
                    if asked is None:
                        continue
                if dedup is not None and not dedup.accept(i):
                    new_drops.append(i)
                    taken.add(i)  # looked at once
                    continue
                chosen.append((i, (asked, gain, cost_i, full)))
                taken.add(i)
                spent += cost_i
        if not new_drops:
            break
        dropped += new_drops
        allowed[new_drops] = False
    items, kind_lists, unchecked, ignored, full_list, est, gains = [], [], [], [], [], [], []
    for i, (worth, gain, seconds_i, full) in chosen:
        s, e = int(pool.offsets[i]), int(pool.offsets[i + 1])
        rows = np.arange(e - s)
        asked = worth[s:e] & ~full[i]
        k = kinds[s:e]
        full_list.append(bool(full[i]))
        est.append(float(seconds_i))
        gains.append(float(gain[i]))
        items.append(rows[asked])
        kind_lists.append(k[asked].tolist())
        unchecked.append(rows[~asked & (k == ItemKind.CHECK.value) & ~full[i]])
        ignored.append(rows[~asked & (k == ItemKind.FIX.value) & ~full[i]])
    return ReviewPlan(
        indices=np.asarray([i for i, _ in chosen], dtype=np.int64),
        items=items,
        kinds=kind_lists,
        unchecked=unchecked,
        ignored=ignored,
        full=np.asarray(full_list, dtype=bool),
        estimated_seconds=np.asarray(est, dtype=np.float64),
        scores=np.asarray(gains, dtype=np.float64),
        exchange_rate=lam,
        dropped_duplicates=dropped,
        seconds=time.perf_counter() - start,
    )


def _rate(
    prices: _Prices, budget: float, allowed: np.ndarray, iterations: int
) -> tuple[float, float]:
    """Two exchange rates a hair apart (bisection): at ``hi`` the worthwhile images fit
    ``budget``, at ``lo`` they fill it and more. :func:`plan_review` takes the first, then
    tops up from the second best first (equal images make the choice jump from all to none
    at one rate, so ``hi`` alone could leave the budget unspent)."""

    def spent(lam: float) -> float:
        _, gain, seconds, _ = prices.choose(lam)
        return float(seconds[(gain > 0) & allowed].sum())

    if spent(0.0) <= budget:
        return 0.0, 0.0
    top = max(float(prices.value.max(initial=0.0)), float(prices.full_value.max(initial=0.0)))
    cheapest = min(float(prices.cost[prices.cost > 0].min(initial=np.inf)),
                   float(prices.full_cost.min(initial=np.inf)))  # fmt: skip
    return bisect_rate(spent, budget, top / max(cheapest, 1e-3) + 1.0, iterations)
