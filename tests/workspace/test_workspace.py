"""Workspace creation, config file round trip and errors."""

from __future__ import annotations

import pytest
import yaml
from PIL import Image

from hitl_active.workspace.workspace import LoopConfig, Workspace, WorkspaceError


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
        ({"classes": ["a"], "epochs": 0}, "field 'epochs': 0: must be greater than or equal to 1"),
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
    with pytest.raises(WorkspaceError, match="unknown config key 'bogus'; valid keys: images"):
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
    from hitl_active.bench.demo import DemoConfig
    from hitl_active.cli import main
    from hitl_active.sampling import DEFAULT_STRATEGY

    args = [
        "init",
        str(tmp_path / "ws"),
        "--images",
        str(images),
        "--classes",
        "a",
        "--gold-size",
        "1",
    ]
    assert main(args) == 0
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.config.strategy == DEFAULT_STRATEGY
    assert LoopConfig(images=str(images), classes=["a"]).strategy == DEFAULT_STRATEGY
    assert DemoConfig().strategy == DEFAULT_STRATEGY
    args = [
        "init",
        str(tmp_path / "ws2"),
        "--images",
        str(images),
        "--classes",
        "a",
        "--gold-size",
        "1",
    ]
    assert main([*args, "--strategy", "margin-max"]) == 0
    with Workspace.open(tmp_path / "ws2") as ws:
        assert ws.config.strategy == "margin-max"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("strategy: entropy-summ", "field 'strategy': 'entropy-summ' is not a strategy; valid: "),
        ('fine_tune: "no"', "field 'fine_tune': 'no' is not true or false"),
        ('imgsz: "abc"', "field 'imgsz': 'abc' is not a whole number"),
        ("classes: cat", "field 'classes': 'cat' is a string, not a list; write a YAML list"),
        ("budget_seconds: -10", "field 'budget_seconds': -10: must be greater than 0"),
        ("seed: abc", "field 'seed': 'abc' is not a whole number"),
        ('conf_threshold: "0.5"', "field 'conf_threshold': '0.5' is not a number"),
        ("device: gpu", "field 'device': 'gpu' is not a device"),
        ("coffee: 1", "unknown config key 'coffee'; valid keys: images, classes"),
    ],
)
def test_every_command_refuses_a_bad_config_with_one_line(tmp_path, images, capsys, line, expected):
    from hitl_active.cli import main

    ws_dir = tmp_path / "ws"
    init = ["init", str(ws_dir), "--images", str(images), "--classes", "a,b", "--gold-size", "1"]
    assert main(init) == 0
    path = ws_dir / "hitl-active.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load(path.read_text()) | yaml.safe_load(line)))
    capsys.readouterr()
    for command in (["status"], ["round"], ["models"], ["report"]):
        assert main([*command, "-w", str(ws_dir)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: {expected}") and err.count("\n") == 1, err


def test_a_valid_config_survives_a_round_trip(tmp_path, images):
    cfg = LoopConfig(images=str(images), classes=["a"], device="0,1", fine_tune=False, seed=7)
    with Workspace.create(tmp_path / "ws", cfg):
        pass
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.config == cfg and ws.config.device == "0,1" and ws.config.fine_tune is False
    with pytest.raises(WorkspaceError, match="field 'seed': 'x' is not a whole number"):
        cfg.seed = "x"  # assignments are checked too


def test_a_workspace_written_with_the_old_batch_names_opens_with_the_new_ones(tmp_path, images):
    cfg = LoopConfig(images=str(images), classes=["a"], gold_size=0)
    with Workspace.create(tmp_path / "ws", cfg):
        pass
    path = tmp_path / "ws" / "hitl-active.yaml"
    old = yaml.safe_load(path.read_text())
    old["batch_size"], old["batch"] = old.pop("round_size"), old.pop("train_batch")
    path.write_text(yaml.safe_dump(old | {"batch_size": 7, "batch": 4}))
    with Workspace.open(tmp_path / "ws") as ws:
        assert (ws.config.round_size, ws.config.train_batch) == (7, 4)
    with pytest.raises(WorkspaceError, match="batch_size and round_size name the same setting"):
        LoopConfig(images="x", classes=["a"], batch_size=3, round_size=4)


def test_init_refuses_a_gold_set_that_takes_the_whole_pool(tmp_path, images, capsys, caplog):
    from hitl_active.cli import main

    ws_dir = tmp_path / "ws"
    args = ["init", str(ws_dir), "--images", str(images), "--classes", "a"]
    assert main([*args, "--gold-size", "100"]) == 2
    assert "gold size 100 would take all 4 pool images" in capsys.readouterr().err
    assert not (ws_dir / "hitl-active.yaml").exists()  # nothing half-made; a re-run works
    assert main([*args, "--gold-size", "3", "--batch-size", "1"]) == 0
    assert "takes 3 of the 4 pool images, leaving 1 to label" in caplog.text
    assert "1 pool images, 3 gold images" in capsys.readouterr().out
