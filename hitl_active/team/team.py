"""Team queues: a round routed by skill to one Label Studio project per annotator.

Label Studio Community cannot assign a task to a person, so each annotator gets a project of
their own (their *queue*: ``"<workspace project> · <name>"``, same labels, same image
storage). :class:`TeamBackend` is the loop's task backend for a workspace with
``team_queues: true``. At a round's push it

1. plans the round with :func:`hitl_active.workforce.routing.plan_round` among the people
   it routes to (:attr:`~hitl_active.store.store_team.AnnotatorRow.routed`: active, and no
   trainee until the training track says ready or a manager clears them): the most
   uncertain frames, by predicted class, to whoever has the best gold recall on those
   classes, the easier half to cleared trainees first, ``overlap_share`` of the frames to
   ``overlap_annotators`` people, and ``honeypot_share`` of each queue as gold images;
2. stores the plan (``assignments``) before pushing, so a killed push resumes the same plan;
3. pushes each queue in one order: the person's frames by rank, honeypots at random places,
   every task with the same fields (rank in the queue, an uncertainty, the round's
   pre-labels), so a honeypot looks like any task.

Answers are pulled from every queue into the state store. A round is annotated when every
task and overlap assignment has an answer or a skip (honeypots do not hold a round up); an
overlapped image trains on the consensus of its answers
(:func:`hitl_active.loop.truth.overlap_consensus`), and a honeypot answer only scores its
annotator. The gold round itself (labelling the gold set) goes to the workspace's own project,
as without queues.

Community shows every project to every member of the organization: the queues keep work
apart, not secret. Routing decides which frames someone gets, never their pay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hitl_active.i18n import page_language
from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.labelstudio.project import connect_local_files, ensure_project, resolve_project
from hitl_active.labelstudio.pull import pull_annotations
from hitl_active.labelstudio.push import push_tasks, refresh_predictions
from hitl_active.loop import steps
from hitl_active.loop.backends import (
    Annotator,
    LabelStudioBackend,
    WaitingLog,
    _shown,
    answer_task,
)
from hitl_active.loop.ls_project import connect_new_project
from hitl_active.store.store_team import AnnotatorRow, AssignmentRow
from hitl_active.team.team_skill import routing_skill
from hitl_active.team.team_work_figures import capacities
from hitl_active.workforce.routing import Frame, Person, plan_round
from hitl_active.workspace.workspace import Workspace

__all__ = ["SimulatedMember", "TeamBackend"]

logger = logging.getLogger(__name__)


@dataclass
class SimulatedMember:
    """A simulated annotator who answers their queue as their own Label Studio user."""

    token: str
    annotator: Annotator


class TeamBackend(LabelStudioBackend):
    """Rounds routed to per-annotator queue projects (see the module docstring).

    ``members`` maps an annotator's name to a :class:`SimulatedMember` that answers that
    queue through Label Studio's API (tests, benchmarks, the demo); people answer in the UI.
    """

    def __init__(self, *args: Any, members: Mapping[str, SimulatedMember] | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.members = dict(members or {})
        self._queues: dict[int, Any] = {}

    # ------------------------------------------------------------------ queues
    def queue(self, ws: Workspace, person: AnnotatorRow) -> Any:
        """The annotator's queue project, created (and recorded) on first use."""

        if person.id in self._queues:
            return self._queues[person.id]
        main = self.connect(ws)
        if person.queue_project_id is not None:
            project = resolve_project(self._client, ws.config.classes, person.queue_project_id)
        else:
            project = ensure_project(
                self._client, f"{main.title} · {person.name}", ws.config.classes,
                description=f"hitl-active queue of {person.name}",
            )  # fmt: skip
            ws.store.update_annotator(person.id, queue_project_id=project.id)
            if self.files_root is not None:
                connect_local_files(self._client, project.id, ws.images_dir)
            connect_new_project(ws, self._client, project.id, "queue")
        self._queues[person.id] = project
        return project

    def queues(self, ws: Workspace) -> dict[str, Any]:
        """Every active annotator's queue project (created where missing), and the queues that
        people taken out of routing already have (their answers are still read), by name."""
        people = ws.store.annotators()
        return {p.name: self.queue(ws, p) for p in people if p.active or p.queue_project_id}

    # ------------------------------------------------------------------ TaskBackend
    def push(self, ws: Workspace, round_id: int, image_ids: list[int], version: str | None) -> int:
        if _is_gold_round(ws, round_id):
            return super().push(ws, round_id, image_ids, version)
        if not ws.store.assignments(round_id=round_id):
            self._plan(ws, round_id, image_ids, version)
        _prelabel_honeypots(ws, round_id, version)  # a resumed push may find them missing
        created = 0
        people = {p.id: p for p in ws.store.annotators()}
        by_person: dict[int, list[AssignmentRow]] = {}
        for a in ws.store.assignments(round_id=round_id):
            by_person.setdefault(a.annotator_id, []).append(a)
        for person_id, queue in by_person.items():
            created += self._push_queue(ws, round_id, people[person_id], queue, version)
        assigned = ws.store.assignments(round_id=round_id)
        images = ws.store.images_by_id(a.image_id for a in assigned)
        for a in assigned:  # the image leaves the pool
            if a.kind != "honeypot" and a.ls_task_id is not None:
                key = ws.image_key(images[a.image_id].path)
                ws.store.add_task(a.image_id, round_id, a.ls_task_id, a.project_id, version,
                                  image_key=key)  # fmt: skip
        return created

    def collect(self, ws: Workspace, round_id: int, timeout_s: float | None) -> int:

        if _is_gold_round(ws, round_id):
            return super().collect(ws, round_id, timeout_s)
        self.connect(ws)
        for name, member in self.members.items():
            self.submit_queue(ws, round_id, name, member)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        waiting = WaitingLog("queue tasks")
        while True:
            self.pull(ws)
            pending = len(ws.store.open_assignments(round_id))
            if pending == 0 or (deadline is not None and time.monotonic() >= deadline):
                return pending
            waiting(round_id, pending)
            time.sleep(self.poll_s)

    def pull(self, ws: Workspace) -> int:

        n = super().pull(ws)
        for project in self.queues(ws).values():
            n += pull_annotations(self._client, project, ws.store).recorded
        return n

    def refresh_prelabels(self, ws: Workspace, version: str) -> int:

        n = super().refresh_prelabels(ws, version)
        people = {p.id: p for p in ws.store.annotators()}
        for person_id, open_here in self._open_by_queue(ws).items():
            items = [self._item(ws, a.image_id, version, None) for a in open_here]
            project = self.queue(ws, people[person_id])
            n += refresh_predictions(self._client, project, items, version).replaced
        return n

    # ------------------------------------------------------------------ simulated members
    def submit_queue(self, ws: Workspace, round_id: int, name: str, member: SimulatedMember) -> int:
        """Let a simulated member answer their open tasks of the round, as their own user."""

        person = ws.store.annotator(name)
        if person is None:
            raise KeyError(f"no annotator {name!r}; add them with `hitl-active annotators add`")
        project = self.queue(ws, person)
        version = _version(ws, round_id)
        done = 0
        with LabelStudioClient(self.url, member.token) as client:
            for a in ws.store.assignments(round_id=round_id, annotator_id=person.id):
                if a.ls_task_id is None:
                    continue
                img = ws.store.image(a.image_id)
                done += answer_task(client, project, a.ls_task_id, member.annotator, img.path,
                                    _shown(ws, img.id, version))  # fmt: skip
        return done

    # ------------------------------------------------------------------ internals
    def _plan(
        self, ws: Workspace, round_id: int, image_ids: list[int], version: str | None
    ) -> None:

        cfg = ws.config
        people_rows = ws.store.annotators()
        routed = [p for p in people_rows if p.routed]
        if not routed:
            raise ValueError(_nobody_routed(people_rows))
        skill = routing_skill(ws)
        room = capacities(ws, cfg.honeypot_share)  # 0 at a cap: nothing routed past it
        people = [Person(p.name, p.tier, skill.get(p.name, {}), room[p.name]) for p in routed]
        scores = ws.store.selection_scores(round_id)
        frames = []
        for i in image_ids:
            dets = _shown(ws, i, version)
            classes: tuple[int, ...] = ()
            if dets is not None:  # the classes shown, most confident first
                shown = dets.above(cfg.conf_threshold)
                order = np.argsort(-shown.confidence, kind="stable")
                classes = tuple(dict.fromkeys(int(c) for c in shown.class_id[order]))
            frames.append(Frame(i, scores.get(i, (0, 0.0))[1], classes))
        gold = [img.id for img, _ in steps.gold_truths(ws)]
        seen: dict[str, set[int]] = {p.name: set() for p in people_rows}
        names = {p.id: p.name for p in people_rows}
        for a in ws.store.assignments():
            seen[names[a.annotator_id]].add(a.image_id)
        left_out = [p.name for p in people_rows if not p.routed]
        if left_out:
            logger.info("round %d: not routed to %s (taken out of routing, or trainees not "
                        "ready yet)", round_id, ", ".join(left_out))  # fmt: skip
        plan = plan_round(
            frames, people, gold, seen, overlap_share=cfg.overlap_share,
            overlap_k=cfg.overlap_annotators, honeypot_share=cfg.honeypot_share,
            rng=np.random.default_rng([cfg.seed, round_id]),
        )  # fmt: skip
        ids = {p.name: p.id for p in people_rows}
        with ws.store.transaction():  # the whole plan or none: a push resumes only a whole one
            for a in plan:
                ws.store.add_assignment(round_id, a.image_id, ids[a.annotator], a.kind, None,
                                        None)  # fmt: skip
        pots = [a.image_id for a in plan if a.kind == "honeypot"]
        logger.info("round %d: %d assignments for %d annotators (%d honeypots)",
                    round_id, len(plan), len(people), len(pots))  # fmt: skip

    def _push_queue(
        self, ws: Workspace, round_id: int, person: AnnotatorRow, queue: list[AssignmentRow],
        version: str | None,
    ) -> int:  # fmt: skip

        project = self.queue(ws, person)
        rng = np.random.default_rng([ws.config.seed, round_id, person.id])
        scores = ws.store.selection_scores(round_id)
        work = sorted((a for a in queue if a.kind != "honeypot"),
                      key=lambda a: scores.get(a.image_id, (0, 0.0))[0])  # fmt: skip
        order: list[AssignmentRow] = list(work)
        for pot in (a for a in queue if a.kind == "honeypot"):
            order.insert(int(rng.integers(0, len(order) + 1)), pot)
        drawn = [s for _, s in scores.values()] or [0.0]
        lang = page_language(person.languages)  # the why line in the person's language
        items = []
        for rank, a in enumerate(order, start=1):
            score = scores[a.image_id][1] if a.image_id in scores else float(rng.choice(drawn))
            items.append(self._item(ws, a.image_id, version, rank, len(order), score, lang))
        sink = _QueueSink(ws, person.id)
        light = ws.config.task_image_spec(person.email or person.name)
        report = push_tasks(self._client, project, items, sink, version or "none",
                            self.files_root, progress=self.progress, task_image=light)  # fmt: skip
        return report.created

    def _open_by_queue(self, ws: Workspace) -> dict[int, list[AssignmentRow]]:
        """Pushed assignments nobody answered yet, per annotator."""
        out: dict[int, list[AssignmentRow]] = {}
        for r in ws.store.rounds():
            for a in ws.store.open_assignments(r.id, kinds=("task", "overlap", "honeypot")):
                if a.ls_task_id is not None:
                    out.setdefault(a.annotator_id, []).append(a)
        return out


class _QueueSink:
    """What :func:`push_tasks` needs of a sink, over one annotator's assignments."""

    def __init__(self, ws: Workspace, annotator_id: int) -> None:
        self.ws, self.annotator_id = ws, annotator_id

    def _mine(self, project_id: int) -> list[AssignmentRow]:
        return [a for a in self.ws.store.assignments(annotator_id=self.annotator_id)
                if a.project_id == project_id]  # fmt: skip

    def task_for_image(self, project_id: int, image_key: str) -> int | None:
        image_id = self.ws.store.image_for_key(image_key)
        for a in self._mine(project_id):
            if image_id is not None and a.image_id == image_id:
                return a.ls_task_id
        return None

    def last_task_id(self, project_id: int) -> int | None:
        ids = [a.ls_task_id for a in self._mine(project_id) if a.ls_task_id is not None]
        return max(ids) if ids else None

    def record_task(self, project_id: int, image_key: str, task_id: int) -> None:
        image_id = self.ws.store.image_for_key(image_key)
        if image_id is None:
            raise KeyError(f"pushed task {task_id} names {image_key!r}, not in the pool")
        self.ws.store.set_assignment_task(image_id, self.annotator_id, project_id, task_id)


def _prelabel_honeypots(ws: Workspace, round_id: int, version: str | None) -> None:
    """The round's pre-labels on its honeypots too (those not yet pre-labelled), so a
    honeypot shows boxes like any task, also when a stopped push resumes a stored plan."""
    pots = [a.image_id for a in ws.store.assignments(round_id=round_id, kind="honeypot")]
    if pots and version is not None:
        images = ws.store.images_by_id(pots)
        steps.prelabel(ws, ws.store.model_version(version), [images[i] for i in pots])


def _nobody_routed(people: list[AnnotatorRow]) -> str:
    """Why a round has nobody to go to, and how to change that."""
    if not people:
        return (
            "no annotators to route to; add them with `hitl-active annotators add NAME --email E`"
        )
    out = [p.name for p in people if not p.active]
    trainees = [p.name for p in people if p.active and not p.routed]
    why = []
    if out:
        why.append(f"taken out of routing: {', '.join(out)} (`annotators set NAME --active yes`)")
    if trainees:
        why.append(
            f"trainees not ready yet: {', '.join(trainees)} (practice until the training track "
            "says ready, or `annotators set NAME --client-work yes`)"
        )
    return "nobody to route this round to; " + "; ".join(why)


def _is_gold_round(ws: Workspace, round_id: int) -> bool:
    return ws.store.round(round_id).info.get("kind") == "gold"


def _version(ws: Workspace, round_id: int) -> str | None:
    return ws.store.round(round_id).model_version
