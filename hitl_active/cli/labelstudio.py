"""``hitl-active label-studio …`` (server, project, pull, hooks) and ``hitl-active serve``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hitl_active.cli.errors import CLIError

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "label-studio"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    ls = subparsers.add_parser("label-studio", help="run and talk to Label Studio")
    sub = ls.add_subparsers(dest="ls_command", metavar="ACTION", required=True)

    for name, helptext in (
        ("start", "start the local server (installs it on first use)"),
        ("stop", "stop a server started with --background"),
        ("status", "is the server answering?"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--images", help="image folder to serve as local files")
        p.add_argument("--port", type=int, help="port on 127.0.0.1 (default 8080)")
        p.add_argument("--data-dir", help="Label Studio data folder (default in the workspace)")
        if name == "start":
            p.add_argument("--background", action="store_true", help="detach; wait until up")
        p.set_defaults(func=_script)

    def connection(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--label-studio", "--url", dest="url", default=None, metavar="URL",
            help="Label Studio URL (default: $LABEL_STUDIO_URL, the workspace's, or "
            "http://127.0.0.1:8080)",
        )  # fmt: skip
        p.add_argument("--token", default=None, help="API token (default $LABEL_STUDIO_API_KEY)")
        p.add_argument("--project", default=None, help="project title (default: the workspace's)")
        p.add_argument(
            "-w", "--workspace", default=None,
            help="loop workspace: its classes, images, state database and Label Studio project",
        )  # fmt: skip
        p.add_argument("--classes", help="comma-separated names, or a classes.txt (no -w)")

    p = sub.add_parser("setup", help="create/reuse a project for a class list")
    connection(p)
    p.add_argument("--images", help="image folder to attach as local-files storage")
    p.set_defaults(func=_setup)

    p = sub.add_parser("pull", help="record annotations changed since the last pull")
    connection(p)
    p.add_argument("--db", help="SQLite file the annotations are recorded in (no -w)")
    p.set_defaults(func=_pull)

    p = sub.add_parser(
        "connect",
        help="send webhooks to, and use as ML backend, a serve app (with -w: every project "
        "of the workspace, queues and practice too, and those made later)",
    )
    connection(p)
    p.add_argument("--serve-url", required=True, help="where `hitl-active serve` listens")
    p.add_argument("--secret", default=None, help="shared secret (default $HITL_WEBHOOK_SECRET)")
    p.add_argument("--no-ml-backend", action="store_true", help="webhook only")
    p.set_defaults(func=_connect)

    serve = subparsers.add_parser("serve", help="ML backend + webhook receiver for Label Studio")
    serve.add_argument("--model", help="ONNX model (default $HITL_MODEL)")
    serve.add_argument("--model-version", help="version shown to annotators")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=9090)
    serve.add_argument(
        "--conf", type=float, help="pre-label threshold (default: the workspace's, else 0.25)"
    )
    serve.add_argument("--files-root", help="Label Studio's local-files document root")
    serve.add_argument("--db", help="SQLite file for webhook annotations ($HITL_ANNOTATIONS_DB)")
    serve.add_argument(
        "-w",
        "--workspace",
        help="loop workspace: serve its promoted model (reloaded on promotion) and record "
        "webhook annotations into its state database ($HITL_WORKSPACE)",
    )
    serve.set_defaults(func=_serve)


def _client(args: argparse.Namespace, url: str) -> Any:
    from hitl_active.labelstudio import LabelStudioClient

    token = args.token or os.environ.get("LABEL_STUDIO_API_KEY")
    if not token:
        raise CLIError(
            "no API token: pass --token or set LABEL_STUDIO_API_KEY "
            "(`scripts/label-studio env` prints it for the local server)"
        )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    return LabelStudioClient(url, token)


def _classes(value: str) -> list[str]:
    path = Path(value)
    if path.is_file():
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [c.strip() for c in value.split(",") if c.strip()]


def _errors():
    from hitl_active.labelstudio import LabelStudioError

    return (LabelStudioError, ValueError)  # ValueError: bad titles, label mismatches


def _script(args: argparse.Namespace) -> int:
    if not SCRIPT.is_file():
        raise CLIError(f"{SCRIPT} not found; run this from a source checkout of hitl-active")
    cmd = [str(SCRIPT), args.ls_command]
    for flag in ("images", "port", "data_dir"):
        if getattr(args, flag, None):
            cmd += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    if getattr(args, "background", False):
        cmd.append("--background")
    if args.ls_command == "start" and not getattr(args, "background", False):
        os.execv(cmd[0], cmd)  # foreground: become the server, Ctrl-C stops it
    return subprocess.call(cmd)


def _url(args: argparse.Namespace, ws: Any = None) -> str:
    bound = ws.config.label_studio_url if ws is not None else None
    return args.url or os.environ.get("LABEL_STUDIO_URL") or bound or "http://127.0.0.1:8080"


@contextmanager
def _workspace(args: argparse.Namespace) -> Iterator[Any]:
    """The ``-w`` workspace (``None`` without one), closed afterwards."""
    from hitl_active.workspace.workspace import Workspace, WorkspaceError

    if not args.workspace:
        if not args.classes:
            raise CLIError("pass -w WORKSPACE, or --classes (and --project) without one")
        yield None
        return
    try:
        ws = Workspace.open(args.workspace)
    except WorkspaceError as exc:
        raise CLIError(str(exc)) from None
    with ws:
        yield ws


def _setup(args: argparse.Namespace) -> int:
    from hitl_active.labelstudio import connect_local_files, ensure_project
    from hitl_active.loop.ls_project import bind_project

    try:
        with _workspace(args) as ws, _client(args, _url(args, ws)) as client:
            if ws is not None:
                project = bind_project(ws, client, client.url, args.project, args.images)
                storage = "attached"
            elif not args.project:
                raise CLIError("which project? pass --project TITLE (or -w WORKSPACE)")
            else:
                project = ensure_project(client, args.project, _classes(args.classes))
                storage = None
                if args.images:
                    storage = connect_local_files(client, project.id, args.images)
    except _errors() as exc:
        raise CLIError(str(exc)) from exc
    print(json.dumps({"project_id": project.id, "title": project.title, "storage": storage}))
    return 0


def _project(args: argparse.Namespace, ws: Any, client: Any) -> Any:
    """The workspace's project, or the one titled ``--project`` (with ``--classes``)."""
    from hitl_active.labelstudio.project import find_project
    from hitl_active.loop.ls_project import workspace_project

    if ws is not None:
        return workspace_project(ws, client, client.url, args.project)
    if not args.project:
        raise CLIError("which project? pass --project TITLE (or -w WORKSPACE)")
    project = find_project(client, args.project, _classes(args.classes))
    if project is None:
        raise CLIError(f"no project titled {args.project!r} at {client.url}; run setup first")
    return project


def _pull(args: argparse.Namespace) -> int:
    from hitl_active.labelstudio import pull_annotations
    from hitl_active.store.store import Store

    try:
        with _workspace(args) as ws, _client(args, _url(args, ws)) as client:
            if ws is None and not args.db:
                raise CLIError("where to record? pass --db FILE.db (or -w WORKSPACE)")
            sink = ws.store if ws is not None else Store.standalone(args.db)
            try:
                project = _project(args, ws, client)
                report = pull_annotations(client, project, sink, progress=not args.quiet)
                if ws is not None and ws.config.team_queues:
                    _pull_queues(ws, client, report)
            finally:
                if ws is None:
                    sink.close()
    except _errors() as exc:
        raise CLIError(str(exc)) from exc
    print(json.dumps(report.__dict__))
    return 0


def _pull_queues(ws: Any, client: Any, report: Any) -> None:
    """Pull every annotator's queue project too (team queues), adding to ``report``."""
    from hitl_active.labelstudio import pull_annotations
    from hitl_active.labelstudio.project import resolve_project

    for person in ws.store.annotators():
        if person.queue_project_id is None:
            continue
        queue = resolve_project(client, ws.config.classes, person.queue_project_id)
        more = pull_annotations(client, queue, ws.store, progress=False)
        for field in ("tasks_seen", "annotations_seen", "recorded", "skipped_tasks", "deleted"):
            setattr(report, field, getattr(report, field) + getattr(more, field))


def _connect(args: argparse.Namespace) -> int:
    from hitl_active.labelstudio.ml import connect_project
    from hitl_active.loop.ls_project import connect_projects

    secret = args.secret or os.environ.get("HITL_WEBHOOK_SECRET")
    if not secret:
        raise CLIError("no shared secret: pass --secret or set HITL_WEBHOOK_SECRET")
    try:
        with _workspace(args) as ws, _client(args, _url(args, ws)) as client:
            pid = _project(args, ws, client).id
            if ws is None:
                hook, backend = connect_project(
                    client, pid, args.serve_url, secret, ml_backend=not args.no_ml_backend
                )
                print(json.dumps({"project_id": pid, "webhook_id": hook, "ml_backend_id": backend}))
                return 0
            # The workspace's every project: main, queues, practice (and those made later).
            done = connect_projects(ws, client, args.serve_url, secret, not args.no_ml_backend)
    except _errors() as exc:
        raise CLIError(str(exc)) from exc
    main = done[0]
    print(json.dumps({**{k: main[k] for k in ("project_id", "webhook_id", "ml_backend_id")},
                      "projects": done}))  # fmt: skip
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hitl_active.server import AppSettings, create_app

    try:
        settings = AppSettings.from_env(
            model_path=Path(args.model) if args.model else None,
            model_version=args.model_version,
            conf_threshold=args.conf,
            files_root=Path(args.files_root) if args.files_root else None,
            sink_path=Path(args.db) if args.db else None,
            workspace=Path(args.workspace) if args.workspace else None,
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    if settings.workspace is not None:
        if not (settings.workspace / "models" / "CURRENT").is_file() and not settings.model_path:
            # Webhooks are recorded from the start; /predict answers no pre-labels (and
            # says why) until the loop promotes a first version, which is then served.
            logging.getLogger(__name__).warning(
                "workspace %s has no promoted model yet: no pre-labels until one is",
                settings.workspace,
            )
    elif settings.model_path is None:
        raise CLIError("no model: pass --model MODEL.onnx, --workspace WS, or set HITL_MODEL")
    if settings.model_path is not None and not settings.model_path.is_file():
        raise CLIError(f"model {settings.model_path} not found; export one first")
    if not settings.webhook_secret:
        raise CLIError(
            "no shared secret: set HITL_WEBHOOK_SECRET (every route but /health needs it; "
            "`label-studio connect` registers the same secret with Label Studio)"
        )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0
