"""The model registry: versions, promotion only on a better gold score, rollback."""

from __future__ import annotations

import pytest

from hitl_active.loop.registry import ModelRegistry, RegistryError, gold_map
from hitl_active.store.store import Store


@pytest.fixture
def registry(tmp_path):
    store = Store(tmp_path / "state.db")
    yield ModelRegistry(store, tmp_path / "models")
    store.close()


def _make(registry, tmp_path, parent, gold):
    name = registry.begin_version(parent)
    weights = tmp_path / f"{name}.pt"
    weights.write_bytes(b"w")
    onnx = tmp_path / f"{name}.onnx"
    onnx.write_bytes(b"o")
    registry.finish_version(name, weights, onnx, {"images": [1, 2]})
    registry.set_metrics(name, {"gold": {"map50_95": gold, "map50": gold * 2}})
    return name


def test_versions_get_folders_with_weights_onnx_metrics_and_snapshot(registry, tmp_path):
    name = _make(registry, tmp_path, None, 0.1)
    assert name == "v0001"
    folder = registry.version_dir(name)
    for f in ("weights.pt", "model.onnx", "metrics.json", "snapshot.json"):
        assert (folder / f).is_file()
    row = registry.get(name)
    assert row.status == "candidate" and row.snapshot == {"images": [1, 2]}
    assert gold_map(row) == 0.1


def test_promotion_needs_a_better_gold_score_unless_forced(registry, tmp_path):
    v1 = _make(registry, tmp_path, None, 0.3)
    assert registry.promote(v1)
    v2 = _make(registry, tmp_path, v1, 0.2)
    assert not registry.promote(v2)
    assert registry.current().name == v1 and registry.get(v2).status == "rejected"
    assert registry.promote(v2, force=True)
    assert registry.current().name == v2 and registry.get(v1).status == "retired"
    v3 = _make(registry, tmp_path, v2, 0.5)
    assert registry.get(v3).parent == v2
    assert registry.promote(v3)
    current = registry.models_dir / "current"
    assert current.resolve() == registry.version_dir(v3).resolve()
    assert (current / "model.onnx").read_bytes() == b"o"
    assert registry.rollback() == v2
    assert current.resolve() == registry.version_dir(v2).resolve()
    assert (registry.models_dir / "CURRENT").read_text().strip() == v2
    assert registry.current().name == v2
    assert registry.rollback() == v1
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback()


def test_an_unfinished_version_is_reused_and_cannot_be_promoted(registry, tmp_path):
    name = registry.begin_version(None)
    (registry.version_dir(name) / "partial.pt").write_bytes(b"x")
    with pytest.raises(RegistryError, match="unfinished"):
        registry.promote(name)
    again = registry.begin_version(None)
    assert again == name and not (registry.version_dir(name) / "partial.pt").exists()
    assert len(registry.list()) == 1


def test_unknown_version_lists_the_known_ones(registry, tmp_path):
    _make(registry, tmp_path, None, 0.1)
    with pytest.raises(RegistryError, match="v0001"):
        registry.get("v0042")


def test_models_package_does_not_import_the_loop() -> None:
    """The registry belongs to the loop; ``models/`` stays below it (train, export, evaluate)."""
    import ast
    from pathlib import Path

    import hitl_active.models

    offenders = []
    for path in Path(hitl_active.models.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("hitl_active.loop")]
    assert offenders == []
