"""Where annotations from Label Studio are recorded, exactly once.

:class:`AnnotationSink` is the protocol the pull and webhook paths write to; the loop's
state store (:class:`hitl_active.store.Store`) implements it, for a workspace or, without
one, as ``Store.standalone(path)``. Idempotency rules the implementation follows:

* an annotation is keyed by its Label Studio id; recording the same version twice is a
  no-op (returns ``False``), a newer version replaces the older one (returns ``True``);
  a record without a diff (bulk webhook events skip it) is completed by a later pull;
* a skipped/cancelled task is an :class:`AnnotationRecord` with ``was_cancelled=True``;
* a deleted annotation is removed (``record_deletion``);
* pushed tasks are remembered per image key, so a push never creates a duplicate task.

No record holds what no real annotation has (:class:`InvalidRecordError`, checked when a
record is made, so the webhook, the pull and every sink see the same rule): ids beyond 64
bits, times before 2000 or more than a day ahead of now (:func:`check_time`). A lead time
that is negative, not finite, or longer than the annotation's own span from first start to
last save plus a day (:func:`check_lead_time`) is dropped with a warning, and the annotation
kept: its boxes are real work. Work figures read stored rows with the same checks
(:func:`check_work`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable

from hitl_active.formats.core import ImageLabels
from hitl_active.labelstudio.diff import BoxDiff

__all__ = [
    "AnnotationRecord", "AnnotationSink", "InvalidRecordError", "check_id",
    "check_lead_time", "check_time", "check_work",
]  # fmt: skip

logger = logging.getLogger(__name__)

EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
AHEAD = timedelta(days=1)  # clocks drift; a day ahead of now is no clock's
LEAD_TIME_MARGIN = timedelta(days=1)  # a task open for up to a day before its first save
ID_RANGE = (-(2**63), 2**63 - 1)  # what SQLite and PostgreSQL BIGINT hold


class InvalidRecordError(ValueError):
    """A value no real annotation has (the message names the field): refused, never stored."""


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 32 else f"{text[:29]}..."


def check_id(field: str, value: Any) -> int:
    """``value`` as an integer id inside the 64-bit range, else :class:`InvalidRecordError`."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidRecordError(f"{field} {_short(value)!r} is not an integer id") from None
    if not ID_RANGE[0] <= number <= ID_RANGE[1]:
        raise InvalidRecordError(f"{field} {_short(number)} is outside the 64-bit id range")
    return number


def check_time(field: str, value: str | datetime, now: datetime | None = None) -> datetime:
    """An ISO time (naive means UTC) inside 2000-01-01 .. now plus a day, else
    :class:`InvalidRecordError` naming ``field``."""
    try:
        when = (
            value
            if isinstance(value, datetime)
            else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        )
    except ValueError:
        raise InvalidRecordError(f"{field} {_short(value)!r} is not an ISO-8601 time") from None
    when = when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
    latest = (now or datetime.now(timezone.utc)) + AHEAD
    if not EARLIEST <= when <= latest:
        raise InvalidRecordError(
            f"{field} {_short(value)} is outside {EARLIEST:%Y-%m-%d} to "
            f"{latest:%Y-%m-%d %H:%M} UTC (now plus a day)"
        )
    return when


def check_lead_time(seconds: float | None, times: Sequence[datetime] = ()) -> None:
    """A lead time (``None``: not measured) between 0 and the span of ``times`` (the record's
    own times: first start to last save) plus a day, else :class:`InvalidRecordError`."""
    if seconds is None:
        return
    span = max(times) - min(times) if times else timedelta(0)
    limit = (span + LEAD_TIME_MARGIN).total_seconds()
    if not 0 <= seconds <= limit:  # False for NaN too
        raise InvalidRecordError(
            f"lead_time {_short(seconds)} s is not between 0 and {limit:.0f} s (the "
            "record's own span from first start to last save, plus a day)"
        )


def check_work(
    lead_time: float | None,
    times: Mapping[str, str | datetime | None],
    now: datetime | None = None,
) -> None:
    """Check a record's times by field name (``None``: unknown) and its lead time against
    them: one rule for annotations as they arrive and as the work figures read them back."""
    known = [check_time(name, value, now) for name, value in times.items() if value is not None]
    check_lead_time(lead_time, known)


@dataclass
class AnnotationRecord:
    """One annotation (or skip) of one task, as recorded from Label Studio."""

    project_id: int
    task_id: int
    annotation_id: int
    image: str
    labels: ImageLabels
    annotator: str
    lead_time: float | None
    was_cancelled: bool
    updated_at: str
    diff: BoxDiff | None = None
    model_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None  # first submitted (working time, not content)
    draft_created_at: str | None = None  # the draft it was made from started then

    def __post_init__(self) -> None:
        try:
            for name in ("project_id", "task_id", "annotation_id"):
                check_id(name, getattr(self, name))
            times = [check_time(k, v) for k, v in self.times().items() if v is not None]
        except InvalidRecordError as exc:
            raise InvalidRecordError(f"annotation {_short(self.annotation_id)}: {exc}") from None
        try:
            check_lead_time(self.lead_time, times)
        except InvalidRecordError as exc:  # the boxes are real work: keep them, not the time
            logger.warning(
                "annotation %s: %s; recorded without a lead time",
                _short(self.annotation_id),
                exc,
            )
            self.lead_time = None

    def times(self) -> dict[str, str | None]:
        """The record's times by field name (``None``: not sent)."""
        return {
            "updated_at": self.updated_at,
            "created_at": self.created_at,
            "draft_created_at": self.draft_created_at,
        }

    def fingerprint(self) -> str:
        """Hash of what the annotator produced; equal fingerprints mean the same version."""
        payload = {
            "boxes": [[round(float(v), 3) for v in box] for box in self.labels.xyxy],
            "classes": [int(c) for c in self.labels.class_id],
            "cancelled": self.was_cancelled,
        }
        return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@runtime_checkable
class AnnotationSink(Protocol):
    """What the Label Studio integration needs from a state store."""

    def record_annotation(self, record: AnnotationRecord) -> bool:
        """Store or replace; ``True`` when new or changed, ``False`` when already known."""

    def record_deletion(self, project_id: int, annotation_ids: list[int]) -> int:
        """Forget deleted annotations; returns how many were known."""

    def annotation_ids(self, project_id: int, task_id: int) -> set[int]:
        """Annotation ids recorded for one task (to notice deletions while pulling)."""

    def get_cursor(self, project_id: int) -> str | None:
        """Where the last incremental pull stopped (an ISO timestamp), or ``None``."""

    def set_cursor(self, project_id: int, cursor: str) -> None: ...

    def task_for_image(self, project_id: int, image_key: str) -> int | None:
        """The task already made for this image, if any."""

    def record_task(self, project_id: int, image_key: str, task_id: int) -> None: ...

    def last_task_id(self, project_id: int) -> int | None:
        """The highest task id recorded for the project, or ``None`` when there is none.

        Label Studio numbers tasks in creation order and a push records each batch right
        after importing it, so only tasks above this id can exist unrecorded (a crash
        between an import and its recording).
        """
