"""``init`` on a pool with hostile entries: each is listed with its reason, none is decoded."""

from __future__ import annotations

import logging
import time
import tracemalloc

import pytest
from PIL import Image

from hitl_active.cli import main
from hitl_active.workspace.config import LoopConfig, WorkspaceError
from hitl_active.workspace.workspace import Workspace


def test_init_lists_skipped_pool_entries_and_refuses_a_pixel_bomb(tmp_path, caplog) -> None:
    pool = tmp_path / "pool"
    (pool / "sub").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (40 + i, 30)).save(pool / f"{i}.jpg")
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # only while writing the bomb
    try:
        Image.new("1", (20000, 20000)).save(pool / "sub" / "bomb.png")
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    (pool / "sub" / "up").symlink_to("..")
    (pool / "gone.jpg").symlink_to("nowhere.jpg")
    args = ["init", str(tmp_path / "ws"), "--images", str(pool), "--classes", "a,b"]
    with caplog.at_level(logging.INFO):
        assert main([*args, "--gold-size", "1"]) == 0
    assert "symlink loop" in caplog.text and "broken symlink" in caplog.text
    assert "2 entries skipped" in caplog.text
    assert "bomb.png" in caplog.text and "limit" in caplog.text
    with Workspace.open(tmp_path / "ws") as ws:
        assert sum(ws.store.count_images().values()) == 3


def _alias_bomb(levels: int = 9) -> str:
    """A billion laughs: each level a list of nine aliases of the one above."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines)


@pytest.mark.parametrize("where", ["classes", "work-pay"])
def test_a_yaml_alias_bomb_in_the_config_is_one_quick_line(tmp_path, capsys, where) -> None:
    """Nine levels of aliases (9**10 strings when expanded) are refused before expansion."""
    ws = tmp_path / "ws"
    args = ["init", str(ws), "--images", str(_pool(tmp_path)), "--classes", "a,b"]
    assert main([*args, "--gold-size", "1"]) == 0
    config = ws / "hitl-active.yaml"
    bomb = _alias_bomb().replace("\n", "\n  ")
    body = config.read_text()
    if where == "classes":
        body = body.replace("classes:", f"bombs:\n  {bomb}\nclasses:", 1)
        body = body.replace("classes:\n- a\n- b", "classes: *a9", 1)
    else:
        body += f"work:\n  pay:\n    {bomb.replace(chr(10), chr(10) + '  ')}\n"
    config.write_text(body)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(WorkspaceError) as err:
        Workspace.open(ws)
    seconds, (_, peak) = time.perf_counter() - started, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    message = str(err.value)
    assert "alias" in message and str(config) in message and "\n" not in message
    assert len(message) < 300 and "lol" not in message
    assert seconds < 2 and peak < 200e6, (seconds, peak)
    capsys.readouterr()
    assert main(["status", "-w", str(ws)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_a_huge_config_value_is_not_echoed_into_the_error(tmp_path, capsys) -> None:
    ws = tmp_path / "ws"
    args = ["init", str(ws), "--images", str(_pool(tmp_path)), "--classes", "a,b"]
    assert main([*args, "--gold-size", "1"]) == 0
    config = ws / "hitl-active.yaml"
    text = config.read_text().replace("classes:\n- a\n- b", f"classes: {'x' * 200_000}", 1)
    config.write_text(text)
    capsys.readouterr()
    assert main(["status", "-w", str(ws)]) == 2
    err = capsys.readouterr().err
    assert "classes" in err and "is a string, not a list" in err and len(err) < 500
    config.write_text(text + "#" * (2 << 20))
    assert main(["status", "-w", str(ws)]) == 2
    assert "bytes, more than" in capsys.readouterr().err


def _pool(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(3):
        Image.new("RGB", (40 + i, 30)).save(pool / f"{i}.jpg")
    return pool


def test_box_review_settings_are_checked_and_a_refused_change_is_undone():
    cfg = LoopConfig(images="x", classes=["a"], review="boxes")
    assert cfg.review_settings().sure == 0.5 and cfg.review_settings().floor == 0.1
    with pytest.raises(WorkspaceError, match=r"review_floor 0\.9 is above review_sure"):
        cfg.review_floor = 0.9
    assert cfg.review_floor == 0.1
    with pytest.raises(WorkspaceError, match="team queues review whole images"):
        cfg.team_queues = True  # a honeypot must look like every other task
    assert cfg.team_queues is False
    with pytest.raises(WorkspaceError, match="review"):
        LoopConfig(images="x", classes=["a"], review="regions")
