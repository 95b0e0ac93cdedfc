"""The ``hitl-active`` command line.

Thin on purpose: each sub-module registers its sub-commands and maps flags onto the
library's config objects and functions. Logging is configured here, and only here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from hitl_active.cli.errors import CLIError

__all__ = ["CLIError", "main"]

# Each module exposes ``register(subparsers)``; sub-commands set ``func(args) -> int``.
_COMMAND_MODULES = (
    "hitl_active.cli.models",  # train
    "hitl_active.cli.export",  # export (ONNX model, or a delivered dataset)
    "hitl_active.cli.prelabel",  # prelabel
    "hitl_active.cli.sampling",  # simulate
    "hitl_active.cli.labelstudio",  # label-studio, serve
    "hitl_active.cli.loop",  # init, round, loop, models, status, report, demo
    "hitl_active.cli.synthetic",  # synthetic
    "hitl_active.cli.cost",  # cost fit
    "hitl_active.cli.annotators",  # annotators (table, add, set, show, matrix, contests)
    "hitl_active.cli.work",  # work (hours, pay, caps, signals, ROI, transparency)
    "hitl_active.cli.practice",  # practice (the training track)
    "hitl_active.cli.audit",  # audit (the delivery's measured quality)
    "hitl_active.cli.pilot",  # pilot (working-condition pilots and their effect)
)


HELP_ORDER = (
    "init", "round", "loop", "status", "models", "report", "export", "audit", "demo",
    "label-studio", "serve", "annotators", "practice", "work", "pilot",
    "prelabel", "train", "synthetic", "cost", "strategies", "simulate",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hitl-active",
        description="Active learning for object detection with humans in the loop.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only, no progress")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    # `--help` lists the commands in the order a user meets them, not the modules' order
    rank = {name: i for i, name in enumerate(HELP_ORDER)}
    subparsers._choices_actions.sort(key=lambda a: rank.get(a.dest, len(rank)))
    return parser


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    if not verbose:  # one line per HTTP request drowns what the loop says
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _configure_logging(args.verbose, args.quiet)
    # Ultralytics must never reach for the network; set before it is first imported.
    os.environ.setdefault("YOLO_OFFLINE", "1")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted; state is saved, re-run the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (`hitl-active strategies | head`): not a failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # quiet exit flush
        return 141  # as a command stopped by SIGPIPE
    except Exception as exc:  # every failure: one line, the traceback only with -v
        from hitl_active.cli.errors import describe_error

        message, code = describe_error(exc)
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
