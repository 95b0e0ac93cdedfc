"""``hitl-active annotators``: the team's records and figures, and gold contests.

``annotators`` alone prints the team table (``--json`` for machines); the actions keep the
records (``add``, ``set``), show one person everything measured about them (``show``), draw
the skill matrix (``matrix``), let an annotator contest a gold item that a reviewer then
upholds or corrects (``contest``, ``contests``, ``review``), give every annotator a
Label Studio queue that rounds are routed to by skill (``queues``), and issue an annotator the
personal key that opens their own page on ``hitl-active serve`` (``key``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hitl_active.cli.contests import register_contests
from hitl_active.cli.pagekeys import register_pagekeys
from hitl_active.cli.people import _error, _open, _person
from hitl_active.cli.queues import register_queues

__all__ = ["register"]


def _table(args: argparse.Namespace) -> int:
    from hitl_active.reports.team_report import team_rows
    from hitl_active.team.team_skill import team_skills

    with _open(args) as ws:
        skills = team_skills(ws)
    rows = team_rows(skills)
    if args.json:
        doc = {"classes": skills.class_names, "agreement": skills.agreement, "annotators": rows}
        print(json.dumps(doc, indent=2))
        return 0
    if not rows:
        print("no annotators yet: they are recorded as they first answer, or with `annotators add`")
        return 0
    print(_format(rows, [*skills.class_names, "all"]))
    if skills.agreement is not None:
        print(f"\npairwise agreement on overlapped images (F1 at IoU 0.5): {skills.agreement:.2f}")
    flags = [f["message"] for r in rows for f in r["flags"]]
    print("\nflags (for a person to review; nothing is excluded automatically):")
    print("\n".join(f"  {m}" for m in flags) if flags else "  none")
    return 0


def _format(rows: list[dict], classes: list[str]) -> str:
    from hitl_active.reports.team_report import format_estimate
    from hitl_active.workforce.stats import Estimate

    def est(d: dict | None) -> str:
        return format_estimate(None if d is None else Estimate(**d))

    head = (f"{'annotator':<16} {'tier':<9} {'tasks':>5} {'gold':>4} {'hours':>6} {'flags':>5}  "
            f"{'class':<12} {'recall (90%)':<17} {'precision (90%)':<17}")  # fmt: skip
    head = head.rstrip()
    lines = [head, "-" * len(head)]
    for r in rows:
        lead = (f"{r['name'][:16]:<16} {r['tier']:<9} {r['tasks']:>5} {r['honeypots']:>4} "
                f"{r['hours']:>6.2f} {len(r['flags']):>5}")  # fmt: skip
        for k, c in enumerate(classes):
            left = lead if k == 0 else " " * len(lead)
            lines.append(f"{left}  {c[:12]:<12} {est(r['recall'][c]):<17} "
                         f"{est(r['precision'][c]):<17}".rstrip())  # fmt: skip
    return "\n".join(lines)


def _add(args: argparse.Namespace) -> int:
    with _open(args) as ws:
        for key in (args.name, args.email):
            if key and ws.store.annotator(key) is not None:
                raise _error(
                    f"an annotator {key!r} exists already; change it with `annotators set`"
                )
        try:
            row = ws.store.add_annotator(
                args.name, email=args.email, tier=args.tier, notes=args.notes,
                languages=args.languages,
            )  # fmt: skip
        except ValueError as exc:
            raise _error(str(exc)) from None
    print(f"annotator {row.name} ({row.email or 'no e-mail'}), tier {row.tier}")
    return 0


def _set(args: argparse.Namespace) -> int:
    import getpass
    import time

    keys = ("tier", "notes", "languages", "email", "location", "sensitive_opt_out", "active",
            "client_work")  # fmt: skip
    fields = {k: getattr(args, k) for k in keys}
    fields = {k: v for k, v in fields.items() if v is not None}
    if not fields:
        raise _error(
            "nothing to set; pass --tier, --notes, --languages, --email, --location, "
            "--sensitive-opt-out yes|no, --active yes|no or --client-work yes|no"
        )
    for flag in ("sensitive_opt_out", "active", "client_work"):
        if flag in fields:
            fields[flag] = int(fields[flag] == "yes")
    if "client_work" in fields:  # a manager's decision: kept with who and when
        fields["client_work_by"] = args.by or getpass.getuser()
        fields["client_work_at"] = time.time()
    with _open(args) as ws:
        row = _person(ws, args.name)
        try:
            ws.store.update_annotator(row.id, **fields)
        except ValueError as exc:
            raise _error(str(exc)) from None
        row = ws.store.annotator(row.id)
    shown = {k: v for k, v in sorted(fields.items()) if k != "client_work_at"}
    print(f"annotator {row.name}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    return 0


def _show(args: argparse.Namespace) -> int:
    from hitl_active.team.team_skill import annotator_view

    with _open(args) as ws:
        view = annotator_view(ws, _person(ws, args.name).name)
    print(json.dumps(view, indent=2))
    return 0


def _matrix(args: argparse.Namespace) -> int:
    from hitl_active.reports.team_plot import skill_matrix_png
    from hitl_active.team.team_skill import team_skills

    with _open(args) as ws:
        if not ws.store.annotators():
            raise _error("no annotators yet: nothing to plot (they appear as they first answer)")
        skills = team_skills(ws)
        out = Path(args.out) if args.out else ws.root / "reports" / "skill_matrix.png"
        png = skill_matrix_png(skills, skills.class_names, out)
    print(png)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``annotators`` and its actions (the contest actions live in :mod:`.contests`)."""
    from hitl_active.store.schema import TIERS

    p = subparsers.add_parser(
        "annotators",
        help="the annotators: tasks, hours, skill per class with intervals, flags",
        description="Without an action: the team table (--json for machines).",
    )
    p.add_argument("-w", "--workspace", default=".", help="workspace folder (default: .)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_table)
    sub = p.add_subparsers(dest="annotators_command", metavar="ACTION")

    def action(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        a = sub.add_parser(name, help=help)
        a.add_argument(
            "-w", "--workspace", default=argparse.SUPPRESS, help="workspace folder (default: .)"
        )
        a.set_defaults(func=func)
        return a

    a = action("add", _add, "record an annotator")
    a.add_argument("name", help="the name people read")
    a.add_argument("--email", help="the e-mail of their Label Studio user")
    a.add_argument("--tier", choices=TIERS, default="annotator")
    a.add_argument("--notes", help="what the manager keeps about them")
    a.add_argument("--languages", help="languages they work in, e.g. 'en,sw'")
    s = action(
        "set", _set, "change an annotator's tier, notes, languages, e-mail, location, "
        "sensitive-content opt-out, routing (--active), a trainee's client work",
    )  # fmt: skip
    s.add_argument("name", help="name or e-mail")
    s.add_argument("--tier", choices=TIERS)
    s.add_argument("--notes")
    s.add_argument("--languages")
    s.add_argument("--email")
    s.add_argument("--location", help="where they live: the key of their living-wage floor")
    s.add_argument(
        "--sensitive-opt-out", choices=("yes", "no"), type=str.lower,
        help="yes: they get no tasks of projects tagged sensitive",
    )  # fmt: skip
    s.add_argument(
        "--active", choices=("yes", "no"), type=str.lower,
        help="no: no queue, tasks, honeypots or new pay from the next round (their history "
        "stays in every report); yes: routed again",
    )  # fmt: skip
    s.add_argument(
        "--client-work", choices=("yes", "no"), type=str.lower,
        help="yes: a trainee gets client frames and honeypots before the training track says "
        "ready; no: the training track decides again (recorded with --by and the time)",
    )  # fmt: skip
    s.add_argument("--by", help="who decides --client-work (default: your login name)")
    action("show", _show, "everything measured about one annotator (JSON)").add_argument(
        "name", help="name or e-mail"
    )
    m = action("matrix", _matrix, "the skill-matrix PNG (annotator x class recall)")
    m.add_argument("--out", help="PNG path (default: WORKSPACE/reports/skill_matrix.png)")
    register_contests(action)
    register_queues(action)
    register_pagekeys(action)
