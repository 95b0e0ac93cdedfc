"""The :class:`~hitl_active.store.store.Store` methods for the workforce: annotator records,
assignments (who got which image as a task, an overlap or a honeypot) and gold contests."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hitl_active.store import schema as t
from hitl_active.store.rows import AnnotationRow, _annotation

__all__ = ["AnnotatorRow", "AssignmentRow", "ContestRow", "PracticeRow", "TeamMixin"]

_ANNOTATOR_FIELDS = {
    "email", "ls_user_id", "tier", "languages", "notes", "queue_project_id", "location",
    "page_key_hash", "sensitive_opt_out", "practice_project_id", "active", "client_work",
    "client_work_by", "client_work_at",
}  # fmt: skip
ADMINS_KEY = "label_studio_admins"  # kv: the accounts that set up or administer the project
WELLBEING_KEY = "wellbeing.key"  # kv: the key of the survey's pseudonyms


@dataclass(frozen=True)
class AnnotatorRow:
    """One annotator: ``name`` is what people read, ``email`` what Label Studio records."""

    id: int
    name: str
    email: str | None
    ls_user_id: int | None
    tier: str
    languages: str | None
    notes: str | None
    queue_project_id: int | None
    created_at: float
    location: str | None = None
    page_key_hash: str | None = None
    sensitive_opt_out: int = 0
    practice_project_id: int | None = None
    active: int = 1  # 0: taken out of routing, queues and new work (their history stays)
    client_work: int = 0  # 1: a manager cleared this trainee for client work
    client_work_by: str | None = None
    client_work_at: float | None = None

    @property
    def routed(self) -> bool:
        """Whether rounds route client frames (and honeypots) to them: active, and not a
        trainee unless a manager cleared them (the training track makes a trainee an
        ``annotator`` once ready on every skill)."""
        return bool(self.active) and (self.tier != "trainee" or bool(self.client_work))


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    round_id: int | None
    image_id: int
    annotator_id: int
    kind: str
    project_id: int | None
    ls_task_id: int | None
    pushed_at: float


@dataclass(frozen=True)
class ContestRow:
    id: int
    annotator_id: int
    image_id: int
    reason: str
    status: str
    reviewer: str | None
    corrected: list[dict] | None
    created_at: float
    reviewed_at: float | None


@dataclass(frozen=True)
class PracticeRow:
    """One practice task pushed to a trainee; ``outcome`` (right or not per skill) once graded
    (``{}`` for a skip), ``seconds`` the paid time it took."""

    id: int
    annotator_id: int
    task_key: str
    task_type: str
    skills: list[str]
    image_id: int | None
    project_id: int | None
    ls_task_id: int | None
    pushed_at: float
    answered_at: float | None
    seconds: float | None
    outcome: dict[str, bool] | None
    feedback: dict[str, Any]


def _practice(m: Any) -> PracticeRow:
    def load(column: str, empty: Any) -> Any:
        return empty if m[column] is None else json.loads(m[column])

    return PracticeRow(
        m["id"], m["annotator_id"], m["task_key"], m["task_type"], load("skills_json", []),
        m["image_id"], m["project_id"], m["ls_task_id"], m["pushed_at"], m["answered_at"],
        m["seconds"], load("outcome_json", None), load("feedback_json", {}),
    )  # fmt: skip


def _annotator(m: Any) -> AnnotatorRow:
    return AnnotatorRow(**{f: m[f] for f in AnnotatorRow.__dataclass_fields__})


def _assignment(m: Any) -> AssignmentRow:
    return AssignmentRow(**{f: m[f] for f in AssignmentRow.__dataclass_fields__})


def _contest(m: Any) -> ContestRow:
    corrected = None if m["corrected_json"] is None else json.loads(m["corrected_json"])
    fields = {f: m[f] for f in ContestRow.__dataclass_fields__ if f != "corrected"}
    return ContestRow(corrected=corrected, **fields)


class TeamMixin:
    """Annotators, assignments and gold contests of the state store."""

    # provided by Store
    transaction: Any
    _all: Any
    _one: Any
    _insert: Any

    # ------------------------------------------------------------------ annotators
    def add_annotator(
        self, name: str, email: str | None = None, ls_user_id: int | None = None,
        tier: str = "annotator", **fields: Any,
    ) -> AnnotatorRow:  # fmt: skip
        """Record a new annotator (``tier``: trainee, annotator or reviewer)."""
        if tier not in t.TIERS:
            raise ValueError(f"tier must be one of {', '.join(t.TIERS)}, not {tier!r}")
        unknown = set(fields) - _ANNOTATOR_FIELDS
        if unknown:
            raise ValueError(f"unknown annotator fields: {', '.join(sorted(unknown))}")
        with self.transaction() as c:
            c.execute(
                sa.insert(t.annotators).values(
                    name=name, email=email, ls_user_id=ls_user_id, tier=tier,
                    created_at=time.time(), **fields,
                )
            )  # fmt: skip
        found = self.annotator(name)
        assert found is not None
        return found

    def annotator_for_user(
        self, email: str | None, ls_user_id: int | None = None
    ) -> AnnotatorRow | None:
        """The annotator Label Studio knows as ``email`` (or ``ls_user_id``), created as they
        first appear (named by their e-mail, tier ``annotator``); ``None`` for an account
        that administers the project (:meth:`admin_accounts`) and was never added."""
        a = t.annotators
        for column, value in ((a.c.ls_user_id, ls_user_id), (a.c.email, email)):
            if value is not None:
                row = self._one(sa.select(a).where(column == value))
                if row is not None:
                    found = _annotator(row._mapping)
                    if ls_user_id is not None and found.ls_user_id is None:
                        self.update_annotator(found.id, ls_user_id=ls_user_id)
                        found = self.annotator(found.id)  # type: ignore[assignment]
                    return found
        if self.is_admin_account(email, ls_user_id):
            return None
        name = email or f"user-{ls_user_id}"
        with self.transaction() as c:
            c.execute(
                self._insert(a)
                .values(name=name, email=email, ls_user_id=ls_user_id, created_at=time.time())
                .on_conflict_do_nothing()
            )
        found = self.annotator(name)
        assert found is not None
        return found

    def admin_accounts(self) -> list[dict[str, Any]]:
        """The Label Studio accounts that set up or administer the workspace's project
        (``{"id", "email"}``), recorded when the workspace is bound to it. They are not
        annotators unless added with ``hitl-active annotators add``."""
        return list(self.get(ADMINS_KEY, []))  # type: ignore[attr-defined]

    def add_admin_account(self, ls_user_id: int | None, email: str | None) -> None:
        known = self.admin_accounts()
        if any(a["id"] == ls_user_id and a["email"] == email for a in known):
            return
        self.set(ADMINS_KEY, [*known, {"id": ls_user_id, "email": email}])  # type: ignore[attr-defined]

    def is_admin_account(self, email: str | None, ls_user_id: int | None = None) -> bool:
        return any(
            (email is not None and a["email"] == email)
            or (ls_user_id is not None and a["id"] == ls_user_id)
            for a in self.admin_accounts()
        )

    def annotator(self, key: int | str) -> AnnotatorRow | None:
        """An annotator by id, name or e-mail (a name before another person's e-mail)."""
        a = t.annotators
        if isinstance(key, int):
            q = sa.select(a).where(a.c.id == key)
        else:
            q = (
                sa.select(a)
                .where(sa.or_(a.c.name == key, a.c.email == key))
                .order_by(sa.case((a.c.name == key, 0), else_=1))
            )
        row = self._one(q)
        return None if row is None else _annotator(row._mapping)

    def annotators(self) -> list[AnnotatorRow]:
        return [_annotator(r._mapping) for r in self._all(sa.select(t.annotators).order_by("id"))]

    def update_annotator(self, annotator_id: int, **fields: Any) -> None:
        unknown = set(fields) - _ANNOTATOR_FIELDS
        if unknown:
            raise ValueError(f"unknown annotator fields: {', '.join(sorted(unknown))}")
        if "tier" in fields and fields["tier"] not in t.TIERS:
            raise ValueError(f"tier must be one of {', '.join(t.TIERS)}, not {fields['tier']!r}")
        with self.transaction() as c:
            c.execute(
                sa.update(t.annotators).where(t.annotators.c.id == annotator_id).values(**fields)
            )

    # ------------------------------------------------------------------ assignments
    def add_assignment(
        self, round_id: int | None, image_id: int, annotator_id: int, kind: str,
        project_id: int | None, ls_task_id: int | None,
    ) -> bool:  # fmt: skip
        """Record that ``annotator_id`` got ``image_id``; False when they had it already."""
        if kind not in t.ASSIGNMENT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(t.ASSIGNMENT_KINDS)}, not {kind!r}")
        stmt = self._insert(t.assignments).values(
            round_id=round_id, image_id=int(image_id), annotator_id=int(annotator_id), kind=kind,
            project_id=project_id, ls_task_id=ls_task_id, pushed_at=time.time(),
        )  # fmt: skip
        with self.transaction() as c:
            new = c.execute(stmt.on_conflict_do_nothing().returning(t.assignments.c.id)).first()
        return new is not None

    def assignments(
        self, round_id: int | None = None, annotator_id: int | None = None,
        kind: str | None = None,
    ) -> list[AssignmentRow]:  # fmt: skip
        s = t.assignments
        q = sa.select(s).order_by(s.c.id)
        if round_id is not None:
            q = q.where(s.c.round_id == int(round_id))
        if annotator_id is not None:
            q = q.where(s.c.annotator_id == int(annotator_id))
        if kind is not None:
            q = q.where(s.c.kind == kind)
        return [_assignment(r._mapping) for r in self._all(q)]

    def set_assignment_task(
        self, image_id: int, annotator_id: int, project_id: int, ls_task_id: int
    ) -> None:
        """Record the Label Studio task an assignment was pushed as."""
        s = t.assignments
        with self.transaction() as c:
            c.execute(
                sa.update(s)
                .where(s.c.image_id == int(image_id), s.c.annotator_id == int(annotator_id))
                .values(project_id=int(project_id), ls_task_id=int(ls_task_id))
            )

    def open_assignments(self, round_id: int, kinds: tuple[str, ...] = ("task", "overlap")):
        """A round's assignments of ``kinds`` that have no answer (nor a skip) yet."""
        s, a = t.assignments, t.annotations
        answered = (
            sa.exists().where(a.c.ls_task_id == s.c.ls_task_id, a.c.deleted == 0).correlate(s)
        )
        q = (
            sa.select(s)
            .where(s.c.round_id == int(round_id), s.c.kind.in_(kinds), ~answered)
            .order_by(s.c.id)
        )
        return [_assignment(r._mapping) for r in self._all(q)]

    def assignment_by_ls_id(self, ls_task_id: int) -> AssignmentRow | None:
        s = t.assignments
        row = self._one(sa.select(s).where(s.c.ls_task_id == int(ls_task_id)))
        return None if row is None else _assignment(row._mapping)

    def answers(self) -> list[AnnotationRow]:
        """Every live answer: the newest revision of each annotation that is neither deleted
        nor a skip, whoever made it (several per image where images overlap or are gold)."""
        a = t.annotations
        newest = (
            sa.select(sa.func.max(a.c.id))
            .where(a.c.deleted == 0)
            .group_by(a.c.source, a.c.external_id)
        )
        q = sa.select(a).where(a.c.id.in_(newest), a.c.cancelled == 0).order_by(a.c.id)
        return [_annotation(r._mapping) for r in self._all(q)]

    # ------------------------------------------------------------------ gold contests
    def add_contest(self, annotator_id: int, image_id: int, reason: str) -> int:
        with self.transaction() as c:
            return int(
                c.execute(
                    sa.insert(t.gold_contests)
                    .values(annotator_id=annotator_id, image_id=image_id, reason=reason,
                            created_at=time.time())
                    .returning(t.gold_contests.c.id)
                ).scalar_one()
            )  # fmt: skip

    def contests(self, status: str | None = None) -> list[ContestRow]:
        g = t.gold_contests
        q = sa.select(g).order_by(g.c.id)
        if status is not None:
            q = q.where(g.c.status == status)
        return [_contest(r._mapping) for r in self._all(q)]

    def review_contest(
        self, contest_id: int, reviewer: str, corrected: list[dict] | None = None
    ) -> None:
        """Decide a contest: ``corrected`` boxes replace the gold (for everyone), else upheld."""
        g = t.gold_contests
        values: dict[str, Any] = {
            "status": "upheld" if corrected is None else "corrected",
            "reviewer": reviewer, "reviewed_at": time.time(),
            "corrected_json": None if corrected is None else json.dumps(corrected),
        }  # fmt: skip
        with self.transaction() as c:
            row = c.execute(sa.select(g.c.image_id, g.c.status).where(g.c.id == contest_id)).first()
            if row is None:
                raise KeyError(
                    f"no gold contest {contest_id}; see `hitl-active annotators contests`"
                )
            c.execute(sa.update(g).where(g.c.id == contest_id).values(**values))
            if corrected is not None:
                gl = t.gold_labels
                c.execute(sa.delete(gl).where(gl.c.image_id == int(row[0])))
                c.execute(
                    sa.insert(gl).values(
                        image_id=int(row[0]),
                        boxes_json=json.dumps(corrected),
                        source=f"contest {contest_id} ({reviewer})",
                    )
                )

    # ------------------------------------------------------------------ practice
    def add_practice(
        self, annotator_id: int, task_key: str, task_type: str, skills: list[str],
        image_id: int | None, project_id: int | None, ls_task_id: int | None, reason: str,
        task: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Record a practice task pushed to a trainee, with why it was chosen (and the task
        as shown, ``task``)."""
        with self.transaction() as c:
            c.execute(
                sa.insert(t.practice_attempts).values(
                    annotator_id=annotator_id, task_key=task_key, task_type=task_type,
                    skills_json=json.dumps(skills), image_id=image_id, project_id=project_id,
                    ls_task_id=ls_task_id, pushed_at=time.time(),
                    feedback_json=json.dumps({"reason": reason, "task": task}),
                )
            )  # fmt: skip

    def grade_practice(
        self, practice_id: int, seconds: float, outcome: dict[str, bool], feedback: dict
    ) -> None:
        p = t.practice_attempts
        with self.transaction() as c:
            c.execute(
                sa.update(p).where(p.c.id == practice_id).values(
                    answered_at=time.time(), seconds=seconds, outcome_json=json.dumps(outcome),
                    feedback_json=json.dumps(feedback),
                )
            )  # fmt: skip

    def practice(self, annotator_id: int | None = None, graded: bool = False) -> list[PracticeRow]:
        """Practice tasks (of one trainee), in the order pushed; ``graded``: answered only."""
        p = t.practice_attempts
        q = sa.select(p).order_by(p.c.id)
        if annotator_id is not None:
            q = q.where(p.c.annotator_id == int(annotator_id))
        if graded:
            q = q.where(p.c.outcome_json.is_not(None))
        return [_practice(r._mapping) for r in self._all(q)]

    def add_peer_tip(self, annotator_id: int, skill: str, task_type: str, text: str = "") -> None:
        """A trainee's "this kind of task helped me with ``skill``"."""
        with self.transaction() as c:
            c.execute(
                sa.insert(t.peer_tips).values(
                    annotator_id=annotator_id, skill=skill, task_type=task_type, text=text,
                    created_at=time.time(),
                )
            )  # fmt: skip

    def peer_tips(self) -> list[dict[str, Any]]:
        q = sa.select(t.peer_tips).order_by(t.peer_tips.c.id)
        return [dict(r._mapping) for r in self._all(q)]

    # ------------------------------------------------------------------ pilots
    def add_pilot(
        self, name: str, change: str, pilot_group: list[int], control_group: list[int],
        start: float, end: float | None = None, baseline_days: int = 14,
    ) -> None:  # fmt: skip
        """Record a pilot (its name is unique; a second one of the same name is refused)."""
        values = {"name": name, "change": change, "pilot_group": json.dumps(sorted(pilot_group)),
                  "control_group": json.dumps(sorted(control_group)), "start": float(start),
                  "end": None if end is None else float(end), "baseline_days": int(baseline_days),
                  "created_at": time.time()}  # fmt: skip
        with self.transaction() as c:  # type: ignore[attr-defined]
            c.execute(sa.insert(t.pilots).values(**values))

    def pilots(self) -> list[dict[str, Any]]:
        """Every pilot as a dict (groups as lists of annotator ids), oldest first."""
        rows = self._all(sa.select(t.pilots).order_by(t.pilots.c.id))  # type: ignore[attr-defined]
        out = []
        for r in rows:
            d = dict(r._mapping)
            d["pilot_group"], d["control_group"] = (json.loads(d[k]) for k in
                                                    ("pilot_group", "control_group"))  # fmt: skip
            out.append(d)
        return out

    # ------------------------------------------------------------------ well-being
    def respondent(self, annotator_id: int) -> str:
        """The pseudonym a person's survey answers are kept under: a keyed hash of their id
        (the key made once, in ``kv``). The answers' table names no one; the key, kept apart,
        lets the person see and withdraw their own answers and a pilot pair their periods."""
        key = self.get(WELLBEING_KEY)  # type: ignore[attr-defined]
        if key is None:  # made once; a second process racing to make it gets the first's
            key = self.setdefault(WELLBEING_KEY, secrets.token_hex(32))  # type: ignore[attr-defined]
        digest = hmac.new(bytes.fromhex(key), str(int(annotator_id)).encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def add_wellbeing(self, annotator_id: int, answers: list[int], score: int) -> None:
        """Keep one survey answer of the person (who consented on their page)."""
        row = {"respondent": self.respondent(annotator_id), "answers": json.dumps(answers),
               "score": int(score), "answered_at": time.time()}  # fmt: skip
        with self.transaction() as c:  # type: ignore[attr-defined]
            c.execute(sa.insert(t.wellbeing).values(**row))

    def wellbeing(self, annotator_id: int | None = None) -> list[dict[str, Any]]:
        """Survey answers, oldest first: one person's (``annotator_id``) or everyone's, each
        under its pseudonym."""
        w = t.wellbeing
        q = sa.select(w).order_by(w.c.answered_at, w.c.id)
        if annotator_id is not None:
            q = q.where(w.c.respondent == self.respondent(annotator_id))
        return [dict(r._mapping) for r in self._all(q)]  # type: ignore[attr-defined]

    def withdraw_wellbeing(self, annotator_id: int) -> int:
        """Delete every survey answer of the person; how many there were."""
        w = t.wellbeing
        with self.transaction() as c:  # type: ignore[attr-defined]
            done = c.execute(sa.delete(w).where(w.c.respondent == self.respondent(annotator_id)))
            return max(done.rowcount, 0)
