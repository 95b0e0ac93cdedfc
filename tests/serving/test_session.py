"""Execution-provider selection, with the available providers injected."""

from __future__ import annotations

import logging

import pytest

from hitl_active.serving.session import (
    CPU,
    CUDA,
    available_providers,
    create_session,
    select_providers,
)


def test_default_prefers_cuda_when_present() -> None:
    assert select_providers(None, [CUDA, CPU]) == [CUDA, CPU]
    assert select_providers(None, ["AzureExecutionProvider", CPU]) == [CPU]


def test_unavailable_requested_provider_is_dropped_with_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        assert select_providers([CUDA, CPU], [CPU]) == [CPU]
    assert "not available" in caplog.text and CPU in caplog.text and "gpu" in caplog.text


def test_nothing_available_is_an_error_listing_the_available() -> None:
    with pytest.raises(ValueError, match=r"available: \['CPUExecutionProvider'\]"):
        select_providers([CUDA], [CPU])
    with pytest.raises(ValueError, match="empty"):
        select_providers([], [CPU])


def test_real_runtime_has_cpu() -> None:
    assert CPU in available_providers()


def test_missing_model_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="hitl-active export"):
        create_session(tmp_path / "nope.onnx")
