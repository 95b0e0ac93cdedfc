"""A workspace's Label Studio project: bound once, then used by every command.

``hitl-active init --project/--ls-url`` and ``hitl-active label-studio setup -w WS`` bind
a workspace to a project (its id and the server's URL go into the workspace config as
``label_studio_project`` / ``label_studio_url``). ``round``, ``loop``, ``label-studio pull
-w`` and ``label-studio connect -w`` then use that project; naming another one is an error
that names both. Binding also records who administers the project (:func:`record_admins`):
they are not annotators unless added.

``label-studio connect -w`` points every project the workspace made (the main one, each
annotator's queue, each trainee's practice project) at ``hitl-active serve``: a webhook on
each, and the ML backend on those holding client work (:func:`connect_projects`). It
remembers where serve runs, so a queue or practice project made later is connected as it is
made (:func:`connect_new_project`) and answers reach the pages at once, not at the next poll.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from hitl_active.labelstudio.client import LabelStudioError
from hitl_active.labelstudio.ml import connect_project
from hitl_active.labelstudio.project import (
    ProjectInfo,
    ProjectMismatchError,
    connect_local_files,
    ensure_project,
    find_project,
    resolve_project,
)
from hitl_active.workspace.workspace import Workspace

__all__ = [
    "SERVE_KEY",
    "bind_project",
    "connect_new_project",
    "connect_projects",
    "record_admins",
    "same_url",
    "workspace_project",
    "workspace_projects",
]

SERVE_KEY = "serve_connection"  # kv: {"url", "ml_backend"} of the last `label-studio connect`

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


def workspace_projects(ws: Workspace) -> list[tuple[int, str]]:
    """Every Label Studio project the workspace made, as ``(id, kind)``: ``main``, then each
    annotator's ``queue`` and each trainee's ``practice`` project."""
    out: list[tuple[int, str]] = []
    if ws.config.label_studio_project is not None:
        out.append((int(ws.config.label_studio_project), "main"))
    for person in ws.store.annotators():
        if person.queue_project_id is not None:
            out.append((int(person.queue_project_id), "queue"))
        if person.practice_project_id is not None:
            out.append((int(person.practice_project_id), "practice"))
    return out


def connect_projects(
    ws: Workspace,
    client: Any,
    serve_url: str,
    secret: str,
    ml_backend: bool = True,
    projects: list[tuple[int, str]] | None = None,
) -> list[dict[str, Any]]:
    """Point the workspace's projects (or ``projects``) at ``hitl-active serve``.

    Every project gets the webhook; the ML backend goes on projects of client work only:
    a practice task is an exercise whose answer the model's pre-labels would give away
    (its task carries what it shows). Where serve runs is remembered, for projects made
    later. Returns one dict per project: id, kind, webhook and ML backend ids.
    """

    serve_url = serve_url.rstrip("/")
    ws.store.set(SERVE_KEY, {"url": serve_url, "ml_backend": bool(ml_backend)})
    done = []
    for pid, kind in workspace_projects(ws) if projects is None else projects:
        hook, backend = connect_project(
            client, pid, serve_url, secret, ml_backend=ml_backend and kind != "practice"
        )
        done.append({"project_id": pid, "kind": kind, "webhook_id": hook,
                     "ml_backend_id": backend})  # fmt: skip
        logger.info("%s project %d: webhook %d, ML backend %s", kind, pid, hook, backend)
    return done


def connect_new_project(ws: Workspace, client: Any, project_id: int, kind: str) -> bool:
    """Connect a project the workspace has just made to serve, as ``connect`` did the
    others; ``False`` (with a warning saying how to connect it) when it cannot be, which
    stops nothing: its answers then arrive when the loop polls."""

    saved = ws.store.get(SERVE_KEY)
    if not saved:
        return False  # never connected: the workspace polls Label Studio
    url = str(saved["url"])
    again = f"`hitl-active label-studio connect -w {ws.root} --serve-url {url}`"
    secret = os.environ.get("HITL_WEBHOOK_SECRET")
    if not secret:
        logger.warning(
            "new %s project %d is not connected to hitl-active serve (HITL_WEBHOOK_SECRET is "
            "not set here): its answers arrive when the loop polls; run %s with the secret",
            kind, project_id, again,
        )  # fmt: skip
        return False
    try:
        connect_projects(ws, client, url, secret, bool(saved.get("ml_backend", True)),
                         projects=[(int(project_id), kind)])  # fmt: skip
    except LabelStudioError as exc:
        logger.warning(
            "new %s project %d is not connected to hitl-active serve at %s (%s): its answers "
            "arrive when the loop polls; run %s once serve answers", kind, project_id, url,
            exc, again,
        )  # fmt: skip
        return False
    return True
