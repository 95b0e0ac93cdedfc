"""What the command line says when a command fails: one line, and an exit code.

Known failures (bad input, a server that is down or refuses the token, a state database
that cannot be written, a full disk) are the user's to fix: one line saying what failed and
what to do, exit code 2. Anything else is a bug: one line and a pointer to ``-v``, exit 1.
The traceback is printed only with ``-v``. The store writes in transactions, so after either
the state is consistent and re-running the same command resumes.
"""

from __future__ import annotations

import errno
import sqlite3
import sys

__all__ = ["CLIError", "describe_error"]


class CLIError(Exception):
    """A user-facing error: printed without a traceback, exit code 2."""


# (module, class): failures that mean bad input or a refusal, reported as they are.
_USER_ERRORS = (
    ("hitl_active.cli.errors", "CLIError"),
    ("hitl_active.workspace.config", "WorkspaceError"),
    ("hitl_active.loop.registry", "RegistryError"),
    ("hitl_active.store.store", "SchemaTooNewError"),
    ("hitl_active.labelstudio.client", "LabelStudioError"),
    ("hitl_active.labelstudio.project", "LabelMismatchError"),
    ("hitl_active.labelstudio.project", "ProjectMismatchError"),
    ("hitl_active.data.images", "ImageReadError"),
    ("hitl_active.serving.session", "ModelLoadError"),
    ("hitl_active.serving.engine", "ModelLoadError"),
    ("hitl_active.loop.import_model", "ModelImportError"),
    ("hitl_active.models.watchdog", "TrainingTimeoutError"),
    ("pydantic", "ValidationError"),
)
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EROFS, errno.EACCES, errno.EPERM}
RESUME = "re-run the same command to resume (nothing recorded was lost)"


def _user_error_types() -> tuple[type[BaseException], ...]:
    """The classes above whose modules are loaded (an error of any other was never raised)."""
    found = []
    for module, name in _USER_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)


def _sqlite(exc: sqlite3.Error) -> str:
    text = str(exc)
    low = text.lower()
    if "readonly" in low or "read-only" in low:
        return (
            f"the state database cannot be written ({text}); make state.db and its folder "
            f"writable, then {RESUME}"
        )
    if "full" in low or "disk i/o" in low:
        return (
            f"the state database could not be written ({text}); check that the disk has free "
            f"space, then {RESUME}"
        )
    if "locked" in low or "busy" in low:
        return f"the state database is busy ({text}); another process holds it, {RESUME} later"
    return f"the state database failed ({text}); {RESUME}"


def _os(exc: OSError) -> str | None:
    where = f"{exc.filename}: " if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno in _FULL:
        return f"{where}{reason}: the disk (or file size limit) is full; free space, then {RESUME}"
    if exc.errno in _DENIED:
        return f"{where}{reason}: cannot write there; check its permissions, then {RESUME}"
    if isinstance(exc, FileNotFoundError):
        return f"{where}{reason}" if where else str(exc)
    return None


def _http(exc: BaseException) -> str | None:
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency
        return None
    if not isinstance(exc, httpx.TransportError):
        return None
    try:
        url = str(exc.request.url)
    except RuntimeError:
        url = "the server"
    return f"cannot reach {url} ({type(exc).__name__}: {exc}); is the server running?"


def describe_error(exc: BaseException) -> tuple[str, int]:
    """The one line to print for ``exc`` and the exit code (2: the user's to fix; 1: a bug)."""
    if isinstance(exc, _user_error_types()):
        return str(exc).strip() or type(exc).__name__, 2
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.DBAPIError):
        orig = exc.orig if isinstance(exc.orig, BaseException) else None  # the driver's error
        if isinstance(orig, sqlite3.Error):
            return _sqlite(orig), 2
        if isinstance(exc, sqlalchemy_exc.OperationalError):  # e.g. PostgreSQL unreachable
            first = (str(orig or exc).strip().splitlines() or [""])[0]
            return f"the state database failed ({first}); {RESUME}", 2
    if isinstance(exc, sqlite3.Error):
        return _sqlite(exc), 2
    if isinstance(exc, OSError):
        message = _os(exc)
        if message is not None:
            return message, 2
    message = _http(exc)
    if message is not None:
        return message, 2
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first} (a bug? run with -v for the traceback)", 1
