"""The training track in a workspace: paid practice in Label Studio until a trainee is ready.

A trainee is enrolled (:meth:`PracticeTrack.enrol`): they get a practice project of their own
(``"<workspace project> · practice · <name>"``) whose tasks show an instruction above the
image and, once graded, the feedback below it. Practice tasks are made from the workspace's
human-labelled pool images whose labels can be trusted as an answer key (:func:`answer_keys`:
overlap consensus, a reviewer, an annotator with high gold recall; each task records where
its key came from) — never from the gold set, whose images are served as hidden honeypots —
with their truth kept aside (:mod:`hitl_active.workforce.practice`).

:meth:`PracticeTrack.push_next` chooses the trainee's next tasks with the adaptive curriculum
(:class:`hitl_active.workforce.curriculum.AdaptivePolicy`: the weakest open skill, at a
difficulty where success is predicted at 60–85%, the task type a bandit learned builds it,
peer tips as prior evidence) and pushes them, each with its reason recorded.
:meth:`PracticeTrack.grade` reads the answers, grades them, writes the feedback onto the task
(what was missed, loose or mislabelled, and the truth drawn as a prediction named
``answer key``), updates mastery (Bayesian Knowledge Tracing over the recorded attempts) and,
when the trainee is ready on every skill, moves them to the ``annotator`` tier: from the next
round on they get client frames in their queue. Every practice task's time is recorded: it
is paid work (:mod:`hitl_active.team.team_work`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hitl_active.formats.core import ImageLabels
from hitl_active.formats.labelstudio import from_ls_results, to_ls_results
from hitl_active.i18n import page_language, translator
from hitl_active.labelstudio.client import LabelStudioError
from hitl_active.labelstudio.project import connect_local_files, ensure_project, image_url
from hitl_active.loop.ls_project import connect_new_project
from hitl_active.loop.truth import training_items
from hitl_active.store.store_team import AnnotatorRow
from hitl_active.team.team_skill import routing_skill
from hitl_active.workforce.curriculum import AdaptivePolicy, Choice
from hitl_active.workforce.grading import Outcome, feedback_text, grade
from hitl_active.workforce.mastery import READY, Attempt, Mastery
from hitl_active.workforce.practice import (
    PracticeTask,
    TaskType,
    make_practice_tasks,
    prompt_text,
)
from hitl_active.workforce.routing import POOLED
from hitl_active.workspace.workspace import Workspace

__all__ = [
    "PracticeTrack",
    "Pushed",
    "out_of_practice_advice",
    "task_from_dict",
    "task_to_dict",
]

logger = logging.getLogger(__name__)

PRACTICE_VERSION = "practice"  # the model_version of the boxes a practice task shows
KEY_VERSION = "answer key"  # the model_version of the truth drawn after grading


def _labels_dict(labels: Any) -> dict[str, Any]:
    return {"image": labels.image, "width": labels.width, "height": labels.height,
            "xyxy": np.asarray(labels.xyxy).tolist(),
            "class_id": np.asarray(labels.class_id).tolist()}  # fmt: skip


def _labels(d: dict[str, Any]) -> Any:

    xyxy = np.asarray(d["xyxy"], np.float64).reshape(-1, 4)
    return ImageLabels(d["image"], d["width"], d["height"], xyxy, np.asarray(d["class_id"], int))


def task_to_dict(task: Any) -> dict[str, Any]:
    """A practice task as it was shown, so it is graded against what the trainee saw even if
    the practice pool is made again from more labelled images later."""
    return {
        "id": task.id, "type": task.type.value, "image": task.image, "prompt": task.prompt,
        "shown": _labels_dict(task.shown), "truth": _labels_dict(task.truth),
        "skills": list(task.skills), "difficulty": task.difficulty,
        "target_class": task.target_class, "targets": list(task.targets),
        "choices": list(task.choices),
    }  # fmt: skip


def task_from_dict(d: dict[str, Any]) -> Any:
    return PracticeTask(
        d["id"], TaskType.from_value(d["type"]), d["image"], d["prompt"], _labels(d["shown"]),
        _labels(d["truth"]), tuple(d["skills"]), float(d["difficulty"]), d["target_class"],
        tuple(d["targets"]), tuple(d["choices"]),
    )  # fmt: skip


#: An annotator's gold recall (posterior mean over all classes) from which their labels may
#: be a practice answer key.
KEY_MIN_RECALL = 0.9


def answer_keys(ws: Workspace) -> list[tuple[Any, str]]:
    """Labelled pool images a practice answer key may come from, each with where it came from.

    A key must be right, or a careless answer grades a complete one as wrong: the consensus
    of overlapping answers, a reviewer's labels, labels of an annotator whose gold recall is
    at least :data:`KEY_MIN_RECALL`, or the simulated annotator's (which reads true labels).
    One person's unchecked labels are not a key; gold images never are (they are honeypots).
    """

    rows = {f"{a.external_id}@{a.revision}": a for a in ws.store.annotations()}
    people = {}
    for p in ws.store.annotators():
        people[p.name] = p
        if p.email:
            people[p.email] = p
    skill = routing_skill(ws) if people else {}
    out = []
    for _, labels, entry in training_items(ws):
        used = str(entry.get("annotation", ""))
        row = rows.get(used)
        person = people.get(row.annotator or "") if row is not None else None
        recall = skill.get(person.name, {}).get(POOLED) if person is not None else None
        if used.startswith("consensus:"):
            source = f"consensus of {used.count('+') + 1} answers"
        elif row is not None and row.source == "simulated":
            source = "simulated annotator"
        elif person is not None and person.tier == "reviewer":
            source = f"reviewer {person.name}"
        elif person is not None and recall is not None and recall >= KEY_MIN_RECALL:
            source = f"{person.name} (gold recall {recall:.2f})"
        else:
            continue
        out.append((labels, source))
    return out


@dataclass(frozen=True)
class Pushed:
    task_id: str
    ls_task_id: int
    reason: str


class PracticeTrack:
    """The training track of ``ws`` on the Label Studio behind ``client`` (an admin's)."""

    def __init__(self, ws: Workspace, client: Any, files_root: str | Path | None,
                 project_title: str | None = None) -> None:  # fmt: skip
        self.ws, self.client = ws, client
        self.files_root = None if files_root is None else Path(files_root)
        self.title = project_title
        self._tasks: dict[str, Any] | None = None
        self.key_from: dict[str, str] = {}  # image -> where its answer key came from

    # ------------------------------------------------------------------ practice tasks
    def tasks(self) -> dict[str, Any]:
        """Every practice task the workspace's labelled images allow, by id (deterministic)."""

        if self._tasks is None:
            keys = answer_keys(self.ws)
            if not keys:
                raise ValueError(
                    "no labelled images with a trusted answer key to practise on yet; keys "
                    "come from overlap consensus, reviewers, or annotators whose gold recall "
                    f"is at least {KEY_MIN_RECALL:.0%}, never from gold images or one "
                    "person's unchecked labels: run a round with overlap or a reviewer first"
                )
            rng = np.random.default_rng(self.ws.config.seed)
            made = make_practice_tasks([k for k, _ in keys], self.ws.config.classes, rng)
            self.key_from = {labels.image: source for labels, source in keys}
            self._tasks = {task.id: task for task in made}
        return self._tasks

    # ------------------------------------------------------------------ enrolment
    def enrol(self, name: str) -> AnnotatorRow:
        """Make ``name`` a trainee with a practice project (idempotent)."""

        person = self.ws.store.annotator(name)
        if person is None:
            raise KeyError(f"no annotator {name!r}; `hitl-active annotators add {name}` first")
        if person.practice_project_id is None:
            main = self._main_title()
            project = ensure_project(
                self.client, f"{main} · practice · {person.name}", self.ws.config.classes,
                description=f"paid practice of {person.name} (hitl-active training track)",
                practice=True,
            )  # fmt: skip
            if self.files_root is not None:
                connect_local_files(self.client, project.id, self.ws.images_dir)
            self.ws.store.update_annotator(person.id, practice_project_id=project.id)
            connect_new_project(self.ws, self.client, project.id, "practice")
        if person.tier != "trainee" and not self.ws.store.practice(person.id):
            self.ws.store.update_annotator(person.id, tier="trainee")
        found = self.ws.store.annotator(person.id)
        assert found is not None
        return found

    def _main_title(self) -> str:
        if self.title:
            return self.title
        pid = self.ws.config.label_studio_project
        if pid is not None:
            return str(self.client.request("GET", f"/api/projects/{pid}")["title"])
        return f"hitl-active {self.ws.root.name}"

    # ------------------------------------------------------------------ mastery and choice
    def _task_of(self, row: Any) -> Any:
        """The task as pushed (stored with it), else as the pool makes it now."""
        stored = row.feedback.get("task")
        return task_from_dict(stored) if stored else self.tasks()[row.task_key]

    def mastery(self, person: AnnotatorRow, bandit: Any = None) -> Any:
        """The trainee's mastery, replayed from their graded attempts in order; with
        ``bandit``, each task's learning progress is credited to it along the way."""

        state = Mastery(person.name)
        for no, row in enumerate(self.ws.store.practice(person.id, graded=True)):
            stored = row.feedback.get("task")
            difficulty = float(stored["difficulty"]) if stored else 0.5
            correct = {k: bool(v) for k, v in (row.outcome or {}).items()}
            minutes = (row.seconds or 0.0) / 60.0
            for skill, ok in correct.items():
                share = minutes / len(correct)
                state.add(Attempt(skill, ok, row.task_type, difficulty, row.task_key, share, no))
            state.minutes += minutes
            state.tasks_done += 1
            if bandit is not None and correct:
                bandit.update(state, Outcome(row.task_key, correct, ()))
        return state

    def policy(self) -> Any:
        """The adaptive curriculum, its bandit taught by every trainee's graded practice so
        far and by the peer tips."""

        policy = AdaptivePolicy()
        for tip in self.ws.store.peer_tips():
            policy.bandit.add_tip(tip["skill"], tip["task_type"])
        for person in self.ws.store.annotators():
            self.mastery(person, bandit=policy.bandit)
        return policy

    def skills(self) -> set[str]:
        """Every skill the practice pool trains: ready on all of them is ready."""
        return {s for task in self.tasks().values() for s in task.skills}

    def ready(self, person: AnnotatorRow, state: Mastery | None = None) -> bool:
        """Whether ``person`` (their ``state``, when at hand) is ready on every skill."""
        return (state or self.mastery(person)).ready_on(self.skills())

    def out_of_practice(
        self, person: AnnotatorRow, state: Mastery | None = None
    ) -> dict[str, tuple[int, float]]:
        """The skills trainee ``person`` is not ready on and the practice pool has nothing
        left for (every task on them answered, none waiting), each with the tasks they did on
        it and their mastery (``state``, when at hand); empty for anyone not a trainee, or
        with no practice pool. Practice cannot make them ready there: a person decides, by
        labelling more images that show it or by moving them on by hand
        (:func:`out_of_practice_advice`)."""

        if person.tier != "trainee":
            return {}
        try:
            tasks = self.tasks()
        except ValueError:  # no practice pool (yet, or any more)
            return {}
        rows = self.ws.store.practice(person.id)
        answered = {r.task_key for r in rows if r.outcome is not None}
        state = state or self.mastery(person)
        out = {}
        for skill in sorted(self.skills()):
            if state.ready(skill):
                continue
            if any(skill in t.skills and key not in answered for key, t in tasks.items()):
                continue  # a task on it is still to push, or waits for an answer
            if any(skill in r.skills and r.outcome is None for r in rows):
                continue
            done = sum(1 for r in rows if skill in r.skills and r.outcome is not None)
            out[skill] = (done, state.p_learned(skill))
        return out

    # ------------------------------------------------------------------ push and grade
    def push_next(self, name: str, n: int = 5) -> list[Pushed]:
        """Choose and push the trainee's next ``n`` practice tasks (none once ready)."""

        person = self.enrol(name)
        tasks = self.tasks()
        pushed = self.ws.store.practice(person.id)
        pending = {r.task_key for r in pushed if r.outcome is None}
        done = {r.task_key for r in pushed}
        state, policy = self.mastery(person), self.policy()
        rng = np.random.default_rng([self.ws.config.seed, person.id, len(done)])
        chosen: list[Choice] = []
        for _ in range(n):
            free = [task for key, task in tasks.items() if key not in pending | done]
            if not free or state.ready_on(self.skills()):
                break
            choice = policy.choose(state, free, rng)
            if choice is None:
                break
            chosen.append(choice)
            pending.add(choice.task.id)
        return [self._push(person, c.task, c.reason) for c in chosen]

    def _push(self, person: AnnotatorRow, task: Any, reason: str) -> Pushed:

        names = self.ws.config.classes
        _ = translator(page_language(person.languages)).gettext  # the trainee's language
        data = {
            "image": image_url(task.image, self.files_root),
            "prompt": prompt_text(task.prompt, _),
            "feedback": _("Submit your answer; what was right and what was not appears here."),
            # the task's id names its image by its path in the pool, never the server's
            "practice_task": task.id.replace(task.image, self.ws.image_key(task.image)),
        }  # fmt: skip
        body: dict[str, Any] = {"data": data}
        if len(task.shown):
            body["predictions"] = [
                {"model_version": PRACTICE_VERSION, "result": to_ls_results(task.shown, names)}
            ]
        (ls_id,) = self.client.import_tasks(int(person.practice_project_id), [body])
        img = self.ws.store.image_by_path(task.image)
        key_from = self.key_from.get(task.image, "unknown")
        self.ws.store.add_practice(
            person.id, task.id, task.type.value, list(task.skills),
            None if img is None else img.id, person.practice_project_id, ls_id, reason,
            task={**task_to_dict(task), "key_from": key_from},
        )  # fmt: skip
        return Pushed(task.id, ls_id, reason)

    def grade(self, name: str) -> tuple[int, bool]:
        """Grade the trainee's answered practice tasks, write the feedback onto each, and
        graduate them when ready; ``(graded, graduated)``."""
        person = self.ws.store.annotator(name)
        if person is None:
            raise KeyError(f"no annotator {name!r}")

        graded = 0
        for row in self.ws.store.practice(person.id):
            if row.outcome is not None or row.ls_task_id is None:
                continue
            try:
                remote = self.client.task(row.ls_task_id)
            except LabelStudioError as exc:
                if exc.status != 404:
                    raise
                logger.warning(
                    "practice task %s of %s (Label Studio task %d) was deleted before it was "
                    "graded: left ungraded", row.task_key, person.name, row.ls_task_id,
                )  # fmt: skip
                continue
            answers = [a for a in remote.get("annotations") or [] if not a.get("was_cancelled")]
            skipped = [a for a in remote.get("annotations") or [] if a.get("was_cancelled")]
            if not answers and not skipped:
                continue
            self._grade_one(row, answers[-1] if answers else skipped[-1], bool(answers))
            graded += 1
        person = self.ws.store.annotator(person.id)
        if not graded or person.tier != "trainee":
            return graded, False
        state = self.mastery(person)
        if self.ready(person, state):
            self.ws.store.update_annotator(person.id, tier="annotator")
            logger.info("%s is ready on every practised skill: tier annotator", person.name)
            return graded, True
        if short := self.out_of_practice(person, state):
            logger.warning("%s", out_of_practice_advice(person.name, short))
        return graded, False

    def _grade_one(self, row: Any, annotation: dict, answered: bool) -> None:

        names = self.ws.config.classes
        task = self._task_of(row)
        seconds = float(annotation.get("lead_time") or 0.0)
        person = self.ws.store.annotator(int(row.annotator_id))
        _ = translator(page_language(person.languages if person else None)).gettext
        if answered:
            size = (task.truth.width, task.truth.height)
            answer = from_ls_results(annotation.get("result") or [], names, task.image,
                                     *size, size=size)  # fmt: skip
            outcome = grade(task, answer, names)
            correct = dict(outcome.correct)
            lines = [feedback_text(f, _) for f in outcome.feedback] or [_("All right: well done.")]
        else:  # a skipped practice task is paid time that says nothing about skill
            correct, lines = {}, [_("Skipped: no grade. The answer key is drawn on the image.")]
        feedback = " ".join(lines)
        ls_id = int(row.ls_task_id)
        remote = self.client.task(ls_id)
        self.client.update_task_data(ls_id, {**remote["data"], "feedback": feedback})
        self.client.request("POST", "/api/predictions", json={
            "task": ls_id, "model_version": KEY_VERSION,
            "result": to_ls_results(task.truth, names),
        })  # fmt: skip
        reason = row.feedback.get("reason", "")
        self.ws.store.grade_practice(
            row.id, seconds, correct, {"reason": reason, "feedback": lines}
        )


def out_of_practice_advice(name: str, short: dict[str, tuple[int, float]]) -> str:
    """One line for a person: which skills ``name`` has run out of practice on, with the
    evidence, and the two ways on."""

    skills = "; ".join(f"{s} ({done} tasks done, mastery {p:.2f} of {READY:.2f})"
                       for s, (done, p) in short.items())  # fmt: skip
    return (
        f"{name} has no practice left on {skills}: label more images that show it to make "
        f"practice tasks, or, when a person judges {name} ready, "
        f"`hitl-active annotators set {name} --tier annotator`"
    )


def grade_on_arrival(ws: Workspace, client: Any, project_id: int) -> int | None:
    """Grade a trainee's practice the moment an answer arrives in ``project_id`` (a
    webhook), so their page shows the feedback at once; ``None`` when the project is no
    practice project. A failure to reach Label Studio is logged and left for the next
    ``practice grade`` or round: it never loses the answer, which stays in Label Studio."""

    person = next((p for p in ws.store.annotators() if p.practice_project_id == project_id), None)
    if person is None:
        return None
    try:
        graded, graduated = PracticeTrack(ws, client, None).grade(person.name)
    except (LabelStudioError, ValueError, KeyError) as exc:
        logger.warning("practice answer of %s not graded yet (%s): the next `practice grade` "
                       "grades it", person.name, exc)  # fmt: skip
        return 0
    if graduated:
        logger.info("%s graduated on a practice answer just received", person.name)
    return graded
