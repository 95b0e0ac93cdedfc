"""The ``work:`` section of the workspace config: how work is paid, counted and capped.

```yaml
work:
  pay:                       # per project: "default", or a Label Studio project id
    default: {kind: per_task, rate: 0.40, currency: EUR, time_rate: 14.0}
    "57": {kind: hourly, rate: 15.0, currency: EUR}
  floors: floors.csv         # living-wage floors: location,currency,hourly,source,date
  caps: {hours_per_day: 8, hours_per_week: 40, stretch_minutes: 120, break_minutes: 10,
         sensitive_minutes_per_day: 60}
  idle_gap_s: 300            # a longer pause ends a working session
  sensitive: false           # the workspace's images are sensitive content
  timezone: UTC              # where days and weeks begin
```

The workspace's own Label Studio project, its annotators' queues and their practice projects
are paid by ``pay["default"]`` unless a project id has an entry of its own.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from hitl_active.safeyaml import short_repr
from hitl_active.workforce.pay import PayModel
from hitl_active.workforce.workload import Caps

__all__ = ["DEFAULT_PAY", "CapsConfig", "PayConfig", "WorkConfig"]

DEFAULT_PAY = "default"
Number = StrictFloat | StrictInt


class PayConfig(BaseModel):
    """A project's pay: ``rate`` per hour, per submitted task or per box, in ``currency``;
    ``time_rate`` (per hour) pays practice, and skipped tasks on a piece-rate project."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["hourly", "per_task", "per_box"]
    rate: Number = Field(ge=0)
    currency: StrictStr = Field(min_length=1)
    time_rate: Number | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _checked(self) -> PayConfig:
        try:  # PayModel says what is missing (a piece rate needs time_rate)
            self.model(0)
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix("project 0: ")) from None
        return self

    def model(self, project: int) -> PayModel:
        rate = None if self.time_rate is None else float(self.time_rate)
        return PayModel(project, self.kind, float(self.rate), self.currency, rate)


class CapsConfig(BaseModel):
    """Limits per person; new tasks stop at any of them (see :class:`Caps`)."""

    model_config = ConfigDict(extra="forbid")

    hours_per_day: Number = Field(Caps.hours_per_day, gt=0)
    hours_per_week: Number = Field(Caps.hours_per_week, gt=0)
    stretch_minutes: Number = Field(Caps.stretch_minutes, gt=0)
    break_minutes: Number = Field(Caps.break_minutes, gt=0)
    sensitive_minutes_per_day: Number = Field(Caps.sensitive_minutes_per_day, gt=0)

    def caps(self) -> Caps:
        return Caps(**{k: float(v) for k, v in self.model_dump().items()})


class WorkConfig(BaseModel):
    """Fair work settings.

    Attributes:
        pay: pay per project, keyed ``"default"`` or by Label Studio project id.
        floors: the living-wage floor table (CSV or YAML: location, currency, hourly,
            source, date), a path relative to the workspace; ``None``: no floors, no flags.
        caps: hours per day and week, stretch without a break, sensitive minutes per day.
        idle_gap_s: a pause longer than this ends a working session.
        sensitive: the workspace's client images are sensitive content (exposure minutes are
            counted and capped; people who opted out get none of its tasks).
        sensitive_projects: further Label Studio project ids tagged sensitive.
        task_seconds: the expected length of a task, used to turn the time left under a cap
            into a number of tasks; ``None``: the median measured task time (60 s before any).
        timezone: the IANA zone where days and weeks begin (``UTC``, ``Europe/Berlin``).
    """

    model_config = ConfigDict(extra="forbid")

    pay: dict[StrictStr | StrictInt, PayConfig] = Field(default_factory=dict)
    floors: StrictStr | None = None
    caps: CapsConfig = Field(default_factory=CapsConfig)
    idle_gap_s: Number = Field(300.0, gt=0)
    sensitive: StrictBool = False
    sensitive_projects: list[StrictInt] = Field(default_factory=list)
    task_seconds: Number | None = Field(None, gt=0)
    timezone: StrictStr = "UTC"

    @field_validator("pay")
    @classmethod
    def _pay_keys(cls, value: dict) -> dict[str, PayConfig]:
        out = {}
        for key, pay in value.items():
            name = str(key).strip()
            if name != DEFAULT_PAY and not name.isdigit():
                raise ValueError(
                    f"pay key {short_repr(key)} is neither 'default' nor a Label Studio project id"
                )
            out[name] = pay
        return out

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{short_repr(value)} is not a time zone; "
                "write an IANA name such as UTC or Europe/Berlin"
            ) from None
        return value

    @field_validator("idle_gap_s", "task_seconds")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{short_repr(value)} must be a finite number")
        return value

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def floors_path(self, root: str | Path) -> Path | None:
        """The floor table's path (relative ones from the workspace ``root``)."""
        if self.floors is None:
            return None
        path = Path(self.floors).expanduser()
        return path if path.is_absolute() else Path(root) / path

    def pay_for(self, project: int) -> PayConfig | None:
        """The pay of ``project``: its own entry, else the default (``None``: none)."""
        return self.pay.get(str(project), self.pay.get(DEFAULT_PAY))
