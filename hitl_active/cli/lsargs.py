"""The Label Studio flags that several commands share, and reading them with their defaults."""

from __future__ import annotations

import argparse
import os
from typing import Any

from hitl_active.cli.errors import CLIError

__all__ = ["add_label_studio_flags", "label_studio_settings"]


def add_label_studio_flags(p: argparse._ActionsContainer, none_means: str = "") -> None:
    """``--label-studio URL``, ``--token``, ``--files-root`` and ``--project`` on ``p``."""
    default = "$LABEL_STUDIO_URL, then the workspace's"
    if none_means:
        default += f"; none: {none_means}"
    p.add_argument("--label-studio", dest="ls_url", default=None, metavar="URL",
                   help=f"Label Studio URL (default: {default})")  # fmt: skip
    p.add_argument("--token", default=None, help="API token (default: $LABEL_STUDIO_API_KEY)")
    p.add_argument("--files-root", default=None,
                   help="the server's local-files root (default: "
                   "$LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT)")  # fmt: skip
    p.add_argument("--project", default=None, help="project title (default: from the workspace)")


def label_studio_settings(
    args: argparse.Namespace, ws: Any, what: str
) -> tuple[str | None, str, str | None]:
    """``(url, token, files_root)`` from the flags, the environment and the workspace.

    Raises:
        CLIError: a URL without a token; ``what`` (e.g. "queues") names what needs them.
    """
    url = args.ls_url or os.environ.get("LABEL_STUDIO_URL") or ws.config.label_studio_url
    token = args.token or os.environ.get("LABEL_STUDIO_API_KEY", "")
    root = args.files_root or os.environ.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")
    if url and not token:
        raise CLIError(
            f"no Label Studio token for {what}: pass --token or set LABEL_STUDIO_API_KEY"
        )
    return url, token, root
