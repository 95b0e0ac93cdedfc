"""``hitl-active audit``: a measured quality guarantee for the delivered dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hitl_active.cli.errors import CLIError
from hitl_active.cli.loop import _open as open_workspace
from hitl_active.cli.lsargs import add_label_studio_flags, label_studio_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    p = subparsers.add_parser(
        "audit",
        help="estimate the delivered boxes' precision and recall, with 95%% intervals",
        description="Draw a stratified random sample of the delivery (boxes per provenance "
        "class: human, corrected, accepted, model; images: verified, model-only), put it to "
        "reviewers in a Label Studio project of its own (or read a set audited elsewhere with "
        "--from), and record each class's precision and recall with 95%% Wilson intervals in "
        "the dataset card and the report. Re-run to read new reviews: the same sample is kept "
        "until --new.",
    )
    p.add_argument("-w", "--workspace", default=".", help="workspace folder (default: .)")
    p.add_argument("--half-width", type=float, default=0.05,
                   help="the intervals' half-width the sample is sized for "
                   "(default: %(default)s)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default: 0)")
    p.add_argument("--new", action="store_true", help="draw a new sample")
    p.add_argument("--from", dest="from_file", type=Path, default=None, metavar="FILE",
                   help="reviewed boxes as a provenance.json edited to what is there")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.add_argument("--likely-errors", action="store_true",
                   help="instead, rank the delivered boxes by how likely their label is wrong "
                   "(Cleanlab's scores, by a model that did not train on them); writes "
                   "WORKSPACE/reports/likely_errors.json")  # fmt: skip
    p.add_argument("--top", type=int, default=20,
                   help="likely errors to print (default: %(default)s)")  # fmt: skip
    add_label_studio_flags(p.add_argument_group("Label Studio"), none_means="plan only")
    p.set_defaults(func=_audit)


def _audit(args: argparse.Namespace) -> int:
    from hitl_active.delivery.audit import quality_lines
    from hitl_active.delivery.audit_run import run_audit
    from hitl_active.labelstudio.client import LabelStudioClient, LabelStudioError

    if args.likely_errors:
        return _likely_errors(args)
    if not 0 < args.half_width < 0.5:
        raise CLIError(f"--half-width must be between 0 and 0.5, got {args.half_width}")
    with open_workspace(args) as ws:
        url, token, files_root = label_studio_settings(args, ws, "the audit")
        client = (
            None if url is None or args.from_file is not None else LabelStudioClient(url, token)
        )
        try:
            status = run_audit(ws, client, files_root, args.from_file, args.half_width,
                               args.seed, args.new, title=args.project)  # fmt: skip
        except (ValueError, LabelStudioError) as exc:
            raise CLIError(str(exc)) from None
        finally:
            if client is not None:
                client.close()
    if args.json:
        print(json.dumps(status.to_dict(), indent=1))
        return 0
    sample = status.to_dict()["sample"]
    print(f"audit sample: {sample} ({status.review_images} images to review)")
    if status.project is not None:
        print(f"Label Studio project {status.project}: {status.reviewed} of "
              f"{status.review_images} images reviewed")  # fmt: skip
    elif status.result is None and args.from_file is None:
        print("no Label Studio given: pass --label-studio URL (or --from FILE) to review it")
    if status.result is not None:
        print("\n".join(quality_lines(status.result)))
    return 0


def _likely_errors(args: argparse.Namespace) -> int:
    from hitl_active.delivery.likely_errors import likely_errors

    if args.top < 0:
        raise CLIError(f"--top must be 0 or more, got {args.top}")
    with open_workspace(args) as ws:
        queue = likely_errors(ws)
        out = ws.root / "reports" / "likely_errors.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(queue, indent=1))
    if args.json:
        print(json.dumps({**queue, "entries": queue["entries"][: args.top]}, indent=1))
        return 0
    print(f"{queue['boxes']} boxes on {queue['images']} answered images scored "
          f"({queue['unscored']} images no model could score out of sample)")  # fmt: skip
    print(f"the whole queue: {out}")
    for e in queue["entries"][: args.top]:
        where = ", ".join(f"{v:g}" for v in e["xyxy"])
        print(f"{e['score']:.3f}  {e['issue']:<10}  {e['class']:<12}  [{where}]  {e['image']}")
    return 0
