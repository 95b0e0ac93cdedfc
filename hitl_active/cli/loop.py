"""CLI: ``init``, ``round``, ``loop``, ``models``, ``status``, ``report``, ``demo``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

from hitl_active.cli.errors import CLIError

__all__ = ["export_dataset_command", "register"]

logger = logging.getLogger(__name__)


def _cli_error(message: str) -> Exception:
    return CLIError(message)


def _open(args: argparse.Namespace, write: str | None = None) -> Any:
    """Open the workspace; ``write`` names the command that becomes its one writer."""
    from hitl_active.workspace.workspace import Workspace, WorkspaceError

    try:
        ws = Workspace.open(args.workspace)
    except WorkspaceError as exc:
        raise _cli_error(str(exc)) from None
    if write is not None:
        try:
            ws.lock(f"hitl-active {write}", wait=getattr(args, "wait", False))
        except BaseException:
            ws.close()
            raise
    return ws


def _add_wait(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wait", action="store_true", help="if another command writes to the workspace, wait"
    )


def _add_workspace(p: argparse.ArgumentParser) -> None:
    p.add_argument("-w", "--workspace", default=".", help="workspace folder (default: .)")


def _add_backend(p: argparse.ArgumentParser) -> None:
    from hitl_active.cli.lsargs import add_label_studio_flags

    g = p.add_argument_group("annotation backend")
    add_label_studio_flags(g, none_means="local tasks only")
    g.add_argument(
        "--simulate-labels",
        default=None,
        metavar="DIR",
        help="answer tasks with a simulated annotator reading YOLO labels from DIR",
    )
    g.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        metavar="S",
        help="stop waiting for annotations after S seconds; re-run to resume",
    )
    p.add_argument(
        "--ray",
        dest="ray_address",
        default=None,
        metavar="ADDRESS",
        help="pre-label the pool on Ray Data (the `scale` extra): local, auto, or "
        "ray://HEAD:10001 (default: the workspace's ray_address; none: this process)",
    )


def make_backend(args: argparse.Namespace, ws: Any) -> Any:
    from hitl_active.bench.annotator import SimulatedAnnotator
    from hitl_active.cli.lsargs import label_studio_settings
    from hitl_active.loop.backends import LabelStudioBackend, LocalBackend, load_truths

    annotator = None
    if args.simulate_labels:
        truths = load_truths(ws, args.simulate_labels)
        annotator = SimulatedAnnotator(truths, display_threshold=ws.config.conf_threshold)
    url, token, files_root = label_studio_settings(args, ws, "rounds")
    if not url:
        return LocalBackend(annotator)
    if ws.config.team_queues:  # one queue project per annotator (hitl-active annotators queues)
        from hitl_active.team.team import TeamBackend

        if annotator is not None:
            raise _cli_error(
                "--simulate-labels answers one shared project; with team queues each person "
                "answers their own queue in Label Studio (set team_queues: false to simulate)"
            )
        return TeamBackend(url, token, args.project, files_root, progress=not args.quiet)
    # the workspace's project (or, before it has one, --project / "hitl-active <folder>")
    return LabelStudioBackend(
        url, token, args.project, files_root, annotator, progress=not args.quiet
    )


def _make_loop(args: argparse.Namespace, ws: Any) -> Any:
    from hitl_active.loop.policy import policy_from_config
    from hitl_active.loop.rounds import Loop

    policy = policy_from_config(ws.config.retrain_every, getattr(args, "on_demand", False))
    if getattr(args, "ray_address", None):
        ws.config.ray_address = args.ray_address  # this run only; not written to the config
    return Loop(ws, make_backend(args, ws), policy, progress=not args.quiet)


# ---------------------------------------------------------------------- commands
def _init(args: argparse.Namespace) -> int:
    import numpy as np

    from hitl_active.loop.import_model import ModelImportError
    from hitl_active.models.start import StartModelError, resolve_start
    from hitl_active.workspace.workspace import LoopConfig, Workspace, WorkspaceError

    given = {w for w in (args.workspace, args.workspace_flag) if w is not None}
    if len(given) != 1:
        raise _cli_error(
            "name the workspace to create once: hitl-active init ws --images DIR --classes a,b "
            "(or -w ws)" + (f"; got both {sorted(given)}" if given else "")
        )
    args.workspace = given.pop()
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    start = args.model
    try:  # checked now, not at the first retrain; a name Ultralytics publishes is downloaded
        resolved = resolve_start(start)
    except StartModelError as exc:
        raise _cli_error(str(exc)) from None
    if start.endswith(".pt"):
        start = resolved
    bring = start if Path(start).suffix.lower() in (".pt", ".onnx") else None
    try:
        cfg = LoopConfig(
            images=args.images, classes=classes, imgsz=args.imgsz,
            model=start if bring is None or bring.endswith(".pt") else "base",
            epochs=args.epochs, round_size=args.round_size, gold_size=args.gold_size,
            retrain_every=args.retrain_every, seed=args.seed, database_url=args.database_url,
            review=args.review, **({"strategy": args.strategy} if args.strategy else {}),
        )  # fmt: skip
        with Workspace.create(args.workspace, cfg) as ws:
            try:
                ws.lock("hitl-active init")
                n_gold = ws.freeze_gold(
                    np.random.default_rng(args.seed), args.gold_labels, args.gold_images
                )
                first = _init_extras(args, ws, bring)
            except (WorkspaceError, ModelImportError, *_label_studio_errors()):
                ws.discard()  # nothing half-made: the corrected command can run again
                raise
            counts = ws.store.count_images()
    except (WorkspaceError, ModelImportError, *_label_studio_errors()) as exc:
        raise _cli_error(str(exc)) from None
    print(f"workspace {args.workspace}: {counts['pool']} pool images, {n_gold} gold images")
    if first:
        print(first)
    _warn_random_start(cfg.model, Path(args.images))
    return 0


def _warn_random_start(model: str, images: Path) -> None:
    """Random weights on real photos learn slowly: say so when the workspace is made."""
    from hitl_active.data.synthetic import is_synthetic_pool
    from hitl_active.models.start import is_random_start

    if is_random_start(model) and not is_synthetic_pool(images):
        logger.warning(
            "training starts from random weights (%s) and the pool holds real photos: expect "
            "hundreds of labels before pre-labels help; start from the shipped photo base "
            "(--model base) or a detector of your own (--model FILE.pt)",
            model,
        )


def _init_extras(args: argparse.Namespace, ws: Any, bring: str | None) -> str:
    """``init --model FILE``: the first version; ``--project``/``--label-studio``: the project."""
    lines = []
    if bring is not None:
        from hitl_active.loop.import_model import OtherClassesError, import_model
        from hitl_active.loop.registry import gold_map

        try:
            version, promoted = import_model(ws, bring, progress=not args.quiet)
        except OtherClassesError as exc:
            if not bring.endswith(".pt"):
                raise
            lines.append(
                f"model {bring}: {str(exc).split(';')[0]}; training starts from it (its class "
                "head re-made for the workspace's classes), so round 1 has no pre-labels yet"
            )
        else:
            m = gold_map(version)
            lines.append(
                f"model {bring} is {version.name} ({'promoted' if promoted else 'candidate'}"
                + ("" if m is None else f", gold mAP50-95 {m:.4f}") + ")"
            )  # fmt: skip
    if args.project or args.ls_url:
        from hitl_active.labelstudio.client import LabelStudioClient
        from hitl_active.loop.ls_project import bind_project

        url = args.ls_url or os.environ.get("LABEL_STUDIO_URL") or "http://127.0.0.1:8080"
        token = args.token or os.environ.get("LABEL_STUDIO_API_KEY", "")
        if not token:
            raise _cli_error("no Label Studio token: pass --token or set LABEL_STUDIO_API_KEY")
        with LabelStudioClient(url, token) as client:
            project = bind_project(ws, client, url, args.project)
        lines.append(f"Label Studio project {project.title!r} (id {project.id}) at {url}")
    return "\n".join(lines)


def _label_studio_errors() -> tuple[type[Exception], ...]:
    """Errors a Label Studio backend reports to the user (server, token, project, labels)."""
    from hitl_active.labelstudio import LabelMismatchError, LabelStudioError
    from hitl_active.labelstudio.project import ProjectMismatchError

    return (LabelStudioError, LabelMismatchError, ProjectMismatchError)


def _connected(loop: Any) -> Any:
    """Check the Label Studio project (and ``--project``) up front, even on a resumed round."""
    if hasattr(loop.backend, "connect"):
        loop.backend.connect(loop.ws)
    return loop


def _round(args: argparse.Namespace) -> int:
    from hitl_active.loop.backends import LocalBackend

    with _open(args, write="round") as ws:
        try:
            loop = _connected(_make_loop(args, ws))
            row = loop.round_until_pushed()
        except _label_studio_errors() as exc:
            raise _cli_error(str(exc)) from None
        waiting = isinstance(loop.backend, LocalBackend) and loop.backend.annotator is None
        hint = (
            "no Label Studio: the tasks wait in the state database; set LABEL_STUDIO_URL "
            "and LABEL_STUDIO_API_KEY (README: Annotating in Label Studio) and re-run, or "
            f"answer them with `hitl-active loop -w {args.workspace} --simulate-labels DIR`"
        )
        selected = int(row.info.get("selected", 0))
        if args.json:
            out = {"round": row.id, "step": row.step, "selected": selected}
            print(json.dumps({**out, "next": hint if waiting else None}, indent=1))
            return 0
        if waiting:  # "pushed" would say the tasks went somewhere: they wait here
            print(f"round {row.id}: {selected} images selected; their tasks wait in {ws.root}")
            print(hint)
        else:
            print(f"round {row.id}: {row.step} ({selected} images selected)")
    return 0


def _loop(args: argparse.Namespace) -> int:
    from hitl_active.loop.table import format_table

    with _open(args, write="loop") as ws:
        try:
            loop = _connected(_make_loop(args, ws))
        except _label_studio_errors() as exc:
            raise _cli_error(str(exc)) from None
        if args.retrain_now:
            loop.request_retrain()
        summaries = []
        for _ in range(args.rounds):
            try:
                summary = loop.run_round(wait_timeout_s=args.wait_timeout)
            except _label_studio_errors() as exc:
                raise _cli_error(str(exc)) from None
            if summary is None:
                if args.json:
                    print(json.dumps({"waiting": True, "next": "run the same command again"}))
                else:
                    print("annotations still open; run the same command again to keep waiting")
                return 3
            summaries.append(summary)
            if args.json:  # one JSON object per finished round, as it finishes
                print(json.dumps(dataclasses.asdict(summary)), flush=True)
            else:
                print(format_table([summary], header=len(summaries) == 1), flush=True)
    return 0


def _models(args: argparse.Namespace) -> int:
    from hitl_active.loop.registry import ModelRegistry, RegistryError, gold_map

    write = None if args.action == "list" else f"models {args.action}"
    with _open(args, write=write) as ws:
        reg = ModelRegistry(ws.store, ws.models_dir)
        try:
            if args.action == "promote":
                if not args.name:
                    raise _cli_error("which version? hitl-active models promote v0002 [--force]")
                ok = reg.promote(args.name, force=args.force)
                print(f"{args.name}: {'promoted' if ok else 'not promoted (use --force)'}")
                if ok:  # the pool's scores and the open tasks' pre-labels follow
                    _make_loop(args, ws).catch_up()
                return 0 if ok else 1
            if args.action == "add":
                return _models_add(args, ws)
            if args.action == "rollback":
                name = reg.rollback()
                _make_loop(args, ws).catch_up()
                print(f"rolled back to {name}")
                return 0
        except RegistryError as exc:
            raise _cli_error(str(exc)) from None
        if args.json:
            rows = [
                {"version": v.name, "parent": v.parent, "status": v.status,
                 "map50_95": gold_map(v), "map50": gold_map(v, "map50"),
                 "images": v.snapshot.get("n_images")}
                for v in reg.list()
            ]  # fmt: skip
            print(json.dumps(rows, indent=1))
            return 0
        print(f"{'version':8} {'parent':8} {'status':10} {'mAP50-95':>9} {'mAP50':>7} images")
        for v in reg.list():
            m, m50 = gold_map(v), gold_map(v, "map50")
            print(
                f"{v.name:8} {v.parent or '-':8} {v.status:10} "
                f"{'-' if m is None else f'{m:.4f}':>9} {'-' if m50 is None else f'{m50:.4f}':>7} "
                f"{v.snapshot.get('n_images', '-')}"
            )
    return 0


def _models_add(args: argparse.Namespace, ws: Any) -> int:
    """``models add -w WS FILE``: an existing detector becomes a version (see import_model)."""
    from hitl_active.loop.import_model import ModelImportError, import_model

    if not args.name:
        raise _cli_error("which file? hitl-active models add best.pt|model.onnx -w WS")
    try:
        version, promoted = import_model(ws, args.name, force=args.force, progress=not args.quiet)
    except ModelImportError as exc:
        raise _cli_error(str(exc)) from None
    print(f"{args.name}: {version.name}, {'promoted' if promoted else 'not promoted'}")
    if promoted:  # the pool's scores and the open tasks' pre-labels follow
        _make_loop(args, ws).catch_up()
    return 0


def _status(args: argparse.Namespace) -> int:
    from hitl_active.loop.status import loop_status

    with _open(args) as ws:
        st = loop_status(ws)
        print(json.dumps(st.to_dict(), indent=1) if args.json else st.format())
    return 0


def _report(args: argparse.Namespace) -> int:
    from hitl_active.reports.report import write_report

    with _open(args) as ws:
        png, page = write_report(ws, args.out)
    print(f"learning curve: {png}\nsummary: {page}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from hitl_active.bench.demo import DemoConfig, run_demo

    cfg = DemoConfig(
        workspace=Path(args.workspace), n_images=args.images, rounds=args.rounds,
        round_size=args.round_size, epochs=args.epochs, imgsz=args.imgsz,
        label_studio=args.label_studio, fresh=args.fresh, strategy=args.strategy,
        progress=not args.quiet,
    )  # fmt: skip
    run_demo(cfg, out=print)
    return 0


def export_dataset_command(args: argparse.Namespace) -> int:
    """``hitl-active export --format yolo|coco|voc --out DIR`` (called from cli/export.py)."""
    from hitl_active.delivery import export_dataset

    with _open(args) as ws:
        try:
            res = export_dataset(
                ws, args.out, args.format,
                include_model_only=not getattr(args, "human_only", False),
                overwrite=getattr(args, "overwrite", False),
            )  # fmt: skip
        except (FileExistsError, ValueError) as exc:
            raise _cli_error(str(exc)) from None
    card = res.card
    print(
        f"exported {res.n_images} images, {res.n_boxes} boxes to {res.out_dir} "
        f"({card['human_verified_share']:.1%} human-verified, "
        f"{card['annotator_hours']:.2f} annotator-hours)"
    )
    return 0


def _extend_export(subparsers: argparse._SubParsersAction) -> None:
    """Add the dataset formats to ``hitl-active export`` (its parser lives in cli/export.py)."""
    from hitl_active.cli import export as export_cli

    parser = subparsers.choices.get("export")
    if parser is None:
        return
    g = parser.add_argument_group(
        "dataset delivery (--format yolo|coco|voc --out DIR)",
        "images, labels, per-box provenance (provenance.json) and a dataset card",
    )
    g.add_argument("-w", "--workspace", default=".", help="workspace folder (default: .)")
    g.add_argument("--human-only", action="store_true", help="leave out model-only images")
    g.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    for fmt in ("yolo", "coco", "voc"):
        export_cli.EXPORTERS[fmt] = export_dataset_command


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    _extend_export(subparsers)
    p = subparsers.add_parser("init", help="create a workspace (config, state db, models)")
    p.add_argument("workspace", nargs="?", default=None, help="folder to create (or -w)")
    p.add_argument("-w", "--workspace", dest="workspace_flag", default=None,
                   help="folder to create, as every other command names it")  # fmt: skip
    p.add_argument("--images", required=True, help="folder of client images (the pool)")
    p.add_argument("--classes", required=True, help="class names, comma-separated: a,b,c")
    p.add_argument("--gold-size", type=int, default=20, help="random pool images frozen as gold")
    p.add_argument("--gold-labels", default=None, help="YOLO labels for the gold images")
    p.add_argument("--gold-images", default=None, help="a separate labelled gold image folder")
    p.add_argument(
        "--model", default="base",
        help="where training starts: base (the shipped photo-trained detector; the default), "
        "scratch or a model YAML (random weights), a name Ultralytics publishes (yolo11n.pt; "
        "downloaded when online), or your detector (.pt or .onnx): one of the workspace's "
        "classes becomes v0001, evaluated on the gold set and promoted, so round 1 has "
        "pre-labels",
    )  # fmt: skip
    p.add_argument("--project", default=None, help="Label Studio project title to bind")
    p.add_argument(
        "--label-studio", "--ls-url", dest="ls_url", default=None, metavar="URL",
        help="Label Studio URL to bind (default: $LABEL_STUDIO_URL; with --project)",
    )  # fmt: skip
    p.add_argument("--token", default=None, help="API token (default: $LABEL_STUDIO_API_KEY)")
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument(
        "--round-size", "--batch-size", dest="round_size", type=int, default=20,
        help="images selected per round",
    )  # fmt: skip
    p.add_argument(
        "--strategy", default=None, help="sampling strategy (`hitl-active strategies` lists them)"
    )
    p.add_argument(
        "--review", choices=("images", "boxes"), default="images",
        help="what people review: whole images, or only chosen boxes (sure ones to keep or "
        "delete, uncertain regions to fix)",
    )  # fmt: skip
    p.add_argument("--retrain-every", type=int, default=0, help="new annotations (0: each round)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--database-url", default=None,
        help="keep the state in PostgreSQL (postgresql://USER@HOST/DB) instead of WS/state.db; "
        "$HITL_DATABASE_URL overrides it",
    )  # fmt: skip
    p.set_defaults(func=_init)

    p = subparsers.add_parser("round", help="pre-label the pool, select a batch, push it")
    _add_workspace(p)
    _add_backend(p)
    _add_wait(p)
    p.add_argument("--json", action="store_true", help="the round as JSON on standard output")
    p.set_defaults(func=_round)

    p = subparsers.add_parser("loop", help="run rounds: push, wait, retrain, evaluate, promote")
    _add_workspace(p)
    _add_backend(p)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--retrain-now", action="store_true", help="retrain after this round")
    p.add_argument("--on-demand", action="store_true", help="retrain only with --retrain-now")
    p.add_argument("--json", action="store_true", help="each finished round as a JSON line")
    _add_wait(p)
    p.set_defaults(func=_loop)

    p = subparsers.add_parser("models", help="list, promote or roll back model versions")
    _add_workspace(p)
    _add_backend(p)
    p.add_argument(
        "action", nargs="?", default="list", choices=["list", "promote", "rollback", "add"]
    )
    p.add_argument(
        "name", nargs="?", help="version to promote (e.g. v0002), or the .pt/.onnx file to add"
    )
    p.add_argument("--force", action="store_true", help="promote even if not better on gold")
    p.add_argument("--json", action="store_true", help="list the versions as JSON")
    _add_wait(p)
    p.set_defaults(func=_models)

    p = subparsers.add_parser("status", help="where the loop stands")
    _add_workspace(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_status)

    p = subparsers.add_parser("report", help="learning-curve PNG and HTML summary")
    _add_workspace(p)
    p.add_argument("--out", default=None, help="output folder (default: WORKSPACE/reports)")
    p.set_defaults(func=_report)

    p = subparsers.add_parser("demo", help="the whole loop on a generated dataset, offline")
    p.add_argument("--workspace", default="demo-workspace")
    p.add_argument("--label-studio", action="store_true", help="go through a local Label Studio")
    p.add_argument("--images", type=int, default=None, help="synthetic images (pool + gold)")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument(
        "--round-size", "--batch-size", dest="round_size", type=int, default=None,
        help="images selected per round",
    )  # fmt: skip
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--imgsz", type=int, default=None)
    p.add_argument("--strategy", default=None)
    p.add_argument("--fresh", action="store_true", help="delete the demo workspace first")
    p.set_defaults(func=_demo)
