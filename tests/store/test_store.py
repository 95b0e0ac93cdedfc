"""The state store: migrations, idempotent writes, annotation history, transactions.

Every test taking ``store`` or ``db_url`` runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import sqlite3

import numpy as np
import pytest

from hitl_active.formats import ImageLabels
from hitl_active.store.migrations import HEAD, LEGACY_VERSION
from hitl_active.store.store import SchemaTooNewError, Store, boxes_to_labels, labels_to_boxes


@pytest.fixture
def store(tmp_path, db_url):
    s = Store(tmp_path / "state.db", url=db_url)
    s.add_images([(f"/img/{i}.jpg", 100, 80, f"h{i}", "pool") for i in range(5)])
    yield s
    s.close()


def test_migrations_reach_the_head_revision_and_reopen_is_a_no_op(tmp_path, db_url):
    Store(tmp_path / "state.db", url=db_url).close()
    with Store(tmp_path / "state.db", url=db_url) as s:
        assert s.schema_version == HEAD
        assert s.dialect == ("sqlite" if db_url is None else "postgresql")
        if db_url is None:
            assert s._one("PRAGMA journal_mode")[0] == "wal"
            assert s._one("PRAGMA foreign_keys")[0] == 1


def test_the_head_constant_is_the_newest_alembic_revision():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "hitl_active.store:alembic")
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


def test_a_pre_alembic_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LEGACY_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="upgrade hitl-active"):
        Store(path)


def test_a_revision_the_code_does_not_know_is_refused(tmp_path, db_url):
    Store(tmp_path / "state.db", url=db_url).close()
    import sqlalchemy as sa

    from hitl_active.store.db import make_engine, state_url

    engine = make_engine(state_url(tmp_path / "state.db", db_url))
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaTooNewError, match=r"9999.*upgrade hitl-active"):
        Store(tmp_path / "state.db", url=db_url)


def test_the_environment_url_wins_over_the_configured_one(tmp_path, monkeypatch):
    from hitl_active.store.db import ENV_URL, state_url

    assert state_url(tmp_path / "state.db") == f"sqlite:///{tmp_path / 'state.db'}"
    assert state_url(tmp_path / "state.db", "postgresql://a@h/db") == "postgresql://a@h/db"
    monkeypatch.setenv(ENV_URL, "postgresql://b@h/other")
    assert state_url(tmp_path / "state.db", "postgresql://a@h/db") == "postgresql://b@h/other"


def test_images_are_added_once_and_split_changes(store):
    assert store.add_images([("/img/0.jpg", 100, 80, None, "pool")]) == 0
    assert store.count_images() == {"pool": 5, "gold": 0, "train": 0}
    ids = [r.id for r in store.images()][:2]
    store.set_split(ids, "gold")
    assert [r.id for r in store.images("gold")] == ids
    with pytest.raises(ValueError, match="split must be one of"):
        store.set_split(ids, "test")


def test_images_by_id_reads_many_images_at_once_and_names_a_missing_one(store):
    rows = store.images()
    ids = [*(r.id for r in reversed(rows)), rows[0].id]  # any order, repeats
    got = store.images_by_id(ids)
    assert got == {r.id: r for r in rows}
    assert store.images_by_id([]) == {}
    missing = max(ids) + 7
    with pytest.raises(KeyError, match=f"no image with id {missing}"):
        store.images_by_id([rows[1].id, missing])


def test_many_keys_and_many_predictions_are_read_together(store):
    from hitl_active.detections import Detections

    store.set("a.1", {"x": 1})
    store.set("a.2", [2])
    assert store.get_many(["a.2", "a.1", "a.3", "a.1"]) == {"a.1": {"x": 1}, "a.2": [2]}
    assert store.get_many([]) == {}
    ids = [r.id for r in store.images()]
    dets = Detections(
        xyxy=np.array([[1, 2, 30, 40]], np.float32),
        confidence=np.array([0.9], np.float32),
        class_id=np.array([0]),
        class_probs=np.array([[0.9]], np.float32),
        image_size=(100, 80),
    )
    store.put_predictions("v1", [(ids[0], dets, None, None), (ids[1], dets, None, None)])
    got = store.predictions_of("v1", [ids[1], ids[2]])  # ids[2] was never predicted
    assert list(got) == [ids[1]]
    np.testing.assert_array_equal(got[ids[1]].xyxy, dets.xyxy)
    np.testing.assert_array_equal(store.prediction("v1", ids[0]).xyxy, dets.xyxy)


def test_a_failed_transaction_leaves_nothing_behind(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.set("cursor", 5)
        raise RuntimeError("killed")
    assert store.get("cursor") is None
    store.set("cursor", {"page": 2})
    assert store.get("cursor") == {"page": 2}


def test_tasks_are_unique_per_image(store):
    assert store.add_task(1, None, 101, 7, "v0001")
    assert not store.add_task(1, None, 102, 7, "v0001")
    assert store.task_of_image(1).ls_task_id == 101
    assert store.task_by_ls_id(101).image_id == 1
    assert [t.image_id for t in store.tasks(open_only=True)] == [1]


def test_annotations_are_idempotent_and_keep_history(store):
    store.add_task(1, None, 101, 7, "v0001")
    box = {"xyxy": [1, 2, 30, 40], "class_id": 0, "source": "human"}
    assert store.add_annotation(1, "a1", "t1", [box], ls_task_id=101, lead_time=10.0)
    assert not store.add_annotation(1, "a1", "t1", [box], ls_task_id=101, lead_time=10.0)
    assert store.add_annotation(1, "a1", "t2", [box, box], ls_task_id=101, lead_time=5.0)
    current = store.annotations()
    assert len(current) == 1 and len(current[0].boxes) == 2
    assert len(store.annotation_history(1)) == 2
    assert store.annotator_seconds() == 15.0
    assert store.annotated_ids() == {1}
    assert store.tasks(open_only=True) == []


def test_a_cancelled_annotation_does_not_replace_the_current_one(store):
    store.add_annotation(2, "a", "1", [], source="sim")
    store.add_annotation(2, "b", "1", [], source="sim", cancelled=True)
    assert [a.external_id for a in store.annotations()] == ["a"]


def test_rounds_record_their_step_and_selection_is_written_once(store):
    r = store.start_round(None)
    store.add_selection(r.id, [(3, 0.9, 4.0), (1, 0.5, 2.0)])
    store.add_selection(r.id, [(2, 0.1, 1.0)])
    assert store.selection(r.id) == [3, 1]
    store.set_round_step(r.id, "selected", n=2)
    store.set_round_step(r.id, "trained", candidate_version="v0002")
    got = store.round(r.id)
    assert (got.step, got.info["n"], got.candidate_version) == ("trained", 2, "v0002")
    assert store.open_round().id == r.id
    store.set_round_step(r.id, "done")
    assert store.open_round() is None and store.round(r.id).finished_at is not None


def test_predictions_per_model_version(store):
    from hitl_active.detections import Detections

    store.put_predictions("v1", [(1, Detections.empty(2), None, 0.3), (2, None, "corrupt", None)])
    assert store.predicted_ids("v1") == {1, 2} and store.predicted_ids("v2") == set()
    store.set_scores("v1", {1: 0.7})
    got = store.predictions("v1")
    assert got[2] is None and len(got[1]) == 0 and got[1].num_classes == 2


def test_boxes_round_trip_through_image_labels_with_provenance():
    labels = ImageLabels(
        "a.jpg",
        50,
        40,
        np.array([[1, 2, 3, 4]]),
        np.array([1]),
        box_meta=[{"source": "model", "score": 0.4, "model_version": "v0002"}],
    )
    boxes = labels_to_boxes(labels)
    assert boxes[0]["source"] == "model" and boxes[0]["model_version"] == "v0002"
    back = boxes_to_labels("a.jpg", 50, 40, boxes)
    np.testing.assert_allclose(back.xyxy, labels.xyxy)
    assert back.box_meta[0]["score"] == 0.4


def _record(annotation_id, boxes, updated_at, task_id=101, cancelled=False, kept=()):
    from hitl_active.labelstudio.diff import BoxDiff
    from hitl_active.labelstudio.sink import AnnotationRecord

    labels = ImageLabels("/img/1.jpg", 100, 80, np.array(boxes, np.float32).reshape(-1, 4),
                         np.zeros(len(boxes), np.int64))  # fmt: skip
    diff = BoxDiff(kept=list(kept), added=[j for j in range(len(boxes)) if j not in dict(kept)])
    return AnnotationRecord(
        project_id=7, task_id=task_id, annotation_id=annotation_id, image="/img/1.jpg",
        labels=labels, annotator="a@b.c", lead_time=12.0, was_cancelled=cancelled,
        updated_at=updated_at, diff=diff, model_version="v0001",
    )  # fmt: skip


def test_the_store_is_a_label_studio_annotation_sink(store):
    from hitl_active.labelstudio.sink import AnnotationSink

    assert isinstance(store, AnnotationSink)
    store.push_context = (None, "v0001")
    store.record_task(7, "/img/1.jpg", 101)
    assert store.task_for_image(7, "/img/1.jpg") == 101
    assert store.task_for_image(8, "/img/1.jpg") is None
    assert store.task_of_image(1) is None and store.task_of_image(2).ls_task_id == 101
    first = _record(5, [[1, 1, 9, 9], [20, 20, 40, 40]], "2026-01-01T00:00:01", kept=[(0, 0)])
    assert store.record_annotation(first)
    assert not store.record_annotation(first)  # same version again
    (ann,) = store.annotations()
    assert [b["source"] for b in ann.boxes] == ["human_accepted", "human"]
    assert ann.boxes[0]["model_version"] == "v0001" and ann.lead_time == 12.0
    changed = _record(5, [[2, 2, 9, 9]], "2026-01-01T00:00:05")
    assert store.record_annotation(changed)
    stale = _record(5, [[3, 3, 9, 9]], "2026-01-01T00:00:03")
    assert not store.record_annotation(stale)  # older version arriving late
    assert len(store.annotations()[0].boxes) == 1 and len(store.annotation_history(2)) == 2
    assert store.annotation_ids(7, 101) == {5}
    assert store.record_deletion(7, [5]) == 1
    assert store.annotation_ids(7, 101) == set() and store.annotations() == []
    store.set_cursor(7, "2026-01-01T00:00:05")
    assert store.get_cursor(7) == "2026-01-01T00:00:05" and store.get_cursor(8) is None


def test_a_task_for_an_unknown_image_is_refused(store):
    with pytest.raises(KeyError, match="not in the workspace"):
        store.record_task(7, "/elsewhere/x.jpg", 5)


def test_webhook_events_land_in_the_state_store(store):
    """The HTTP app's webhook receiver records straight into the loop's state database."""
    from fastapi.testclient import TestClient

    from hitl_active.labelstudio.project import label_config
    from hitl_active.server import AppSettings, create_app

    store.push_context = (None, "v0001")
    store.record_task(3, "/img/1.jpg", 101)
    region = {"id": "r0", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
              "original_width": 100, "original_height": 80,
              "value": {"x": 10, "y": 10, "width": 20, "height": 25, "rotation": 0,
                        "rectanglelabels": ["b"]}}  # fmt: skip
    task = {"id": 101, "data": {"image": "/data/local-files/?d=1.jpg", "image_key": "/img/1.jpg",
                                "width": 100, "height": 80},
            "predictions": [{"id": 9, "model_version": "v0001", "result": [region]}]}  # fmt: skip
    annotation = {"id": 55, "task": 101, "completed_by": None, "lead_time": 4.5,
                  "updated_at": "2026-01-01T00:00:00Z", "result": [region]}  # fmt: skip
    payload = {
        "action": "ANNOTATION_CREATED",
        "task": task,
        "annotation": annotation,
        "project": {"id": 3, "title": "p", "label_config": label_config(["a", "b"])},
    }
    app = create_app(AppSettings(webhook_secret="s3cret", class_names=("a", "b")), sink=store)
    with TestClient(app) as client:
        denied = client.post("/webhook", json=payload)
        assert denied.status_code in (401, 403)
        for _ in range(2):  # a redelivered event is recorded once
            ok = client.post("/webhook", json=payload, headers={"X-Hitl-Secret": "s3cret"})
            assert ok.status_code == 200, ok.text
    (ann,) = store.annotations()
    assert ann.image_id == 2 and ann.source == "labelstudio" and ann.lead_time == 4.5
    assert ann.boxes == [{"xyxy": [10.0, 8.0, 30.0, 28.0], "class_id": 1, "score": None,
                          "source": "human_accepted", "model_version": "v0001",
                          "region_id": "r0"}]  # fmt: skip
    assert len(store.annotation_history(2)) == 1


def test_deleting_the_newest_of_two_annotations_keeps_the_older_one_current(store):
    """Two annotators on one task (overlap): deleting one leaves the other as the label."""
    store.push_context = (None, "v0001")
    store.record_task(7, "/img/1.jpg", 101)
    assert store.record_annotation(_record(5, [[1, 1, 9, 9]], "2026-01-01T00:00:01"))
    assert store.record_annotation(_record(6, [[2, 2, 20, 20]], "2026-01-01T00:00:02"))
    (current,) = store.annotations()
    assert current.external_id.endswith(":6")
    assert store.record_deletion(7, [6]) == 1
    (current,) = store.annotations()
    assert current.external_id.endswith(":5") and current.boxes[0]["xyxy"] == [1.0, 1.0, 9.0, 9.0]
    assert store.record_deletion(7, [5]) == 1
    assert store.annotations() == []


def test_an_unreachable_postgresql_is_one_line_and_exit_code_2(tmp_path):
    import socket

    from hitl_active.cli.errors import describe_error

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Exception) as caught:
        Store(tmp_path / "state.db", url=f"postgresql://hitl@127.0.0.1:{port}/state")
    line, code = describe_error(caught.value)
    assert code == 2 and "\n" not in line and "state database" in line and str(port) in line


@pytest.mark.parametrize(
    ("url", "ok"),
    [("postgresql://u@h/db", True), ("sqlite:////tmp/s.db", True), ("mysql://u@h/db", False)],
)
def test_the_workspace_config_takes_only_sqlite_or_postgresql_urls(url, ok):
    from hitl_active.workspace.config import LoopConfig, WorkspaceError

    if ok:
        assert LoopConfig(images="x", classes=["a"], database_url=url).database_url == url
    else:
        with pytest.raises(WorkspaceError, match=r"database_url.*postgresql://USER@HOST/DB"):
            LoopConfig(images="x", classes=["a"], database_url=url)


def test_a_workspace_keeps_its_state_in_postgresql_and_the_environment_wins(
    tmp_path, postgres_url, capsys, monkeypatch
):
    from PIL import Image

    from hitl_active.cli import main
    from hitl_active.store.db import ENV_URL
    from hitl_active.workspace.workspace import Workspace

    images = tmp_path / "images"
    images.mkdir()
    for i in range(4):
        Image.new("RGB", (40 + i, 30)).save(images / f"{i}.jpg")
    ws_dir = tmp_path / "ws"
    args = ["init", str(ws_dir), "--images", str(images), "--classes", "a,b", "--gold-size", "2"]
    assert main([*args, "--database-url", postgres_url]) == 0
    assert not (ws_dir / "state.db").exists()  # nothing in the folder but config and models
    assert main(["status", "-w", str(ws_dir)]) == 0
    assert "pool:           2 images (2 more in the gold set)" in capsys.readouterr().out
    with Workspace.open(ws_dir) as ws:
        assert ws.store.dialect == "postgresql" and len(ws.store.images()) == 4
        assert ws.store.image(1).path == str(images.resolve() / "0.jpg")  # outside: absolute
    monkeypatch.setenv(ENV_URL, f"sqlite:///{tmp_path / 'elsewhere.db'}")
    with Workspace.open(ws_dir) as ws:
        assert ws.store.dialect == "sqlite" and ws.store.images() == []
    assert (tmp_path / "elsewhere.db").exists()


def test_opening_an_up_to_date_database_does_not_wait_for_a_writer(tmp_path):
    """status and report open the store while a loop writes: opening takes no write lock."""
    Store(tmp_path / "state.db").close()
    writer = Store(tmp_path / "state.db")
    with writer.transaction():
        writer.set("busy", True)  # holds SQLite's write lock until the block ends
        reader = Store(tmp_path / "state.db")
        assert reader.get("busy") is None and reader.count_images()["pool"] == 0
        reader.close()
    assert writer.get("busy") is True
    writer.close()


def test_an_annotator_is_found_by_their_name_before_anyone_elses_email(store):
    """One person's name may be another's e-mail: a name is theirs first (a page key opens
    the page of the person it names, and that person's page is the one shown)."""
    bo = store.add_annotator("bo", email="x@example.org")
    x = store.add_annotator("x@example.org")
    assert store.annotator("x@example.org").id == x.id
    assert store.annotator("bo").id == bo.id
    assert store.annotator(bo.id).id == bo.id


@pytest.mark.parametrize("kind", ["workspace", "standalone"])
def test_a_pull_completes_a_record_a_bulk_webhook_stored_without_a_diff(store, kind):
    """The one annotation sink, as a workspace's store and as serve's store without a
    workspace, keeps a record without a diff, then takes the diff of the same version from a
    later pull."""
    sink = store if kind == "workspace" else Store.standalone()
    if kind == "workspace":
        store.push_context = (None, "v0001")
        store.record_task(7, "/img/1.jpg", 101)
    full = _record(5, [[1, 1, 9, 9], [20, 20, 40, 40]], "2026-01-01T00:00:01", kept=[(0, 0)])
    bare = dataclasses.replace(full, diff=None)  # what a bulk webhook event carries
    assert sink.record_annotation(bare)
    assert sink.record_annotation(full)  # was: a no-op in the store, the diff lost
    assert not sink.record_annotation(full)  # and only once
    (ann,) = sink.annotations()
    assert ann.diff is not None and ann.diff["kept"] == [[0, 0]]
    assert [b["source"] for b in ann.boxes] == ["human_accepted", "human"]
    assert [a.external_id for a in sink.project_annotations(7)] == ["7:5"]


def test_a_standalone_store_adopts_images_and_a_workspace_store_does_not(store):
    """Without a workspace, serve and pull register each image as Label Studio names it;
    a workspace's store refuses work on an image outside its pool."""
    record = _record(5, [[1, 1, 9, 9]], "2026-01-01T00:00:01")
    key = record.image
    standalone = Store.standalone()
    standalone.record_task(7, "/data/local-files/?d=x/other.jpg", 102)
    assert standalone.task_for_image(7, "/data/local-files/?d=x/other.jpg") == 102
    assert standalone.record_annotation(record)
    assert standalone.image_by_path(key) is not None
    before = len(store.images())
    unknown = dataclasses.replace(record, image="/elsewhere/nobody.jpg", task_id=999)
    assert not store.record_annotation(unknown)
    assert len(store.images()) == before
    with pytest.raises(KeyError, match="not in the workspace's pool"):
        store.record_task(7, "/elsewhere/nobody.jpg", 103)


def test_task_image_keys_are_paths_in_the_pool_and_old_absolute_keys_still_resolve(tmp_path):
    from PIL import Image

    from hitl_active.workspace.workspace import LoopConfig, Workspace

    images = tmp_path / "pool" / "images"
    (images / "street").mkdir(parents=True)
    Image.new("RGB", (32, 24)).save(images / "street" / "a.jpg")
    Image.new("RGB", (32, 24)).save(images / "b.jpg")
    cfg = LoopConfig(images=str(images), classes=["car"], gold_size=0)
    with Workspace.create(tmp_path / "ws", cfg) as ws:
        a = next(i for i in ws.store.images() if i.path.endswith("a.jpg"))
        key = ws.image_key(a.path)
        assert key == "street/a.jpg"  # annotators never see where the server keeps it
        assert ws.store.image_for_key(key) == a.id
        assert ws.store.image_for_key(str(images / "street" / "a.jpg")) == a.id  # earlier pushes
        assert ws.image_key("/elsewhere/c.jpg") == "/elsewhere/c.jpg"
        assert ws.store.image_for_key("street/zzz.jpg") is None


def test_a_standalone_store_is_the_file_it_names_whatever_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HITL_DATABASE_URL", f"sqlite:///{tmp_path / 'workspace.db'}")
    with Store.standalone(tmp_path / "serve.db") as alone:
        assert alone.where == str(tmp_path / "serve.db")
    with Store(tmp_path / "state.db") as ws_store:  # a workspace's store follows the variable
        assert ws_store.where == str(tmp_path / "workspace.db")


def test_setdefault_keeps_the_first_value(store):
    assert store.setdefault("k", "first") == "first"
    assert store.setdefault("k", "second") == "first" and store.get("k") == "first"
