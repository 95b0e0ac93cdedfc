"""Memory stays bounded on pictures that pass every cap: a small PNG holding 9500x9500 pixels.

A real `hitl-active serve` process; its peak resident memory (the kernel's high-water mark,
VmHWM) is read after concurrent `/predict` calls, each with four tasks on that picture.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
import psutil
import pytest
from PIL import Image, ImageDraw
from server_helpers import serve_process

from hitl_active.labelstudio import SECRET_HEADER, label_config

pytestmark = pytest.mark.slow

SECRET = "memory-secret"
SIDE = 9500
PEAK_LIMIT = 1.0e9


def _peak_rss(pid: int) -> float:
    """Peak resident bytes of the process and its children (VmHWM)."""
    total = 0.0
    proc = psutil.Process(pid)
    for p in [proc, *proc.children(recursive=True)]:
        for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += float(line.split()[1]) * 1024
    return total


@pytest.fixture(scope="module")
def big_png(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("big")
    (root / "images").mkdir()
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # only while drawing the test picture
    try:
        im = Image.new("RGB", (SIDE, SIDE), (120, 130, 140))
        ImageDraw.Draw(im).rectangle((2000, 3000, 6000, 7000), fill=(250, 20, 20))
        im.save(root / "images" / "big.png", optimize=False, compress_level=9)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    assert (root / "images" / "big.png").stat().st_size < 2_000_000
    return root


def test_concurrent_predicts_on_a_huge_png_stay_under_a_gigabyte(tiny_model, big_png):
    config = label_config(tiny_model.class_names)
    task = {"data": {"image": "/data/local-files/?d=images/big.png"}}
    body = {"tasks": [dict(task, id=i) for i in range(4)], "label_config": config}
    env = {"HITL_WEBHOOK_SECRET": SECRET}
    with serve_process(tiny_model.onnx, big_png, env) as url:
        pid = _server_pid(url)
        before = _peak_rss(pid)

        def call(_: int) -> httpx.Response:
            return httpx.post(
                f"{url}/predict", json=body, headers={SECRET_HEADER: SECRET}, timeout=300
            )

        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(call, range(3)))
        peak = _peak_rss(pid)
    assert [a.status_code for a in answers] == [200] * 3, answers[0].text[:300]
    results = answers[0].json()["results"]
    assert len(results) == 4
    for region in (r for res in results for r in res["result"]):
        assert (region["original_width"], region["original_height"]) == (SIDE, SIDE)
        assert 0 <= region["value"]["x"] <= 100 and 0 <= region["value"]["width"] <= 100
    assert peak < PEAK_LIMIT, f"peak RSS {peak / 1e9:.2f} GB (before the calls {before / 1e9:.2f})"


def _server_pid(url: str) -> int:
    port = int(url.rsplit(":", 1)[1])
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            return int(conn.pid)
    raise AssertionError(f"no process listens on port {port}")
