"""Stored predictions: exact binary round trip, packed reads, crash-safe resumable writes."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hitl_active.detections import Detections
from hitl_active.sampling.packed import PackedDetections
from hitl_active.store.migrations import HEAD, MIGRATIONS
from hitl_active.store.store import Store

N_CLASSES, DIM = 5, 16
ROOT = Path(__file__).resolve().parents[2]


def make_detections(rng: np.random.Generator, n_images: int, dim: int = DIM) -> list[Detections]:
    """Random detections with 0-12 boxes, full-precision floats, sizes and embeddings."""
    out = []
    for _ in range(n_images):
        n = int(rng.integers(0, 13))
        xy = rng.uniform(0, 500, (n, 2)).astype(np.float32)
        wh = rng.uniform(1, 100, (n, 2)).astype(np.float32)
        out.append(
            Detections.from_class_probs(
                np.concatenate([xy, xy + wh], axis=1),
                rng.random((n, N_CLASSES), dtype=np.float32),
                image_size=(int(rng.integers(32, 900)), int(rng.integers(32, 900))),
                embedding=rng.standard_normal(dim).astype(np.float32) if dim else None,
                model_version="v1",
            )
        )
    return out


def assert_same(a: Detections, b: Detections) -> None:
    for field in ("xyxy", "confidence", "class_id", "class_probs"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert getattr(a, field).dtype == getattr(b, field).dtype, field
    assert a.num_classes == b.num_classes and a.image_size == b.image_size
    assert (a.embedding is None) == (b.embedding is None)
    if a.embedding is not None:
        np.testing.assert_array_equal(a.embedding, b.embedding)
    assert (a.model_version, a.extra) == (b.model_version, b.extra)


@pytest.fixture
def store(tmp_path, db_url):  # SQLite and PostgreSQL (bytes come back as memoryviews there)
    s = Store(tmp_path / "state.db", url=db_url)
    s.add_images([(f"/img/{i}.jpg", 100, 80, None, "pool") for i in range(200)])
    yield s
    s.close()


def test_detections_round_trip_exactly_per_image_and_whole_version(store):
    dets = make_detections(np.random.default_rng(0), 120)
    dets[3].model_version = "other"  # kept per image when it differs from the row's version
    dets[4].extra = {"note": "x"}
    ids = list(range(1, 121))
    for start in range(0, 120, 32):  # chunks as a pre-label pass writes them
        part = range(start, min(start + 32, 120))
        store.put_predictions("v1", [(ids[i], dets[i], None, None) for i in part])
    store.put_predictions("v1", [(150, None, "cannot decode", None)])

    every = store.predictions("v1")
    assert sorted(every) == [*ids, 150] and every[150] is None
    for i, det in zip(ids, dets, strict=True):
        assert_same(every[i], det)
    assert_same(store.prediction("v1", ids[57]), dets[57])
    assert store.prediction("v1", 150) is None and store.prediction("v2", 1) is None


def test_packed_read_equals_packing_the_detections_in_request_order(store):
    dets = make_detections(np.random.default_rng(1), 80)
    store.put_predictions("v1", [(i + 1, d, None, None) for i, d in enumerate(dets)])
    store.put_predictions("v1", [(90, None, "broken", None)])
    rng = np.random.default_rng(2)
    wanted = [int(i) for i in rng.permutation(np.arange(1, 100))]  # some never predicted

    ids, packed = store.packed_predictions("v1", wanted)

    assert ids == [i for i in wanted if i <= 80]
    expected = PackedDetections.from_detections([dets[i - 1] for i in ids], N_CLASSES)
    for field in ("class_probs", "confidence", "class_id", "xyxy", "offsets", "embeddings"):
        np.testing.assert_array_equal(getattr(packed, field), getattr(expected, field))
    np.testing.assert_array_equal(packed.image_sizes, expected.image_sizes)
    few_ids, few = store.packed_predictions("v1", [7, 3])
    assert few_ids == [7, 3]
    np.testing.assert_array_equal(few.xyxy, np.concatenate([dets[6].xyxy, dets[2].xyxy]))


def test_storing_an_image_again_replaces_it_and_drops_the_unused_chunk(store):
    first, second = make_detections(np.random.default_rng(3), 2)
    store.put_predictions("v1", [(1, first, None, 0.5)])
    store.put_predictions("v1", [(1, second, None, 0.25)])
    assert_same(store.prediction("v1", 1), second)
    assert store._one("SELECT COUNT(*) FROM prediction_chunks")[0] == 1


_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from hitl_active.store.store import Store
    from tests.store.test_predstore import make_detections

    dets = make_detections(np.random.default_rng(4), 400)
    store = Store(sys.argv[1])
    done = store.predicted_ids("v1")
    for start in range(0, 400, 8):
        rows = [(i + 1, dets[i], None, None) for i in range(start, start + 8) if i + 1 not in done]
        if rows:
            store.put_predictions("v1", rows)
        print(start, flush=True)
    """
)


def test_a_killed_write_keeps_finished_chunks_and_a_rerun_completes_the_rest(tmp_path):
    path = tmp_path / "state.db"
    with Store(path) as s:
        s.add_images([(f"/img/{i}.jpg", 100, 80, None, "pool") for i in range(400)])
    cmd = [sys.executable, "-c", _WRITER, str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    for _ in range(5):  # let a few chunks commit, then kill it mid-pass
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    dets = make_detections(np.random.default_rng(4), 400)
    with Store(path) as s:
        survived = s.predicted_ids("v1")
        assert 40 <= len(survived) < 400 and len(survived) % 8 == 0  # whole chunks only
        for i, det in s.predictions("v1").items():
            assert_same(det, dets[i - 1])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)  # the resumed pass
    with Store(path) as s:
        every = s.predictions("v1")
        assert sorted(every) == list(range(1, 401))
        for i, det in every.items():
            assert_same(det, dets[i - 1])


def test_an_old_database_with_json_predictions_is_migrated_on_open(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.executemany(
        "INSERT INTO images(id, path, width, height, split, added_at) "
        "VALUES (?, ?, 9, 9, 'pool', 0)",
        [(i, f"/img/{i}.jpg") for i in range(1, 5)],
    )
    dets = make_detections(np.random.default_rng(5), 3)
    rows = [(i + 1, "v1", json.dumps(d.to_dict()), None, 0.5, 0.0) for i, d in enumerate(dets)]
    rows.append((4, "v1", None, "unreadable", None, 0.0))
    conn.executemany("INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()

    with Store(path) as s:
        assert s.schema_version == HEAD
        columns = {r[1] for r in s._all("PRAGMA table_info(predictions)")}
        assert "detections_json" not in columns
        every = s.predictions("v1")
        assert every[4] is None and s._one("SELECT error FROM predictions WHERE image_id = 4")[0]
        for i, det in enumerate(dets, start=1):
            assert_same(every[i], Detections.from_dict(det.to_dict()))
        assert s._one("SELECT score FROM predictions WHERE image_id = 1")[0] == 0.5


def test_images_without_embeddings_pack_without_them(store):
    rng = np.random.default_rng(6)
    dets = make_detections(rng, 4, dim=0) + make_detections(rng, 2)
    store.put_predictions("v1", [(i + 1, d, None, None) for i, d in enumerate(dets)])
    ids, packed = store.packed_predictions("v1", [1, 2, 3, 4])
    assert ids == [1, 2, 3, 4] and packed.embeddings is None
    assert store.prediction("v1", 2).embedding is None
    every = store.predictions("v1")  # a mix: each image keeps what it had
    for i, det in enumerate(dets, start=1):
        assert_same(every[i], det)
    assert store.packed_predictions("v1", [1, 5])[1].embeddings is None
    assert store.packed_predictions("v1", [5, 6])[1].embeddings.shape == (2, DIM)
