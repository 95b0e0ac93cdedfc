"""Rounds of the active-learning loop, as a resumable state machine.

One round runs these steps in order and records each in the state database once done::

    started → prelabelled → selected → pushed → annotated
            → trained → evaluated → promoted → done        (when the retrain policy says so)
            → done                                          (otherwise)

A process killed at any point is resumed by running the same command again: the open
round continues from the step after the last one recorded. Every step is idempotent on
its own too (predictions are keyed by model version, a round's selection is written
once, a task is unique per image, an annotation revision is unique), so a step cut off
half-way redoes only what it had not written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from hitl_active.loop import steps
from hitl_active.loop.policy import EveryRound, LoopState, RetrainPolicy
from hitl_active.loop.registry import RESCORE_KEY, ModelRegistry, gold_map
from hitl_active.store.store import ModelVersionRow, RoundRow
from hitl_active.workspace.workspace import Workspace

__all__ = ["STEPS", "Loop", "RoundSummary", "TaskBackend"]

logger = logging.getLogger(__name__)

STEPS = (
    "started",
    "prelabelled",
    "selected",
    "pushed",
    "annotated",
    "trained",
    "evaluated",
    "promoted",
    "done",
)
RETRAIN_REQUEST_KEY = "loop.retrain_requested"


class TaskBackend(Protocol):
    """Where selected images go to be annotated, and where annotations come from."""

    def push(self, ws: Workspace, round_id: int, image_ids: list[int], version: str | None) -> int:
        """Create a task per image that has none yet; returns how many were created."""
        ...

    def collect(self, ws: Workspace, round_id: int, timeout_s: float | None) -> int:
        """Bring the round's annotations into the store; returns how many are still open."""
        ...

    def refresh_prelabels(self, ws: Workspace, version: str) -> int:
        """Replace open tasks' pre-labels with ``version``'s; returns tasks updated."""
        ...


@dataclass(frozen=True)
class RoundSummary:
    """One line of the round-by-round table."""

    round_id: int
    labelled: int
    annotator_hours: float
    map50_95: float | None
    map50: float | None
    model_version: str | None
    promoted: bool
    pending: int

    @classmethod
    def from_round(cls, ws: Workspace, row: RoundRow) -> RoundSummary:
        info = row.info
        return cls(
            round_id=row.id,
            labelled=int(info.get("labelled", 0)),
            annotator_hours=float(info.get("annotator_seconds", 0.0)) / 3600.0,
            map50_95=info.get("map50_95"),
            map50=info.get("map50"),
            model_version=row.candidate_version or row.model_version,
            promoted=bool(info.get("promoted", False)),
            pending=len(ws.store.tasks(round_id=row.id, open_only=True)),
        )


class Loop:
    """Runs rounds over one workspace with a task backend and a retrain policy."""

    def __init__(
        self,
        ws: Workspace,
        backend: TaskBackend,
        policy: RetrainPolicy | None = None,
        progress: bool = False,
        owner: str | None = None,
    ) -> None:
        self.ws = ws
        # Loops with different owners (e.g. one per Label Studio project) each run their own
        # open round on one state database, and never select the same image.
        self.owner = owner
        self.backend = backend
        self.policy = policy or EveryRound()
        self.progress = progress
        self.registry = ModelRegistry(ws.store, ws.models_dir)

    # ------------------------------------------------------------------ public
    def round_until_pushed(self) -> RoundRow:
        """``hitl-active round``: pre-label, select and push one batch (resumes an open round)."""
        self.catch_up()
        row = self.ws.store.claim_round(self.owner, self._current_name())
        for step in ("prelabelled", "selected", "pushed"):
            row = self._run_step(row, step)
        return row

    def run_round(self, wait_timeout_s: float | None = None) -> RoundSummary | None:
        """A whole round; returns None when annotations are still outstanding at timeout."""
        row = self.round_until_pushed()
        row = self._run_step(row, "annotated", wait_timeout_s=wait_timeout_s)
        if STEPS.index(row.step) < STEPS.index("annotated"):
            return None
        for step in ("trained", "evaluated", "promoted", "done"):
            row = self._run_step(row, step)
            if row.step == "done":
                break
        return RoundSummary.from_round(self.ws, row)

    def request_retrain(self) -> None:
        self.ws.store.set(RETRAIN_REQUEST_KEY, True)

    def retrain(self, force: bool = False) -> tuple[str, bool]:
        """Train, evaluate and (if better, or ``force``) promote a version now, between rounds."""
        version = steps.train_version(self.ws, self.registry, self._parent())
        steps.evaluate_version(self.ws, self.registry, version, self.progress)
        promoted = self.registry.promote(version.name, force=force)
        if promoted:
            self.after_promotion(version.name)
        return version.name, promoted

    def after_promotion(self, name: str) -> None:
        """Re-score the pool with ``name`` and move open tasks onto its pre-labels."""
        version = self.registry.get(name)
        steps.prelabel(self.ws, version, self._candidates() + self._open_images(), self.progress)
        self.backend.refresh_prelabels(self.ws, name)
        if self.ws.store.get(RESCORE_KEY) == name:
            self.ws.store.set(RESCORE_KEY, None)

    def catch_up(self) -> str | None:
        """Re-score after a promotion made anywhere (``ModelRegistry.promote`` or
        ``rollback`` from Python, ``models promote``, ``models add``): the pool's scores and
        the open tasks' pre-labels follow the current version. Returns the version
        re-scored, or ``None`` when nothing was pending. A failure (Label Studio down)
        leaves it pending for the next call."""
        pending = self.ws.store.get(RESCORE_KEY)
        current = self._current_name()
        if not pending:
            return None
        if pending != current:  # superseded by a promotion whose own re-score ran
            self.ws.store.set(RESCORE_KEY, None)
            return None
        logger.info("re-scoring the pool with %s, promoted since the last round", current)
        self.after_promotion(current)
        return current

    # ------------------------------------------------------------------ state machine
    def _parent(self) -> ModelVersionRow | None:
        """The version a retrain starts from (see ``LoopConfig.fine_tune_from``)."""
        if self.ws.config.fine_tune_from == "latest":
            done = [v for v in self.registry.list() if v.status != "training" and v.weights]
            if done:
                return done[-1]
        return self.registry.current()

    def _current_name(self) -> str | None:
        current = self.registry.current()
        return None if current is None else current.name

    def _run_step(self, row: RoundRow, step: str, **kwargs: object) -> RoundRow:
        if STEPS.index(row.step) >= STEPS.index(step):
            return row  # done before (this run or one that was killed later)
        handler = getattr(self, f"_do_{step}")
        handler(row, **kwargs)
        return self.ws.store.round(row.id)

    def _candidates(self) -> list:
        tasked = {t.image_id for t in self.ws.store.tasks()}
        return [img for img in self.ws.store.images("pool") if img.id not in tasked]

    def _unlabelled_gold(self) -> list[int]:
        labelled = {img.id for img, _ in steps.gold_truths(self.ws)}
        return [img.id for img in self.ws.store.images("gold") if img.id not in labelled]

    def _round_version(self, row: RoundRow) -> ModelVersionRow | None:
        """The version the round pre-labels and selects with (promoted when it started)."""
        return None if row.model_version is None else self.registry.get(row.model_version)

    def _do_prelabelled(self, row: RoundRow) -> None:
        version = self._round_version(row)
        n = 0
        if version is not None:
            n = steps.prelabel(self.ws, version, self._candidates(), self.progress)
        self.ws.store.set_round_step(row.id, "prelabelled", prelabelled=n)

    def _do_selected(self, row: RoundRow) -> None:
        gold = self._unlabelled_gold()
        if gold:  # the gold sample is labelled first, and never trained on
            chosen = [(i, 0.0, 0.0) for i in gold if not self.ws.store.task_of_image(i)]
            kind = "gold"
        else:
            version = self._round_version(row)
            chosen = steps.select_images(self.ws, row.id, version, self._candidates())
            kind = "pool"
        selected = self.ws.store.add_selection(row.id, chosen)  # another round's are left out
        self.ws.store.set_round_step(row.id, "selected", kind=kind, selected=len(selected))

    def _do_pushed(self, row: RoundRow) -> None:
        ids = self.ws.store.selection(row.id)
        version = row.model_version if row.info.get("kind") != "gold" else None
        created = self.backend.push(self.ws, row.id, ids, version)
        self.ws.store.set_round_step(row.id, "pushed", pushed=created)

    def _do_annotated(self, row: RoundRow, wait_timeout_s: float | None = None) -> None:
        pending = self.backend.collect(self.ws, row.id, wait_timeout_s)
        if pending:
            logger.info("round %d: %d tasks still open; run again to keep waiting", row.id, pending)
            return
        # Skipped images go back to the pool, so a skip never holds a round up.
        skipped = self.ws.store.release_skipped(row.id)
        if skipped:
            logger.info("round %d: %d skipped images returned to the pool", row.id, len(skipped))
        gold = {img.id for img in self.ws.store.images("gold")}
        labelled = len(self.ws.store.annotated_ids() - gold)
        self.ws.store.set_round_step(
            row.id, "annotated", labelled=labelled,
            annotator_seconds=self.ws.store.annotator_seconds(),
            skipped=int(row.info.get("skipped", 0)) + len(skipped),
        )  # fmt: skip

    def _new_annotations(self, items: list) -> int:
        """Training images in ``items`` that the newest model version was not trained on."""
        trained: set[int] = set()
        versions = [v for v in self.registry.list() if v.status != "training"]
        if versions:
            trained = {e["id"] for e in versions[-1].snapshot.get("images", [])}
        return len({e["id"] for _, _, e in items} - trained)

    def _do_trained(self, row: RoundRow) -> None:
        if not row.info.get("retrain_decided"):
            items = steps.training_items(self.ws)
            state = LoopState(
                round_id=row.id,
                labelled=len(items),
                new_annotations=self._new_annotations(items),
                has_model=self.registry.current() is not None,
                requested=bool(self.ws.store.get(RETRAIN_REQUEST_KEY, False)),
            )
            if state.labelled == 0 or not self.policy.should_retrain(state):
                logger.info("round %d: no retrain (%r, %s)", row.id, self.policy, state)
                self.ws.store.set_round_step(row.id, "done", retrained=False)
                return
            # Decided once: a re-run after a crash trains even though the policy, seeing
            # the half-made version, might now say there is nothing new.
            self.ws.store.set_round_step(row.id, "annotated", retrain_decided=True)
        finished = [
            v for v in self.registry.list()
            if v.status == "candidate" and v.created_at >= row.started_at
        ]  # fmt: skip
        if finished:  # trained before a crash, not yet recorded
            version = finished[-1]
        else:
            version = steps.train_version(self.ws, self.registry, self._parent())
        self.ws.store.set(RETRAIN_REQUEST_KEY, False)
        self.ws.store.set_round_step(
            row.id, "trained", retrained=True, candidate_version=version.name
        )

    def _do_evaluated(self, row: RoundRow) -> None:
        version = self.registry.get(str(row.candidate_version))
        if gold_map(version) is None:
            steps.evaluate_version(self.ws, self.registry, version, self.progress)
        version = self.registry.get(version.name)
        self.ws.store.set_round_step(
            row.id, "evaluated", map50_95=gold_map(version), map50=gold_map(version, "map50")
        )

    def _do_promoted(self, row: RoundRow) -> None:
        name = str(row.candidate_version)
        current = self.registry.current()
        promoted = current is not None and current.name == name
        if not promoted and self.registry.get(name).status == "candidate":
            promoted = self.registry.promote(name)
        if promoted:
            self.after_promotion(name)
        self.ws.store.set_round_step(row.id, "promoted", promoted=promoted)

    def _open_images(self) -> list:
        ids = [t.image_id for t in self.ws.store.tasks(open_only=True)]
        images = self.ws.store.images_by_id(ids)
        return [images[i] for i in ids]

    def _do_done(self, row: RoundRow) -> None:
        self.ws.store.set_round_step(row.id, "done")
