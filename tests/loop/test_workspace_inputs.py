"""``init`` on a pool with hostile entries: each is listed with its reason, none is decoded."""

from __future__ import annotations

import logging

from PIL import Image

from hitl_active.cli import main
from hitl_active.loop.workspace import Workspace


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
