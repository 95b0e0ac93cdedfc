"""The workspace's config (``hitl-active.yaml``): one schema, checked whenever it is loaded.

Strict where a lax reading would silently change meaning: ``fine_tune: "no"`` is refused
rather than read as true, ``seed: abc`` and ``imgsz: "abc"`` are refused rather than crash
later, ``classes: "cat"`` is refused rather than read as ``["c", "a", "t"]``, and a strategy
name is checked against the sampling registry when the file is loaded, not after a round's
training. Each problem is reported on its own line: the field, the value, what is allowed.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from hitl_active.labelstudio.light import TaskImageSpec
from hitl_active.safeyaml import short_repr
from hitl_active.sampling.registry import DEFAULT_STRATEGY, available_strategies, get_strategy
from hitl_active.sampling.review import ReviewSettings
from hitl_active.workspace.work_config import WorkConfig

__all__ = ["CONFIG_NAME", "LoopConfig", "WorkspaceError"]

CONFIG_NAME = "hitl-active.yaml"
_DEVICE = re.compile(r"^(cpu|mps|\d+(,\d+)*)$")


class WorkspaceError(ValueError):
    """A workspace is missing, malformed, already exists or is in use."""


def check_strategy(name: str) -> str:
    """``name`` if the loop can run it, else a ValueError naming the valid strategies."""
    try:
        get_strategy(name)
    except ValueError as exc:
        if not str(exc).startswith("unknown sampling strategy"):
            raise
        valid = ", ".join(available_strategies())
        raise ValueError(
            f"{short_repr(name)} is not a strategy; valid: {valid} "
            "(each may end in '+class-balance', "
            "a score strategy then in '+per-second' or '+knapsack')"
        ) from None
    return name


#: Settings renamed, old name to new: "batch" meant three things (images per round,
#: per training step, per inference call); each now has its own name.
RENAMED = {"batch_size": "round_size", "batch": "train_batch"}


class TaskImage(BaseModel):
    """How a task's image is sent to annotators (:mod:`hitl_active.labelstudio.light`):
    a copy whose long side is at most ``max_side`` pixels (``null``: the original size),
    re-encoded as JPEG at ``quality``. Boxes come back in the original's pixels."""

    model_config = ConfigDict(extra="forbid")

    max_side: StrictInt | None = Field(1280, ge=16)
    quality: StrictInt = Field(80, ge=1, le=95)

    def spec(self) -> TaskImageSpec:
        return TaskImageSpec(max_side=self.max_side, quality=self.quality)


class LoopConfig(BaseModel):
    """Everything a loop needs to run; stored as YAML in the workspace.

    Attributes:
        images: folder of client images (the pool).
        classes: class names, in class-id order.
        model: where training starts (:mod:`hitl_active.models.start`): ``base``, the shipped
            photo-trained detector (the default: its class head is re-made for ``classes``);
            ``scratch`` or a model YAML such as ``yolo11n.yaml`` (random weights); a local
            ``.pt``; or a name Ultralytics publishes (downloaded when online).
        imgsz, epochs, train_batch: training settings for each retrain (``train_batch``:
            images per training step; ``batch`` in files written before).
        device: training device: ``None`` (auto), ``"cpu"``, ``"0"`` or ``"0,1"`` (GPUs).
        train_timeout_s: wall-clock limit of one retrain; a later run is killed (``None``: none).
        fine_tune: start each retrain from an earlier version's weights (else from ``model``).
        fine_tune_from: ``"promoted"`` (the version in use) or ``"latest"`` (the newest
            trained version, promoted or not, so training accumulates across rounds).
        strategy: sampling strategy name (see :mod:`hitl_active.sampling`).
        round_size: images selected per round (``batch_size`` in files written before).
        budget_seconds: optional annotator-seconds cap per round instead of an image count.
        gold_size: images frozen into the gold set at init (never trained on).
        retrain_every: retrain once this many new annotations arrived (0: every round).
        conf_threshold: pre-labels shown to annotators are boxes above this confidence.
        review: ``"images"`` (an annotator corrects every pre-label of a selected image and
            draws what is missing) or ``"boxes"`` (only chosen items go to people: sure
            pre-labels to accept or delete, uncertain regions to fix; see
            :mod:`hitl_active.sampling.review`).
        review_sure, review_floor: box review's lines: candidates at or above
            ``review_sure`` are check items (left unchecked, they are trained on as model
            boxes), those from ``review_floor`` up are fix items (left unasked, they are
            masked in training).
        seed: seed for every random choice the loop makes.
        label_studio_url, label_studio_project: where tasks go (``None``: no Label Studio).
        train_args: further Ultralytics training arguments (e.g. ``{"lr0": 0.003}``).
        ray_address: pre-label the pool on Ray Data (the ``scale`` extra): ``"local"`` (Ray on
            this machine), ``"auto"`` (the cluster this machine joined) or ``"ray://HEAD:10001"``;
            ``None``: the engine in this process.
        database_url: where the state lives (``None``: ``WORKSPACE/state.db``, SQLite), e.g.
            ``postgresql://user@host/db`` for a team; ``HITL_DATABASE_URL`` overrides it.
        team_queues: route each round to one Label Studio project per annotator (their
            queue), by skill, with overlap and honeypots (:mod:`hitl_active.team.team`); set
            by ``hitl-active annotators queues``.
        honeypot_share: share of each annotator's queue that is gold images (team queues).
        overlap_share: share of a round's images given to ``overlap_annotators`` people, whose
            answers are merged into the training label (team queues).
        task_image: what annotators download per task (:class:`TaskImage`: long side 1280
            px, JPEG quality 80 by default; ``null``: the client's original file).
        task_image_for: per-annotator settings (by their Label Studio e-mail, else their
            name) that replace
            ``task_image`` for their queue, e.g. ``{max_side: 800, quality: 70}`` for a
            person on a metered phone link.
        work: fair work: pay per project, the living-wage floor table, caps, the idle gap and
            sensitive content (:class:`hitl_active.workspace.work_config.WorkConfig`).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    images: StrictStr
    classes: list[StrictStr]
    model: StrictStr = "base"
    imgsz: StrictInt = Field(160, ge=1)
    epochs: StrictInt = Field(10, ge=1)
    train_batch: StrictInt = Field(16, ge=1)
    device: StrictStr | None = None
    train_timeout_s: float | None = Field(None, gt=0)
    fine_tune: StrictBool = True
    fine_tune_from: Literal["promoted", "latest"] = "promoted"
    strategy: StrictStr = DEFAULT_STRATEGY
    round_size: StrictInt = Field(10, ge=1)
    budget_seconds: StrictFloat | None = Field(None, gt=0)
    gold_size: StrictInt = Field(20, ge=0)
    retrain_every: StrictInt = Field(0, ge=0)
    conf_threshold: StrictFloat = Field(0.25, ge=0.0, le=1.0)
    review: Literal["images", "boxes"] = "images"
    review_sure: StrictFloat = Field(0.5, gt=0.0, le=1.0)
    review_floor: StrictFloat = Field(0.1, gt=0.0, le=1.0)
    seed: StrictInt = 0
    label_studio_url: StrictStr | None = None
    label_studio_project: StrictInt | None = None
    train_args: dict[str, Any] = Field(default_factory=dict)
    database_url: StrictStr | None = None
    ray_address: StrictStr | None = None
    team_queues: StrictBool = False
    honeypot_share: StrictFloat = Field(0.1, ge=0.0, lt=1.0)
    overlap_share: StrictFloat = Field(0.1, ge=0.0, le=1.0)
    overlap_annotators: StrictInt = Field(3, ge=2)
    task_image: TaskImage | None = Field(default_factory=TaskImage)
    task_image_for: dict[str, TaskImage] = Field(default_factory=dict)
    work: WorkConfig = Field(default_factory=WorkConfig)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise WorkspaceError(describe(exc)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        before = self.__dict__.get(name)
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            if name in self.__dict__:  # a check across fields failed after the value was set
                self.__dict__[name] = before
            raise WorkspaceError(describe(exc)) from None

    def task_image_spec(self, annotator: str | None = None) -> TaskImageSpec | None:
        """The light-image settings of ``annotator``'s tasks (``None``: the whole project)."""
        chosen = self.task_image_for.get(annotator or "", self.task_image)
        return None if chosen is None else chosen.spec()

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        """Read the names of earlier versions (a workspace's file keeps working)."""
        if isinstance(data, dict) and any(old in data for old in RENAMED):
            data = dict(data)
            for old, new in RENAMED.items():
                if old in data:
                    if new in data:
                        raise ValueError(f"{old} and {new} name the same setting; keep {new}")
                    data[new] = data.pop(old)
        return data

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite:", "postgresql:", "postgresql+")):
            raise ValueError(
                f"{short_repr(value)} is not a SQLite or PostgreSQL URL; "
                "write postgresql://USER@HOST/DB "
                "(or leave it out for the workspace's state.db)"
            )
        return value

    @field_validator("classes", mode="before")
    @classmethod
    def _classes_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                f"{short_repr(value)} is a string, not a list; write a YAML list ([car, bus]) "
                "or pass --classes car,bus"
            )
        return value

    @field_validator("classes")
    @classmethod
    def _classes_names(cls, value: list[str]) -> list[str]:
        if not value or any(not c.strip() for c in value):
            raise ValueError(f"{short_repr(value)}: need a non-empty list of non-empty names")
        if len(set(value)) != len(value):
            raise ValueError(f"{short_repr(value)}: class names must be unique")
        return value

    @model_validator(mode="after")
    def _review_lines(self) -> LoopConfig:
        if self.review_floor > self.review_sure:
            raise ValueError(
                f"review_floor {self.review_floor} is above review_sure {self.review_sure}; "
                "the floor must be at or below the sure line"
            )
        if self.review == "boxes" and self.team_queues:
            raise ValueError(
                "review: boxes works in the workspace's own Label Studio project; team queues "
                "review whole images (so a honeypot looks like every other task): set review: "
                "images, or turn team queues off"
            )
        return self

    def review_settings(self) -> ReviewSettings:
        """Box review's lines as :class:`~hitl_active.sampling.review.ReviewSettings`."""
        return ReviewSettings(sure=self.review_sure, floor=self.review_floor)

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str) -> str:
        return check_strategy(value)

    @field_validator("device")
    @classmethod
    def _device(cls, value: str | None) -> str | None:
        if value is not None and not _DEVICE.match(value.strip()):
            raise ValueError(
                f"{short_repr(value)} is not a device; write cpu, 0 or 0,1 (or leave it out)"
            )
        return None if value is None else value.strip()

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None) -> LoopConfig:
        """Validate ``data``; errors name ``source`` (e.g. the config file) on each line."""
        try:
            return cls(**data)
        except WorkspaceError as exc:
            if source is None:
                raise
            lines = str(exc).splitlines()
            raise WorkspaceError("\n".join(f"{source}: {line}" for line in lines)) from None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


_REASONS = {
    "bool_type": "is not true or false; write true or false, unquoted",
    "bool_parsing": "is not true or false; write true or false, unquoted",
    "int_type": "is not a whole number",
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_type": "is not a number; write it unquoted, e.g. 0.5",
    "float_parsing": "is not a number",
    "string_type": "is not text",
    "list_type": "is not a list; write a YAML list",
    "dict_type": "is not a mapping",
}


def _fields_at(path: tuple[Any, ...]) -> list[str]:
    """The keys a nested section of the config takes (``work``, ``work.caps``)."""
    model: Any = LoopConfig
    for part in path:
        field = getattr(model, "model_fields", {}).get(part)
        model = None if field is None else field.annotation
    return list(getattr(model, "model_fields", {})) if path else []


def describe(exc: ValidationError) -> str:
    """One line per problem: ``field 'x': <value> <what is wrong and what is allowed>``."""
    valid = ", ".join(LoopConfig.model_fields)
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(config)"
        kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
        if kind == "extra_forbidden":
            keys = ", ".join(_fields_at(err["loc"][:-1])) or valid
            lines.append(f"unknown config key '{loc}'; valid keys: {keys}")
            continue
        if kind == "missing":
            lines.append(f"field '{loc}' is required")
            continue
        if kind == "value_error":
            reason = str(ctx.get("error", err["msg"]))
        elif kind in _REASONS:
            reason = f"{short_repr(value)} {_REASONS[kind]}"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "literal_error"):
            reason = (
                f"{short_repr(value)}: {err['msg'].lower().replace('input should be', 'must be')}"
            )
        else:
            reason = f"{short_repr(value)}: {err['msg']}"
        lines.append(f"field '{loc}': {reason}")
    return "\n".join(lines)
