"""``hitl-active label-studio …`` (server, project, pull, hooks) and ``hitl-active serve``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
from pathlib import Path

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
        p.add_argument("--url", default=os.environ.get("LABEL_STUDIO_URL", "http://127.0.0.1:8080"))
        p.add_argument("--token", default=None, help="API token (default $LABEL_STUDIO_API_KEY)")
        p.add_argument("--project", required=True, help="project title")

    p = sub.add_parser("setup", help="create/reuse a project for a class list")
    connection(p)
    p.add_argument("--classes", required=True, help="comma-separated names, or a classes.txt")
    p.add_argument("--images", help="image folder to attach as local-files storage")
    p.set_defaults(func=_setup)

    p = sub.add_parser("pull", help="record annotations changed since the last pull")
    connection(p)
    p.add_argument("--classes", required=True, help="comma-separated names, or a classes.txt")
    p.add_argument("--db", required=True, help="SQLite file the annotations are recorded in")
    p.set_defaults(func=_pull)

    p = sub.add_parser("connect", help="send webhooks to, and use as ML backend, a serve app")
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
    serve.add_argument("--conf", type=float, help="pre-label threshold (default 0.25)")
    serve.add_argument("--files-root", help="Label Studio's local-files document root")
    serve.add_argument("--db", help="SQLite file for webhook annotations ($HITL_ANNOTATIONS_DB)")
    serve.add_argument(
        "-w",
        "--workspace",
        help="loop workspace: serve its promoted model (reloaded on promotion) and record "
        "webhook annotations into its state database ($HITL_WORKSPACE)",
    )
    serve.set_defaults(func=_serve)


def _client(args: argparse.Namespace):
    from hitl_active.cli import CLIError
    from hitl_active.labelstudio import LabelStudioClient

    token = args.token or os.environ.get("LABEL_STUDIO_API_KEY")
    if not token:
        raise CLIError(
            "no API token: pass --token or set LABEL_STUDIO_API_KEY "
            "(`scripts/label-studio env` prints it for the local server)"
        )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    return LabelStudioClient(args.url, token)


def _classes(value: str) -> list[str]:
    path = Path(value)
    if path.is_file():
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [c.strip() for c in value.split(",") if c.strip()]


def _errors():
    from hitl_active.labelstudio import LabelStudioError

    return (LabelStudioError, ValueError)  # ValueError: bad titles, label mismatches


def _script(args: argparse.Namespace) -> int:
    from hitl_active.cli import CLIError

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


def _setup(args: argparse.Namespace) -> int:
    from hitl_active.cli import CLIError
    from hitl_active.labelstudio import connect_local_files, ensure_project

    try:
        with _client(args) as client:
            project = ensure_project(client, args.project, _classes(args.classes))
            storage = connect_local_files(client, project.id, args.images) if args.images else None
    except _errors() as exc:
        raise CLIError(str(exc)) from exc
    print(json.dumps({"project_id": project.id, "title": project.title, "storage_id": storage}))
    return 0


def _pull(args: argparse.Namespace) -> int:
    from hitl_active.cli import CLIError
    from hitl_active.labelstudio import SQLiteSink, pull_annotations
    from hitl_active.labelstudio.project import find_project

    sink = SQLiteSink(args.db)
    try:
        with _client(args) as client:
            project = find_project(client, args.project, _classes(args.classes))
            if project is None:
                raise CLIError(f"no project titled {args.project!r} at {args.url}; run setup")
            report = pull_annotations(client, project, sink, progress=not args.quiet)
    except _errors() as exc:
        raise CLIError(str(exc)) from exc
    finally:
        sink.close()
    print(json.dumps(report.__dict__))
    return 0


def _connect(args: argparse.Namespace) -> int:
    from hitl_active.cli import CLIError
    from hitl_active.labelstudio import register_webhook
    from hitl_active.labelstudio.ml import connect_ml_backend
    from hitl_active.labelstudio.project import parse_label_config

    secret = args.secret or os.environ.get("HITL_WEBHOOK_SECRET")
    if not secret:
        raise CLIError("no shared secret: pass --secret or set HITL_WEBHOOK_SECRET")
    serve_url = args.serve_url.rstrip("/")
    try:
        with _client(args) as client:
            match = [p for p in client.projects() if p.get("title") == args.project]
            if not match:
                raise CLIError(f"no project titled {args.project!r} at {args.url}; run setup first")
            pid = int(match[0]["id"])
            parse_label_config(match[0]["label_config"])
            hook = register_webhook(client, pid, f"{serve_url}/webhook", secret)
            backend = None
            if not args.no_ml_backend:
                backend = connect_ml_backend(client, pid, serve_url, secret=secret)["id"]
    except _errors() as exc:
        raise CLIError(str(exc)) from exc
    print(json.dumps({"project_id": pid, "webhook_id": hook, "ml_backend_id": backend}))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hitl_active.cli import CLIError
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
            raise CLIError(
                f"workspace {settings.workspace} has no promoted model yet; run "
                "`hitl-active round` and `hitl-active loop` first, or pass --model"
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
