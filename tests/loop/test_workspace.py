"""Workspace creation, config file round trip and errors."""

from __future__ import annotations

import pytest
from PIL import Image

from hitl_active.loop.workspace import LoopConfig, Workspace, WorkspaceError


@pytest.fixture
def images(tmp_path):
    d = tmp_path / "images"
    d.mkdir()
    for i in range(4):
        Image.new("RGB", (40 + i, 30)).save(d / f"{i}.jpg")
    (d / "broken.jpg").write_bytes(b"not a jpeg")
    return d


def test_create_registers_readable_images_and_reopens(tmp_path, images):
    cfg = LoopConfig(images=str(images), classes=["a", "b"], epochs=2)
    with Workspace.create(tmp_path / "ws", cfg) as ws:
        assert ws.config_path.is_file() and ws.state_path.is_file() and ws.models_dir.is_dir()
        assert ws.store.count_images()["pool"] == 4
        assert {r.width for r in ws.store.images()} == {40, 41, 42, 43}
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.config.classes == ["a", "b"] and ws.config.epochs == 2


def test_create_refuses_an_existing_workspace(tmp_path, images):
    cfg = LoopConfig(images=str(images), classes=["a"])
    Workspace.create(tmp_path / "ws", cfg).close()
    with pytest.raises(WorkspaceError, match="already holds a workspace"):
        Workspace.create(tmp_path / "ws", cfg)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"classes": []}, "non-empty"),
        ({"classes": ["a", "a"]}, "unique"),
        ({"classes": ["a"], "epochs": 0}, "epochs must be at least 1"),
        ({"classes": ["a"], "conf_threshold": 2.0}, "conf_threshold"),
    ],
)
def test_bad_config_is_refused(kwargs, match):
    with pytest.raises(WorkspaceError, match=match):
        LoopConfig(images="x", **kwargs)


def test_open_explains_a_missing_or_bad_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="hitl-active init"):
        Workspace.open(tmp_path)
    (tmp_path / "hitl-active.yaml").write_text("images: x\nclasses: [a]\nbogus: 1\n")
    with pytest.raises(WorkspaceError, match="unknown config keys"):
        Workspace.open(tmp_path)


def test_cli_init_freezes_a_gold_sample_and_status_reports_it(tmp_path, images, capsys):
    from hitl_active.cli import main

    ws_dir = tmp_path / "ws"
    args = ["init", str(ws_dir), "--images", str(images), "--classes", "a, b", "--gold-size", "2"]
    assert main(args) == 0
    assert "2 pool images, 2 gold images" in capsys.readouterr().out
    assert main(["status", "-w", str(ws_dir)]) == 0
    out = capsys.readouterr().out
    assert "pool:           2 images (2 more in the gold set)" in out and "none yet" in out
    assert main(args) == 2  # already a workspace: a clear error, no traceback
    assert "already holds a workspace" in capsys.readouterr().err
    assert main(["status", "-w", str(tmp_path / "nowhere")]) == 2
    assert "hitl-active init" in capsys.readouterr().err


def test_init_the_workspace_and_the_demo_share_the_default_strategy(tmp_path, images):
    from hitl_active.cli import main
    from hitl_active.loop.demo import DemoConfig
    from hitl_active.sampling import DEFAULT_STRATEGY

    assert main(["init", str(tmp_path / "ws"), "--images", str(images), "--classes", "a"]) == 0
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.config.strategy == DEFAULT_STRATEGY
    assert LoopConfig(images=str(images), classes=["a"]).strategy == DEFAULT_STRATEGY
    assert DemoConfig().strategy == DEFAULT_STRATEGY
    args = ["init", str(tmp_path / "ws2"), "--images", str(images), "--classes", "a"]
    assert main([*args, "--strategy", "margin-max"]) == 0
    with Workspace.open(tmp_path / "ws2") as ws:
        assert ws.config.strategy == "margin-max"
