"""Claims several workers race for (jobs, rounds, selections), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from hitl_active.store.store import Store


@pytest.fixture
def store(tmp_path, db_url):
    s = Store(tmp_path / "state.db", url=db_url)
    s.add_images([(f"/img/{i}.jpg", 10, 10, None, "pool") for i in range(10)])
    yield s
    s.close()


def test_jobs_are_queued_once_claimed_once_and_finished(store):
    assert store.add_jobs("prelabel", [("a", {"ids": [1, 2]}), ("b", {"ids": [3]})]) == 2
    assert store.add_jobs("prelabel", [("a", {"ids": [9]})]) == 0  # a key already queued
    first = store.claim_job("w1", "prelabel")
    assert (first.key, first.payload, first.status, first.worker) == ("a", {"ids": [1, 2]},
                                                                      "running", "w1")  # fmt: skip
    second = store.claim_job("w2")
    assert second.key == "b" and store.claim_job("w3") is None
    store.finish_job(first.id, result={"n": 2})
    store.finish_job(second.id, error="image 3 unreadable")
    with pytest.raises(KeyError, match="not running"):
        store.finish_job(first.id)
    done = {j.key: (j.status, j.result, j.error) for j in store.jobs("prelabel")}
    assert done == {"a": ("done", {"n": 2}, None), "b": ("failed", None, "image 3 unreadable")}


def test_four_threads_claim_every_job_exactly_once(tmp_path, db_url):
    n = 200
    with Store(tmp_path / "state.db", url=db_url) as s:
        s.add_jobs("work", [(str(i), i) for i in range(n)])
    claimed: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with Store(tmp_path / "state.db", url=db_url) as own:  # one connection each
                while (job := own.claim_job(name, "work")) is not None:
                    claimed.append((name, job.payload))
                    own.finish_job(job.id, result=job.payload)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    payloads = Counter(p for _, p in claimed)
    assert sorted(payloads) == list(range(n)) and max(payloads.values()) == 1
    with Store(tmp_path / "state.db", url=db_url) as s:
        assert {j.status for j in s.jobs("work")} == {"done"}


def test_each_owner_opens_its_own_round_and_resumes_it(store):
    a = store.claim_round("project:1", "v0001")
    b = store.claim_round("project:2", "v0001")
    assert a.id != b.id
    assert store.claim_round("project:1", "v0002").id == a.id  # resumed, not a second one
    assert store.open_round("project:2").id == b.id and store.open_round() is None
    store.set_round_step(a.id, "done")
    assert store.claim_round("project:1", "v0002").id not in (a.id, b.id)


def test_two_open_rounds_never_select_the_same_image(store):
    a = store.claim_round("project:1", None)
    b = store.claim_round("project:2", None)
    assert store.add_selection(a.id, [(1, 0.9, 1.0), (2, 0.8, 1.0), (3, 0.7, 1.0)]) == [1, 2, 3]
    store.add_task(4, a.id, 44, 1, None)
    got = store.add_selection(b.id, [(2, 0.9, 1.0), (4, 0.8, 1.0), (5, 0.7, 1.0), (6, 0.6, 1.0)])
    assert got == [5, 6] and store.selection(b.id) == [5, 6]
    assert store.add_selection(b.id, [(7, 0.5, 1.0)]) == [5, 6]  # written once
    assert store.selection_scores(b.id) == {5: (1, 0.7), 6: (2, 0.6)}


def test_a_dead_workers_job_is_requeued_and_claimed_again(store):
    store.add_jobs("prelabel", [("a", 1)])
    lost = store.claim_job("dead", "prelabel")
    assert store.requeue_stale_jobs(older_than_s=3600) == 0  # claimed just now: still its own
    assert store.requeue_stale_jobs(older_than_s=-1, kind="prelabel") == 1
    again = store.claim_job("alive", "prelabel")
    assert (again.id, again.worker) == (lost.id, "alive")
    with pytest.raises(KeyError, match="not running by dead"):
        store.finish_job(lost.id, result="late", worker="dead")
    store.finish_job(again.id, result="ok", worker="alive")
    with pytest.raises(KeyError, match="not running"):
        store.finish_job(lost.id)  # the dead worker's late finish
