"""One writer per workspace: an advisory lock on ``WORKSPACE/.lock``.

Commands that move the loop forward (``round``, ``loop``, ``init``, ``models promote`` and
``rollback``) take it; a second one waits (``--wait``) or is refused with the holder's pid,
host, start time and command. Readers (``status``, ``report``, ``models list``) and the
annotation server (``serve --workspace``, whose writes SQLite's WAL serialises) never take it.
The lock is ``fcntl.flock`` on an open file, so the kernel releases it when its process
dies, however it dies: a stale lock file never blocks anyone.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import IO, Any

from hitl_active.workspace.config import WorkspaceError

__all__ = ["LOCK_NAME", "WorkspaceBusyError", "WorkspaceLock"]

logger = logging.getLogger(__name__)

LOCK_NAME = ".lock"


class WorkspaceBusyError(WorkspaceError):
    """Another process is writing to the workspace."""


class WorkspaceLock:
    """The writer's lock of the workspace at ``root``; use as a context manager."""

    def __init__(self, root: str | Path, command: str) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self.command = command
        self._file: IO[str] | None = None

    def holder(self) -> dict[str, Any]:
        """What the current holder wrote: ``pid``, ``host``, ``since``, ``command`` (or {})."""
        try:
            data = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def describe_holder(self) -> str:
        h = self.holder()
        if not h:
            return f"workspace {self.root} is in use by another process"
        since = time.strftime("%H:%M:%S", time.localtime(float(h.get("since", 0))))
        return (
            f"workspace {self.root} is in use by pid {h.get('pid')} on host {h.get('host')} "
            f"since {since} ({h.get('command')})"
        )

    def acquire(self, wait: bool = False) -> WorkspaceLock:
        """Take the lock; raise :class:`WorkspaceBusyError` if held (block with ``wait``)."""
        if self._file is not None:
            return self
        f = open(self.path, "a+")  # noqa: SIM115 - held open for as long as the lock is
        try:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise WorkspaceBusyError(
                        f"{self.describe_holder()}; wait for it or stop it "
                        "(or pass --wait to queue behind it)"
                    ) from None
                logger.warning("%s; waiting for it to finish", self.describe_holder())
                fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            f.truncate()
            record = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": time.time(),
                "command": self.command,
            }
            f.write(json.dumps(record))
            f.flush()
        except BaseException:
            f.close()
            raise
        self._file = f
        return self

    def release(self) -> None:
        if self._file is None:
            return
        try:
            self._file.seek(0)
            self._file.truncate()  # no stale holder shown once it is gone
        except OSError:
            pass
        finally:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> WorkspaceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
