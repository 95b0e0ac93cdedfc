"""``hitl-active annotators queues``: one Label Studio project per annotator, routed by skill.

Creates (or finds) every recorded annotator's queue project on the workspace's Label Studio,
each with the workspace project's labels and image storage, and turns ``team_queues`` on in
the workspace config: from then on ``round`` and ``loop`` route each batch by skill, with
overlap and honeypots (:mod:`hitl_active.team.team`). ``--off`` turns it off again (the
queues stay, with their answers).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from hitl_active.cli.lsargs import label_studio_settings
from hitl_active.cli.people import _error, _open

__all__ = ["register_queues"]


def _queues(args: argparse.Namespace) -> int:
    from hitl_active.team.team import TeamBackend

    with _open(args) as ws:
        if args.off:
            ws.config.team_queues = False
            ws.save_config()
            print("team queues off: rounds go to the workspace's own project")
            return 0
        if not ws.store.annotators():
            raise _error("no annotators yet; record them with `hitl-active annotators add NAME "
                         "--email E` (the e-mail of their Label Studio user)")  # fmt: skip
        url, token, root = label_studio_settings(args, ws, "queues")
        if not url:
            raise _error("queues live in Label Studio: pass --label-studio URL and --token, or "
                         "set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY")  # fmt: skip
        backend = TeamBackend(url, token, args.project, root)
        try:
            queues = backend.queues(ws)
        finally:
            backend.close()
        ws.config.team_queues = True
        ws.save_config()
    for name, project in queues.items():
        print(f"{name}: project {project.id} ({project.title})")
    print("team queues on: each round is routed by skill, with overlap and honeypots")
    return 0


def register_queues(action: Callable[[str, Any, str], argparse.ArgumentParser]) -> None:
    q = action("queues", _queues, "one Label Studio project per annotator; routing on (or --off)")
    q.add_argument("--off", action="store_true", help="route rounds to the workspace's project")
    q.add_argument(
        "--label-studio",
        dest="ls_url",
        default=None,
        metavar="URL",
        help="Label Studio URL (default: $LABEL_STUDIO_URL, then the workspace's)",
    )
    q.add_argument("--token", default=None, help="API token (default: $LABEL_STUDIO_API_KEY)")
    q.add_argument(
        "--files-root",
        default=None,
        help="the server's local-files root (default: $LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT)",
    )
    q.add_argument("--project", default=None, help="the workspace's project title, if unbound")
