"""What the ``annotators`` commands share (:mod:`.annotators` and its sub-command modules
:mod:`.queues`, :mod:`.contests`, :mod:`.pagekeys`): opening the workspace and finding a
person, with one-line errors."""

from __future__ import annotations

import argparse
from typing import Any

from hitl_active.cli.errors import CLIError
from hitl_active.cli.loop import _open as open_workspace

__all__ = ["_error", "_open", "_person"]


def _error(message: str) -> Exception:
    return CLIError(message)


def _open(args: argparse.Namespace) -> Any:
    return open_workspace(args)


def _person(ws: Any, name: str) -> Any:
    row = ws.store.annotator(name)
    if row is None:
        raise _error(f"no annotator {name!r}; `hitl-active annotators add {name} ...` records one")
    return row
