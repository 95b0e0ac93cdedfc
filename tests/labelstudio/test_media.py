"""Task images come from the local-files root and the configured Label Studio only.

HTTP is an ``httpx.MockTransport`` here, which records what would have been contacted; the
same rules against a real `hitl-active serve` and real sockets are in tests/server.
"""

from __future__ import annotations

import io
import os

import httpx
import pytest
from PIL import Image

from hitl_active.labelstudio.media import REFUSED, UNREADABLE, TaskImageError, fetch_task_image

LS = "http://127.0.0.1:8080"


def _png(w: int = 8, h: int = 6) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 20, 30)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "images").mkdir(parents=True)
    Image.new("RGB", (20, 10)).save(tmp_path / "root" / "images" / "a.jpg")
    (tmp_path / "root" / "images" / "bad.jpg").write_bytes(b"not an image")
    Image.new("RGB", (8, 4)).save(tmp_path / "secret.jpg")
    os.symlink(tmp_path / "secret.jpg", tmp_path / "root" / "images" / "link.jpg")
    return tmp_path / "root"


class Site:
    """Label Studio's file routes as a transport: records every request it is sent."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes, self.seen = routes, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        return self.routes.get(request.url.path, httpx.Response(404))


def _fetch(url, root=None, site=None, token="t0ken", max_bytes=10_000):
    site = site or Site({})
    with httpx.Client(transport=httpx.MockTransport(site)) as http:
        return fetch_task_image(url, root, LS, token, http, max_bytes).pixels


def test_local_files_inside_the_root_are_read_from_disk(root) -> None:
    assert _fetch("/data/local-files/?d=images/a.jpg", root).shape == (10, 20, 3)
    assert _fetch(str(root / "images" / "a.jpg"), root).shape == (10, 20, 3)
    with pytest.raises(TaskImageError) as err:
        _fetch("/data/local-files/?d=images/bad.jpg", root)
    assert str(err.value) == UNREADABLE and "bad.jpg" in err.value.detail


@pytest.mark.parametrize(
    "url",
    [
        "/data/local-files/?d=../secret.jpg",
        "/data/local-files/?d=images/link.jpg",  # a symlink out of the root
        "/data/local-files/?d=/etc/passwd",
        "file:///etc/passwd",
    ],
)
def test_paths_that_leave_the_root_are_refused_without_a_request(root, url) -> None:
    site = Site({})
    with pytest.raises(TaskImageError) as err:
        _fetch(url, root, site)
    assert str(err.value) == REFUSED and site.seen == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9999/data/upload/a.png",  # another port of this host
        "http://localhost.evil:8080/data/upload/a.png",
        "https://127.0.0.1:8080/data/upload/a.png",  # another scheme
        "http://user@127.0.0.1:8080/data/upload/a.png",
        "//127.0.0.1:9999/data/upload/a.png",
        "/api/projects",  # Label Studio's API, not its files
        "/data/upload/../../api/projects",
        "/data/upload/%2e%2e/%2e%2e/api/projects",
        "gs://bucket/a.png",
    ],
)
def test_urls_off_label_studio_file_routes_are_refused_without_a_request(url) -> None:
    site = Site({})
    with pytest.raises(TaskImageError) as err:
        _fetch(url, site=site)
    assert str(err.value) == REFUSED and site.seen == []


def test_label_studio_paths_are_fetched_with_the_token_and_capped() -> None:
    site = Site(
        {
            "/data/upload/a.png": httpx.Response(200, content=_png()),
            "/data/upload/big.png": httpx.Response(200, content=_png(400, 400) + b"\0" * 20_000),
        }
    )
    assert _fetch("/data/upload/a.png", site=site).shape == (6, 8, 3)
    assert _fetch(f"{LS}/data/upload/a.png", site=site).shape == (6, 8, 3)
    with pytest.raises(TaskImageError, match="limit of 10000 bytes"):
        _fetch("/data/upload/big.png", site=site)


def test_redirects_are_followed_only_within_label_studio_file_routes() -> None:
    def moved(to: str) -> httpx.Response:
        return httpx.Response(302, headers={"Location": to})

    site = Site(
        {
            "/data/upload/hop.png": moved("/data/upload/a.png"),
            "/data/upload/a.png": httpx.Response(200, content=_png()),
            "/data/upload/away.png": moved("http://127.0.0.1:9999/data/upload/a.png"),
            "/data/upload/api.png": moved("/api/projects"),
            "/data/upload/loop.png": moved("/data/upload/loop.png"),
        }
    )
    assert _fetch("/data/upload/hop.png", site=site).shape == (6, 8, 3)
    for url in ("/data/upload/away.png", "/data/upload/api.png", "/data/upload/loop.png"):
        site.seen.clear()
        with pytest.raises(TaskImageError) as err:
            _fetch(url, site=site)
        assert str(err.value) == UNREADABLE
        assert all(seen.startswith(LS + "/data/upload/") for seen in site.seen), site.seen


def test_without_a_label_studio_only_the_root_serves(root) -> None:
    with httpx.Client(transport=httpx.MockTransport(Site({}))) as http:
        for url in ("/data/upload/a.png", f"{LS}/data/upload/a.png", "images/a.jpg"):
            with pytest.raises(TaskImageError, match="image URL refused"):
                fetch_task_image(url, root, None, None, http)
