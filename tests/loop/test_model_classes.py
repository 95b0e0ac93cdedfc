"""A model version whose classes differ from the workspace's is refused when it is loaded."""

from __future__ import annotations

import pytest

from hitl_active.loop import steps
from hitl_active.serving.engine import ModelLoadError
from hitl_active.store.rows import ModelVersionRow


def _version(onnx) -> ModelVersionRow:
    return ModelVersionRow(
        name="v0001", parent=None, created_at=0.0, weights=None, onnx=str(onnx), metrics={},
        snapshot={}, status="promoted", promoted_at=0.0,
    )  # fmt: skip


def test_workspace_classes_must_match_the_models(tiny_model) -> None:
    version = _version(tiny_model.onnx)
    assert steps._engine(version, tiny_model.class_names).class_names == tiny_model.class_names
    for classes in (["car", "bus"], list(reversed(tiny_model.class_names))):
        with pytest.raises(ModelLoadError) as info:
            steps.predict(version, [], classes)
        message = str(info.value)
        assert str(tiny_model.onnx) in message
        assert str(tiny_model.class_names) in message and str(classes) in message
