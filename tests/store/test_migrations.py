"""A workspace written before Alembic opens: its tables are recognised and stamped."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from hitl_active.store.migrations import HEAD, LEGACY_VERSION
from hitl_active.store.store import Store

# state.db of a two-round demo workspace made by the pre-Alembic code (PRAGMA user_version 2)
OLD = Path(__file__).parent / "fixtures" / "old_state.db"


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    conn.close()
    return counts


def test_an_old_workspace_database_opens_with_every_row_and_is_stamped(tmp_path):
    path = tmp_path / "state.db"
    shutil.copy(OLD, path)
    before = _counts(path)
    assert "alembic_version" not in before and before["annotations"] > 0

    with Store(path) as s:
        assert s.schema_version == HEAD
        assert len(s.images()) == before["images"]
        assert len(s.rounds()) == before["rounds"] and s.open_round() is None
        assert len(s.annotations(current_only=False)) == before["annotations"]
        assert len(s.tasks()) == before["tasks"] and len(s.gold_labels()) == before["gold_labels"]
        names = [v.name for v in s.model_versions()]
        assert s.promoted_version().name in names
        predicted = {v: s.predicted_ids(v) for v in names}
        assert sum(len(ids) for ids in predicted.values()) == before["predictions"]
        version = next(v for v, ids in predicted.items() if ids)
        assert len(s.predictions(version)) == len(predicted[version])
        # the new revisions' parts work on the old rows
        new = s.claim_round("project:1", version)
        assert new.id == before["rounds"] + 1
        assert s.add_jobs("prelabel", [("a", {})]) == 1

    after = _counts(path)
    assert {t: after[t] for t in before} == before | {"rounds": before["rounds"] + 1}
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LEGACY_VERSION
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD
    conn.close()
    with Store(path) as s:  # reopening is a no-op
        assert s.schema_version == HEAD and len(s.rounds()) == before["rounds"] + 1


def test_every_revision_downgrades_and_upgrades_again(tmp_path, db_url):
    from alembic import command
    from alembic.config import Config

    from hitl_active.store.db import make_engine, state_url

    with Store(tmp_path / "state.db", url=db_url) as s:
        s.add_images([("/img/a.jpg", 9, 9, None, "pool")])
    engine = make_engine(state_url(tmp_path / "state.db", db_url))
    config = Config()
    config.set_main_option("script_location", "hitl_active.store:alembic")
    with engine.begin() as c:
        config.attributes["connection"] = c
        command.downgrade(config, "0001")
    engine.dispose()
    with Store(tmp_path / "state.db", url=db_url) as s:  # upgraded on open, rows kept
        assert s.schema_version == HEAD and [i.path for i in s.images()] == ["/img/a.jpg"]
        assert s.claim_round("project:1", None).owner == "project:1"
