"""Simulated annotators' answers written into a real workspace store, as the Label Studio sink
records them: an assignment (task, overlap or honeypot) with its Label Studio task id, and an
annotation of that task by the annotator's e-mail, with its lead time.

So :mod:`hitl_active.team.team_skill` reads a simulated team exactly as it reads a real one
(the skill-matrix script and the tests use it; no Label Studio is needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from hitl_active.bench.simulated_annotator import SimulatedAnnotator
from hitl_active.formats.core import ImageLabels
from hitl_active.store.rows import ImageRow, labels_to_boxes
from hitl_active.store.store import Store
from hitl_active.store.store_team import AnnotatorRow

__all__ = ["TeamWriter", "email_of"]

PROJECT = 1  # the Label Studio project the simulated tasks are said to live in


def email_of(name: str) -> str:
    return f"{name}@example.org"


class TeamWriter:
    """Writes answers into ``store`` with fresh Label Studio task and annotation ids."""

    def __init__(self, store: Store, round_id: int | None = None) -> None:
        self.store = store
        self.round_id = round_id
        taken = [a.ls_task_id or 0 for a in store.assignments()]
        self._next = max(taken, default=0) + 1

    def annotator(self, name: str, tier: str = "annotator") -> AnnotatorRow:
        """The annotator's record (created with an e-mail the first time)."""
        found = self.store.annotator(name)
        return found or self.store.add_annotator(name, email=email_of(name), tier=tier)

    def record(
        self, who: AnnotatorRow, image: ImageRow, labels: ImageLabels, kind: str,
        seconds: float | None = None,
    ) -> int:  # fmt: skip
        """One assignment and its answer; returns the Label Studio task id used."""
        ls_task_id = self._next
        self._next += 1
        self.store.add_assignment(self.round_id, image.id, who.id, kind, PROJECT, ls_task_id)
        self.store.add_annotation(
            image.id, f"{PROJECT}:{ls_task_id}", "1", labels_to_boxes(labels, source="human"),
            source="labelstudio", ls_task_id=ls_task_id, annotator=who.email, lead_time=seconds,
        )  # fmt: skip
        return ls_task_id

    def answer_all(
        self,
        team: Sequence[SimulatedAnnotator],
        images: Iterable[tuple[ImageRow, ImageLabels]],
        kind: str,
        rng: np.random.Generator,
    ) -> int:
        """Every member of ``team`` answers every image (its truth given); image by image."""
        n = 0
        rows = {a.name: self.annotator(a.name) for a in team}
        for img, truth in images:
            truth = ImageLabels(img.path, img.width, img.height, truth.xyxy, truth.class_id)
            for person in team:
                ans = person.annotate(truth, rng)
                self.record(rows[person.name], img, ans.labels, kind, ans.seconds)
                n += 1
        return n
