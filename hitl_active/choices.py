"""String enums for user-facing choices (CLI flags, config values)."""

from __future__ import annotations

import re
from enum import Enum
from typing import TypeVar

__all__ = ["Choice"]

_C = TypeVar("_C", bound="Choice")


class Choice(str, Enum):
    """A string enum whose :meth:`from_value` error names the choice and lists valid values."""

    @classmethod
    def from_value(cls: type[_C], value: str | _C) -> _C:
        try:
            return cls(value)
        except ValueError:
            label = re.sub(
                r"(?<!^)(?=[A-Z])", " ", cls.__name__
            ).lower()  # BudgetUnit -> budget unit
            valid = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown {label} {value!r}; choose one of: {valid}") from None
