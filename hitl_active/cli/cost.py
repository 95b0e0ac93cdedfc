"""``hitl-active cost fit``: the annotators' seconds per action, fitted to the workspace."""

from __future__ import annotations

import argparse
import json

from hitl_active.cli.errors import CLIError

__all__ = ["register"]


def _fit(args: argparse.Namespace) -> int:
    from hitl_active.cli.loop import _open
    from hitl_active.loop.costs import FIT_KEY, annotation_log, fit_workspace
    from hitl_active.sampling.cost_fit import MIN_ANNOTATIONS

    with _open(args) as ws:
        fit = fit_workspace(ws, n_boot=args.bootstrap)
        if fit is None:
            n = len(annotation_log(ws)[1])
            raise CLIError(
                f"{n} annotations with a lead time, fewer than the {MIN_ANNOTATIONS} a fit "
                "needs; label more images (the loop uses the published defaults until then)"
            )
        if not args.dry_run:
            ws.store.set(FIT_KEY, fit.to_dict())
    if args.json:
        print(json.dumps(fit.to_dict(), indent=2))
    else:
        print(fit.format())
        if not args.dry_run:
            print("kept in the workspace; each round's selection refits the same way")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cost fit``."""
    p = subparsers.add_parser("cost", help="annotator cost model of a workspace")
    sub = p.add_subparsers(dest="cost_command", metavar="ACTION", required=True)
    f = sub.add_parser(
        "fit",
        help="fit seconds per action (verify, fix, relabel, delete, draw, per image) to the "
        "recorded annotations' lead times, with bootstrap intervals",
    )
    f.add_argument("-w", "--workspace", default=".", help="workspace folder (default: .)")
    f.add_argument("--bootstrap", type=int, default=200, metavar="N", help="resamples (200)")
    f.add_argument("--json", action="store_true", help="print the fit as JSON")
    f.add_argument("--dry-run", action="store_true", help="print only; write nothing")
    f.set_defaults(func=_fit)
