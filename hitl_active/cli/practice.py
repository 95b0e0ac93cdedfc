"""``hitl-active practice``: the training track — paid practice until a trainee is ready.

``enrol`` gives a trainee a practice project in Label Studio; ``next`` pushes their next
practice tasks, chosen by the adaptive curriculum, each with why; ``grade`` grades what they
answered, writes the feedback onto each task and moves them to the annotator tier once ready
on every skill; ``progress`` shows their mastery per skill (and a PNG over practice minutes);
``tip`` records a peer's "this kind of task helped me with ..." for the curriculum.
"""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hitl_active.cli.annotators import _error, _open, _person
from hitl_active.cli.lsargs import add_label_studio_flags, label_studio_settings

__all__ = ["register"]


@contextmanager
def _track(args: argparse.Namespace, ws: Any):
    from hitl_active.labelstudio.client import LabelStudioClient
    from hitl_active.team.practice_track import PracticeTrack

    url, token, root = label_studio_settings(args, ws, "practice")
    if not url:
        raise _error("practice lives in Label Studio: pass --label-studio URL and --token, or "
                     "set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY")  # fmt: skip
    with LabelStudioClient(url, token) as client:
        yield PracticeTrack(ws, client, root, project_title=args.project)


def _run(args: argparse.Namespace, what: str) -> int:
    with _open(args) as ws:
        _person(ws, args.name)
        try:
            with _track(args, ws) as track:
                if what == "enrol":
                    person = track.enrol(args.name)
                    doc: dict = {"annotator": person.name, "tier": person.tier,
                                 "practice_project": person.practice_project_id}  # fmt: skip
                    line = f"{person.name}: trainee, practice project {person.practice_project_id}"
                elif what == "next":
                    pushed = track.push_next(args.name, n=args.n)
                    doc = {"annotator": args.name, "pushed": [
                        {"task": p.task_id, "ls_task_id": p.ls_task_id, "reason": p.reason}
                        for p in pushed]}  # fmt: skip
                    line = "\n".join(f"{p.task_id} (task {p.ls_task_id}): {p.reason}"
                                      for p in pushed)  # fmt: skip
                    if not pushed:
                        line, doc["out_of_practice"] = _nothing_pushed(track, args.name)
                else:
                    graded, graduated = track.grade(args.name)
                    doc = {"annotator": args.name, "graded": graded, "graduated": graduated}
                    done = "; ready on every skill: tier annotator" if graduated else ""
                    line = f"{args.name}: {graded} practice tasks graded{done}"
                print(json.dumps(doc) if args.json else line)
        except (KeyError, ValueError) as exc:
            raise _error(str(exc).strip("'\"")) from None
    return 0


def _nothing_pushed(track: Any, name: str) -> tuple[str, dict]:
    """Why ``practice next`` pushed nothing: ready, out of practice on some skill (a person
    decides), or every task chosen so far still waits for an answer."""
    from hitl_active.team.practice_track import out_of_practice_advice

    person = track.ws.store.annotator(name)
    state = track.mastery(person)
    short = track.out_of_practice(person, state)
    evidence = {s: {"tasks_done": done, "mastery": round(p, 3)} for s, (done, p) in short.items()}
    if short:
        return out_of_practice_advice(person.name, short), evidence
    if track.ready(person, state):
        return f"{person.name}: ready on every skill, nothing to practise", evidence
    waiting = sum(1 for r in track.ws.store.practice(person.id) if r.outcome is None)
    return (f"{person.name}: nothing new to push; {waiting} practice tasks wait for answers "
            "(`practice grade` once they are in)"), evidence  # fmt: skip


def _progress(args: argparse.Namespace) -> int:
    from hitl_active.reports.practice_plot import progress_png
    from hitl_active.team.practice_track import PracticeTrack

    with _open(args) as ws:
        person = _person(ws, args.name)
        track = PracticeTrack(ws, None, None)
        try:
            state = track.mastery(person)
        except ValueError as exc:
            raise _error(str(exc)) from None
        doc = {
            "annotator": person.name, "tier": person.tier, "tasks": state.tasks_done,
            "minutes": round(state.minutes, 1),
            "mastery": {s: round(state.p_learned(s), 3) for s in sorted(state.p)},
            "ready": sorted(s for s in state.p if state.ready(s)),
        }  # fmt: skip
        # skills the practice pool has nothing left for: a person decides
        doc["out_of_practice"] = sorted(track.out_of_practice(person, state))
        out = Path(args.out or ws.root / "reports" / f"practice_{person.name}.png")
        if state.attempts:
            doc["png"] = str(progress_png(state, out))
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{doc['annotator']} ({doc['tier']}): {doc['tasks']} practice tasks, "
          f"{doc['minutes']} paid minutes")  # fmt: skip
    for skill, p in doc["mastery"].items():
        mark = "  ready" if skill in doc["ready"] else ""
        if skill in doc["out_of_practice"]:
            mark = "  no practice left on it: a person decides (`practice next` says how)"
        print(f"  {skill:<28} {p:.2f}{mark}")
    if "png" in doc:
        print(doc["png"])
    return 0


def _tip(args: argparse.Namespace) -> int:
    with _open(args) as ws:
        person = _person(ws, args.name)
        ws.store.add_peer_tip(person.id, args.skill, args.type, args.text or "")
    print(f"tip from {person.name}: {args.type} tasks helped with {args.skill}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "practice", help="the training track: paid practice with feedback until ready",
        description="The training track: paid practice with feedback until a trainee is ready.",
    )  # fmt: skip
    sub = p.add_subparsers(dest="practice_command", metavar="ACTION", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        a = sub.add_parser(name, help=help)
        a.add_argument("name", help="the trainee's name or e-mail")
        a.add_argument("-w", "--workspace", default=".", help="workspace folder (default: .)")
        return a

    for name, help in (("enrol", "give a trainee a practice project"),
                       ("next", "push the trainee's next practice tasks, each with why"),
                       ("grade", "grade answered practice, feedback onto each task")):  # fmt: skip
        a = action(name, help)
        add_label_studio_flags(a)
        a.add_argument("--json", action="store_true", help="the outcome as JSON")
        if name == "next":
            a.add_argument("-n", type=int, default=5, help="tasks to push (default 5)")
        a.set_defaults(func=lambda args, what=name: _run(args, what))
    g = action("progress", "mastery per skill (and a PNG over practice minutes)")
    g.add_argument("--out", help="PNG path (default: WORKSPACE/reports/practice_NAME.png)")
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=_progress)
    t = action("tip", "a peer tip: this kind of task helped me with a skill")
    t.add_argument("--skill", required=True, help="e.g. recall:dog, box_tightness")
    t.add_argument("--type", required=True, help="the task type that helped, e.g. fix_boxes")
    t.add_argument("--text", help="the tip in their words")
    t.set_defaults(func=_tip)
