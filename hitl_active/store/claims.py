"""Claims that several processes, or machines, may race for: rounds, selections and jobs.

Each claim is one transaction that cannot interleave with another claim of the same
thing. On SQLite a write transaction starts with ``BEGIN IMMEDIATE``, which takes the
file's write lock, so claims are serialised. On PostgreSQL a job is claimed with
``SELECT … FOR UPDATE SKIP LOCKED`` (workers never wait on each other's rows), and
opening a round or writing a selection first takes a transaction-scoped advisory lock,
so two loops cannot both open a round of one owner or select the same image.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hitl_active.store import schema as t
from hitl_active.store.rows import RoundRow, _round

__all__ = ["ClaimsMixin", "JobRow"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRow:
    """One unit of claimable work."""

    id: int
    kind: str
    key: str
    payload: Any
    status: str
    worker: str | None
    result: Any = None
    error: str | None = None


def _job(r: Any) -> JobRow:
    return JobRow(
        id=int(r["id"]), kind=r["kind"], key=r["key"], payload=json.loads(r["payload_json"]),
        status=r["status"], worker=r["worker"],
        result=None if r["result_json"] is None else json.loads(r["result_json"]),
        error=r["error"],
    )  # fmt: skip


def serialise(conn: sa.Connection, name: str) -> None:
    """Hold a lock named ``name`` until the transaction ends (SQLite: its write lock is held)."""
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"hitl-active:{name}".encode())
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


class ClaimsMixin:
    """Round opening, exclusive selections and a job queue for the state store."""

    transaction: Any
    _all: Any

    # ------------------------------------------------------------------ rounds
    def claim_round(self, owner: str | None, model_version: str | None) -> RoundRow:
        """The open round of ``owner`` (resumed), or a new one: never two open per owner."""
        r = t.rounds
        with self.transaction() as c:
            serialise(c, "rounds")
            q = sa.select(r).where(r.c.finished_at.is_(None), r.c.owner.is_not_distinct_from(owner))
            row = c.execute(q.order_by(r.c.id.desc()).limit(1)).first()
            if row is not None:
                return _round(row._mapping)
            return self.start_round(model_version, owner=owner)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ selections
    def add_selection(self, round_id: int, rows: Sequence[tuple[int, float, float]]) -> list[int]:
        """Write a round's selection once: ``(image_id, score, est_cost)`` in rank order.

        Images that another open round selected, or that have a task, are left out (two
        loops never select the same image). Returns the round's selection.
        """
        s, r, tk = t.selections, t.rounds, t.tasks
        with self.transaction() as c:
            serialise(c, "selections")
            mine = sa.select(s.c.image_id).where(s.c.round_id == int(round_id)).order_by(s.c.rank)
            written = [int(x[0]) for x in c.execute(mine)]
            if written:
                return written
            ids = [int(i) for i, _, _ in rows]
            taken: set[int] = set()
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                other = (
                    sa.select(s.c.image_id)
                    .join(r, r.c.id == s.c.round_id)
                    .where(r.c.finished_at.is_(None), s.c.round_id != int(round_id))
                    .where(s.c.image_id.in_(part))
                )
                tasked = sa.select(tk.c.image_id).where(tk.c.image_id.in_(part))
                taken |= {int(x[0]) for x in c.execute(other.union(tasked))}
            if taken:
                logger.info("round %d: %d selected images belong to another round; left out",
                            round_id, len(taken))  # fmt: skip
            values = [
                {"round_id": int(round_id), "image_id": int(i), "rank": rank, "score": sc,
                 "est_cost": e}
                for rank, (i, sc, e) in enumerate(x for x in rows if int(x[0]) not in taken)
            ]  # fmt: skip
            if values:
                c.execute(sa.insert(s), values)
            return [v["image_id"] for v in values]

    # ------------------------------------------------------------------ jobs
    def add_jobs(self, kind: str, items: Iterable[tuple[str, Any]]) -> int:
        """Queue ``(key, payload)`` jobs of ``kind``; a key already queued is skipped."""
        now = time.time()
        values = [{"kind": kind, "key": str(k), "payload_json": json.dumps(p), "created_at": now}
                  for k, p in items]  # fmt: skip
        if not values:
            return 0
        stmt = self._insert(t.jobs).on_conflict_do_nothing(  # type: ignore[attr-defined]
            index_elements=["kind", "key"]
        )
        added = 0
        with self.transaction() as c:
            for start in range(0, len(values), 500):
                done = c.execute(stmt.returning(t.jobs.c.id), values[start : start + 500])
                added += len(done.all())
        return added

    def claim_job(self, worker: str, kind: str | None = None) -> JobRow | None:
        """Claim the oldest pending job (of ``kind``) for ``worker``; None when none is left.

        Every job is claimed by exactly one worker, across threads, processes and machines.
        """
        j = t.jobs
        q = sa.select(j.c.id).where(j.c.status == "pending")
        if kind is not None:
            q = q.where(j.c.kind == kind)
        q = q.order_by(j.c.id).limit(1).with_for_update(skip_locked=True)
        with self.transaction() as c:
            job_id = c.execute(q).scalar()
            if job_id is None:
                return None
            c.execute(
                sa.update(j).where(j.c.id == job_id)
                .values(status="running", worker=worker, claimed_at=time.time())
            )  # fmt: skip
            return _job(c.execute(sa.select(j).where(j.c.id == job_id)).one()._mapping)

    def finish_job(
        self, job_id: int, result: Any = None, error: str | None = None, worker: str | None = None
    ) -> None:
        """Record a claimed job's result (or its error: the job is then ``failed``).

        With ``worker``, only while that worker holds the claim (not after a requeue).
        """
        j = t.jobs
        values = {
            "status": "failed" if error else "done",
            "finished_at": time.time(),
            "result_json": None if result is None else json.dumps(result),
            "error": error,
        }
        with self.transaction() as c:
            held = (j.c.id == int(job_id), j.c.status == "running")
            if worker is not None:
                held += (j.c.worker == worker,)
            done = c.execute(sa.update(j).where(*held).values(**values))
            if done.rowcount != 1:
                who = "" if worker is None else f" by {worker}"
                raise KeyError(f"job {job_id} is not running{who}; claim it with claim_job first")

    def requeue_stale_jobs(self, older_than_s: float, kind: str | None = None) -> int:
        """Put back jobs claimed more than ``older_than_s`` ago and never finished (their
        worker died); returns how many. A late finish of a requeued job is refused."""
        j = t.jobs
        stale = (j.c.status == "running", j.c.claimed_at < time.time() - older_than_s)
        if kind is not None:
            stale += (j.c.kind == kind,)
        with self.transaction() as c:
            back = c.execute(
                sa.update(j).where(*stale).values(status="pending", worker=None, claimed_at=None)
            )
            return int(back.rowcount)

    def jobs(self, kind: str | None = None, status: str | None = None) -> list[JobRow]:
        j = t.jobs
        q = sa.select(j).order_by(j.c.id)
        if kind is not None:
            q = q.where(j.c.kind == kind)
        if status is not None:
            q = q.where(j.c.status == status)
        return [_job(r._mapping) for r in self._all(q)]
