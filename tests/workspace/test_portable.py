"""A workspace can be moved: paths inside it are stored relative to it."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from hitl_active.store.store import Store
from hitl_active.workspace.workspace import Workspace
from tests.loop.loop_helpers import run_cli, tiny_dataset, tiny_workspace


def _stored(db, sql: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [v for row in conn.execute(sql) for v in row if v is not None]


@pytest.mark.slow
def test_a_moved_workspace_retrains_and_exports(tmp_path):
    before = tmp_path / "before"
    data = tiny_dataset(before / "client-images", n_images=20)  # the pool inside the workspace
    tiny_workspace(before, data, round_size=4, gold_size=4).close()
    loop = ["loop", "--rounds", "1"]
    done = run_cli(*loop, "-w", str(before), "--simulate-labels", str(data / "labels"))
    assert done.returncode == 0, done.stderr[-3000:]

    db = before / "state.db"
    paths = _stored(db, "SELECT path FROM images") + _stored(
        db, "SELECT weights, onnx FROM model_versions"
    )
    assert len(paths) == 20 + 2
    assert not [p for p in paths if p.startswith("/")], paths  # nothing absolute inside

    after = tmp_path / "elsewhere" / "after"
    after.parent.mkdir()
    shutil.move(before, after)
    labels = after / "client-images" / "labels"
    done = run_cli(*loop, "-w", str(after), "--simulate-labels", str(labels))
    assert done.returncode == 0, done.stderr[-3000:]
    with Workspace.open(after) as ws:
        assert ws.config.images == "client-images/images"  # the pool moved with it
        assert ws.images_dir == after / "client-images" / "images" and ws.images_dir.is_dir()
        versions = ws.store.model_versions()
        assert [v.name for v in versions] == ["v0001", "v0002"]
        assert versions[1].snapshot["start_from"] == str(after / "models/v0001/weights.pt")
        assert all(img.path.startswith(str(after)) for img in ws.store.images())
    out = tmp_path / "delivery"
    exported = run_cli("export", "-w", str(after), "--format", "yolo", "--out", str(out))
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert len(list((out / "images").iterdir())) >= 12  # the images, read from the new place


def test_paths_outside_stay_absolute_and_old_absolute_rows_still_resolve(tmp_path):
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    outside = tmp_path / "pool" / "a.png"
    inside = ws_dir / "pool" / "b.png"
    with Store(ws_dir / "state.db") as store:
        store.add_images([(str(outside), 8, 8, "1", "pool"), (str(inside), 8, 8, "2", "pool")])
        with store.transaction() as c:  # a row written before paths were made relative
            c.exec_driver_sql(
                "INSERT INTO images(path, width, height, sha1, split, added_at) "
                "VALUES (?, 8, 8, '3', 'pool', 0)",
                (str(ws_dir / "pool" / "c.png"),),
            )
        store.add_model_version("v0001", None)
        store.update_model_version("v0001", weights=str(ws_dir / "models/v0001/weights.pt"))
    stored = _stored(ws_dir / "state.db", "SELECT path FROM images ORDER BY id")
    assert stored == [str(outside), "pool/b.png", str(ws_dir / "pool" / "c.png")]
    assert _stored(ws_dir / "state.db", "SELECT weights FROM model_versions") == [
        "models/v0001/weights.pt"
    ]
    with Store(ws_dir / "state.db") as store:
        paths = [img.path for img in store.images()]
        assert paths == [str(outside), str(inside), str(ws_dir / "pool" / "c.png")]
        assert store.image_by_path(str(inside)).sha1 == "2"  # either spelling finds a row
        assert store.image_by_path(str(ws_dir / "pool" / "c.png")).sha1 == "3"
        assert store.model_version("v0001").weights == str(ws_dir / "models/v0001/weights.pt")
