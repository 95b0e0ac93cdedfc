"""The work log the fair-work figures read: Label Studio's records of annotations, skips and
drafts, one :class:`WorkEvent` per stored state of a record.

Fill it from the state store (annotation revisions with their ``lead_time`` and times) or
from Label Studio's API with :meth:`WorkEvent.from_label_studio`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["KINDS", "WorkEvent", "latest_versions"]

KINDS = ("annotation", "skip", "draft")
BOX_TYPES = ("rectanglelabels", "rectangle")


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True)
class WorkEvent:
    """One stored state of a Label Studio record: an annotation (or skip) version, or a draft.

    Attributes:
        annotator: who worked (``completed_by`` / the draft's ``user``), a stable id.
        task, project: Label Studio ids (the project tells the pay model and sensitivity).
        kind: ``"annotation"``, ``"skip"`` (``was_cancelled``) or ``"draft"``.
        record: the annotation id (annotation, skip) or the draft id.
        ended: ``updated_at``, timezone-aware.
        lead_time: the record's ``lead_time`` in seconds, as Label Studio reports it.
        created: ``created_at`` (annotation: first submission; draft: first save).
        draft_created: an annotation's ``draft_created_at`` (the draft it was made from).
        annotation: a draft's annotation (the one it edits), ``None`` for a task's first draft.
        practice, sensitive: a practice task; a project tagged sensitive.
        boxes: boxes in the result (per-box pay counts the latest version's).
    """

    annotator: str
    task: int
    project: int
    kind: str
    record: int
    ended: datetime
    lead_time: float
    created: datetime | None = None
    draft_created: datetime | None = None
    annotation: int | None = None
    practice: bool = False
    sensitive: bool = False
    boxes: int = 0

    def __post_init__(self) -> None:
        where = f"{self.kind} {self.record} of {self.annotator!r} on task {self.task}"
        if not isinstance(self.annotator, str) or not self.annotator:
            raise ValueError(f"WorkEvent.annotator must be a non-empty string ({where})")
        if self.kind not in KINDS:
            raise ValueError(f"WorkEvent.kind must be one of {KINDS}, got {self.kind!r}")
        if not (math.isfinite(self.lead_time) and self.lead_time >= 0):
            raise ValueError(f"{where}: lead_time must be finite and >= 0, got {self.lead_time}")
        for name in ("ended", "created", "draft_created"):
            t = getattr(self, name)
            if t is not None and (not isinstance(t, datetime) or t.utcoffset() is None):
                raise ValueError(
                    f"{where}: {name} must be a timezone-aware datetime, got {t!r}; "
                    "parse Label Studio's ISO times with datetime.fromisoformat"
                )
        if self.boxes < 0:
            raise ValueError(f"{where}: boxes must be >= 0, got {self.boxes}")

    @classmethod
    def from_label_studio(
        cls,
        record: Mapping[str, Any],
        annotator: str,
        project: int,
        *,
        draft: bool = False,
        practice: bool = False,
        sensitive: bool = False,
    ) -> WorkEvent:
        """An event from an annotation (or, with ``draft=True``, a draft) as Label Studio's
        API returns it; ``annotator`` is the name for its ``completed_by`` / ``user``. A missing
        ``lead_time`` (an annotation made through the API) counts as 0 s."""
        missing = [k for k in ("id", "task", "updated_at") if record.get(k) is None]
        if missing:
            raise ValueError(f"Label Studio record lacks {missing}: {dict(record)!r:.200}")
        kind = "draft" if draft else "skip" if record.get("was_cancelled") else "annotation"
        boxes = sum(1 for r in record.get("result") or () if r.get("type") in BOX_TYPES)
        link = record.get("annotation") if draft else None
        return cls(
            annotator, int(record["task"]), project, kind, int(record["id"]),
            _time(record["updated_at"]), float(record.get("lead_time") or 0.0),  # type: ignore[arg-type]
            created=_time(record.get("created_at")),
            draft_created=_time(record.get("draft_created_at")),
            annotation=None if link is None else int(link),
            practice=practice, sensitive=sensitive, boxes=boxes,
        )  # fmt: skip


def latest_versions(events: Iterable[WorkEvent]) -> list[WorkEvent]:
    """The latest stored state of each annotation / skip record (drafts left out)."""
    last: dict[tuple[str, int], WorkEvent] = {}
    for e in events:
        if e.kind != "draft":
            key = (e.annotator, e.record)
            if key not in last or e.ended >= last[key].ended:
                last[key] = e
    return sorted(last.values(), key=lambda e: (e.ended, e.record))
