"""``hitl-active pilot``: try a change of working conditions on a group, and measure it."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone

from hitl_active.cli.errors import CLIError


def _date(text: str) -> float:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write a date as YYYY-MM-DD") from None
    return day.timestamp()


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    p = subparsers.add_parser(
        "pilot",
        help="pilots of working conditions: their effect on well-being, work and the client",
        description="Record a change tried on a group of annotators against a control group "
        "(the change itself is made as usual, e.g. in hitl-active.yaml's work settings), and "
        "report its effect per measure by difference in differences, with a 95%% interval: "
        "WHO-5 well-being (the optional survey on each person's page), active hours, skips "
        "and tasks per active hour. Groups under 5 people are too small to conclude.",
    )
    sub = p.add_subparsers(dest="pilot_command", required=True)
    d = sub.add_parser("define", help="record a pilot")
    d.add_argument("name")
    d.add_argument("--change", required=True, help='what is tried, e.g. "rate x1.2"')
    d.add_argument("--group", type=_names, required=True, help="who gets it: a,b,c")
    d.add_argument("--control", type=_names, required=True, help="who does not: d,e,f")
    d.add_argument("--start", type=_date, required=True, help="YYYY-MM-DD")
    d.add_argument("--end", type=_date, default=None, help="YYYY-MM-DD (default: open)")
    d.add_argument("--baseline-days", type=int, default=14, help="days before the start")
    ls = sub.add_parser("list", help="the pilots")
    r = sub.add_parser("report", help="a pilot's effect per measure")
    r.add_argument("name")
    for q in (d, ls, r):
        q.add_argument("-w", "--workspace", default=".", help="workspace folder (default: .)")
        q.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_pilot)


def _pilot(args: argparse.Namespace) -> int:
    from hitl_active.team.pilots import define_pilot, pilot_report
    from hitl_active.workspace.workspace import Workspace, WorkspaceError

    try:
        ws = Workspace.open(args.workspace)
    except WorkspaceError as exc:
        raise CLIError(str(exc)) from None
    with ws:
        try:
            if args.pilot_command == "define":
                out = define_pilot(ws, args.name, args.change, args.group, args.control,
                                   args.start, args.end, args.baseline_days)  # fmt: skip
                n, m = len(args.group), len(args.control)
                text = f"pilot {args.name!r} recorded: {n} in it, {m} in control"
            elif args.pilot_command == "list":
                out = ws.store.pilots()
                rows = [f"{p['name']}: {p['change']} ({len(p['pilot_group'])} in it, "
                        f"{len(p['control_group'])} in control)" for p in out]  # fmt: skip
                text = "\n".join(rows) or "no pilots yet"
            else:
                out = pilot_report(ws, args.name)
                before, after = (" to ".join(out[k]) for k in ("before", "after"))
                head = f"pilot {out['pilot']} ({out['change']}): before {before}, after {after}"
                text = "\n".join([head, *(e["says"] for e in out["effects"])])
        except (ValueError, KeyError) as exc:
            raise CLIError(str(exc).strip("'\"")) from None
    print(json.dumps(out, indent=1, default=str) if args.json else text)
    return 0
