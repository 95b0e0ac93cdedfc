"""A workspace's Label Studio project: bound once, then used by every command.

``hitl-active init --project/--ls-url`` and ``hitl-active label-studio setup -w WS`` bind
a workspace to a project (its id and the server's URL go into the workspace config as
``label_studio_project`` / ``label_studio_url``). ``round``, ``loop``, ``label-studio pull
-w`` and ``label-studio connect -w`` then use that project; naming another one is an error
that names both. Binding also records who administers the project (:func:`record_admins`):
they are not annotators unless added.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hitl_active.labelstudio.project import (
    ProjectInfo,
    ProjectMismatchError,
    connect_local_files,
    ensure_project,
    find_project,
    resolve_project,
)
from hitl_active.workspace.workspace import Workspace

__all__ = ["bind_project", "record_admins", "same_url", "workspace_project"]

logger = logging.getLogger(__name__)


def same_url(a: str, b: str) -> bool:
    """Whether two Label Studio URLs name the same server (``localhost`` is ``127.0.0.1``)."""

    def norm(url: str) -> str:
        return url.rstrip("/").replace("://localhost", "://127.0.0.1")

    return norm(a) == norm(b)


def _bound_here(ws: Workspace, url: str) -> int | None:
    """The workspace's project id when it is bound to the server at ``url``."""
    cfg = ws.config
    if cfg.label_studio_project is None:
        return None
    if cfg.label_studio_url and not same_url(cfg.label_studio_url, url):
        raise ProjectMismatchError(
            f"Label Studio URL {url} is not the workspace's {cfg.label_studio_url} (project "
            f"id {cfg.label_studio_project}); use that URL, or rebind the workspace with "
            "`hitl-active label-studio setup -w WS --project TITLE --url URL`"
        )
    return int(cfg.label_studio_project)


def workspace_project(
    ws: Workspace, client: Any, url: str, title: str | None = None
) -> ProjectInfo:
    """The workspace's project (``title``, if given, must name it)."""
    bound = _bound_here(ws, url)
    if bound is not None:
        return resolve_project(client, ws.config.classes, bound, title)
    if title is None:
        raise ProjectMismatchError(
            f"workspace {ws.root} has no Label Studio project yet; bind one with "
            "`hitl-active label-studio setup -w WS --project TITLE`"
        )
    found = find_project(client, title, ws.config.classes)
    if found is None:
        raise ProjectMismatchError(f"no project titled {title!r} at {url}; run setup first")
    return found


def bind_project(
    ws: Workspace,
    client: Any,
    url: str,
    title: str | None = None,
    images: str | Path | None = None,
    attach: bool = True,
) -> ProjectInfo:
    """Create or reuse the project titled ``title`` and bind the workspace to it.

    Without ``title`` the bound project is kept (or ``"hitl-active <folder>"`` is made).
    Rebinding a workspace whose tasks already live in another project is refused. The
    workspace's image folder (or ``images``) is attached as local-files storage (unless
    ``attach`` is false: tasks then name http(s) URLs).
    """
    cfg = ws.config
    bound = cfg.label_studio_project
    on_server = bound is not None and (
        not cfg.label_studio_url or same_url(cfg.label_studio_url, url)
    )
    pushed = len(ws.store.tasks())
    if on_server:
        current = resolve_project(client, cfg.classes, bound)
        if title is None or title == current.title:
            project = current
        elif pushed:
            raise _cannot_move(ws, pushed, f"{current.title!r} (id {bound})", title, url)
        else:
            project = ensure_project(client, title, cfg.classes)
    elif bound is not None and pushed:
        raise _cannot_move(ws, pushed, f"id {bound} at {cfg.label_studio_url}", title, url)
    else:
        project = ensure_project(client, title or f"hitl-active {ws.root.name}", cfg.classes)
    if attach:
        connect_local_files(client, project.id, Path(images or cfg.images))
    if bound != project.id or not on_server:
        cfg.label_studio_url = url.rstrip("/")
        cfg.label_studio_project = project.id
        ws.save_config()
        logger.info("workspace %s now uses project %r (id %d)", ws.root, project.title, project.id)
    record_admins(ws, client, project.id)
    return project


def record_admins(ws: Workspace, client: Any, project_id: int) -> None:
    """Record the accounts that administer the project: the token's own user (who set the
    workspace up) and the project's creator. The state store then makes no annotator record
    for them as they answer, so they get no queue, no routed work and no pay unless added
    with ``hitl-active annotators add``."""
    me = client.whoami()
    ws.store.add_admin_account(_user_id(me.get("id")), me.get("email"))
    creator = client.request("GET", f"/api/projects/{project_id}").get("created_by")
    if isinstance(creator, dict):
        ws.store.add_admin_account(_user_id(creator.get("id")), creator.get("email"))
    elif isinstance(creator, int):
        ws.store.add_admin_account(creator, None)


def _user_id(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _cannot_move(ws: Workspace, pushed: int, bound: str, title: str | None, url: str) -> Exception:
    return ProjectMismatchError(
        f"workspace {ws.root} already pushed {pushed} tasks to its project {bound}; it cannot "
        f"move to {title!r} at {url}. Keep its project, or start a new workspace for another."
    )
