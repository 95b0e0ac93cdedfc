"""Fetch the image a Label Studio task points at, as an RGB array — from two places only.

Task data is written by Label Studio users, so a task's image URL is untrusted input. It is
served from:

* the **local-files root** (``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``):
  ``/data/local-files/?d=<relative path>`` URLs and plain paths are read from disk when the
  resolved file lies inside the root (``..`` and symlinks that leave it are refused);
* the **configured Label Studio** (``LABEL_STUDIO_URL``): paths under its ``/data/`` and
  ``/tasks/`` routes, relative or absolute with the same scheme, host and port, fetched with
  the API token. Redirects are followed only while they stay on those routes of that
  origin, and a response larger than ``max_bytes`` is cut off.

Everything else (other hosts, other ports of this host, ``file://`` outside the root, other
schemes) is refused without being contacted. Errors carry one of two public messages,
:data:`REFUSED` and :data:`UNREADABLE`, so a caller cannot tell an open port from a closed
one; what actually happened is in :attr:`TaskImageError.detail` for the server's log. A URL
holding a control character (a tab, a line break, NUL) is refused before anything else
(:data:`CONTROL`).
"""

from __future__ import annotations

import io
import logging
import urllib.parse
from pathlib import Path
from typing import NamedTuple

import httpx
import numpy as np

from hitl_active.data.images import (
    DecodeBudget,
    ImageReadError,
    read_image,
    read_image_reduced,
)
from hitl_active.labelstudio.client import LabelStudioError, auth_header, is_personal_access_token
from hitl_active.labelstudio.project import local_path

__all__ = [
    "DEFAULT_MAX_IMAGE_BYTES",
    "REFUSED",
    "UNREADABLE",
    "TaskImage",
    "TaskImageError",
    "fetch_task_image",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_IMAGE_BYTES = 50 * 2**20
MAX_REDIRECTS = 3
LABEL_STUDIO_ROUTES = ("/data/", "/tasks/")  # uploads, local files, cloud-storage resolvers
REFUSED = (
    "image URL refused: images are served only from the configured Label Studio "
    "(LABEL_STUDIO_URL, its /data/ and /tasks/ paths) and the local-files root"
)
UNREADABLE = "image could not be fetched or is not a readable image"
CONTROL = "image URL refused: it holds a control character (a tab, line break or NUL)"


class TaskImage(NamedTuple):
    """A task's picture: its RGB pixels, perhaps decoded smaller, and its full displayed size."""

    pixels: np.ndarray
    size: tuple[int, int]  # (width, height) of the original, EXIF orientation applied


class TaskImageError(ValueError):
    """A task's image is refused or unreadable; ``str()`` is safe to send to the caller."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


# (server, personal access token) -> the header of the last access token made from it
_access_headers: dict[tuple[str, str], dict[str, str]] = {}


def _header(http: httpx.Client, ls_url: str, token: str, renew: bool = False) -> dict[str, str]:
    key = (ls_url, token)
    if renew or key not in _access_headers:
        try:
            _access_headers[key] = auth_header(http, ls_url, token)
        except (LabelStudioError, httpx.HTTPError) as exc:
            logger.warning("cannot authenticate to Label Studio for task images: %s", exc)
            raise TaskImageError(UNREADABLE, f"cannot authenticate to {ls_url}: {exc}") from exc
    return _access_headers[key]


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def _on_label_studio(url: str, ls_url: str | None) -> bool:
    """Same origin as ``ls_url`` and under one of its image routes, with no ``..``."""
    if not ls_url or _origin(url) is None or _origin(url) != _origin(ls_url):
        return False
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    if ".." in path.replace("\\", "/").split("/"):
        return False
    prefix = urllib.parse.urlsplit(ls_url).path.rstrip("/")
    return any(path.startswith(prefix + route) for route in LABEL_STUDIO_ROUTES)


def _inside(path: Path, files_root: str | Path | None) -> Path | None:
    if files_root is None:
        return None
    root = Path(files_root).resolve()
    resolved = path.resolve()  # follows symlinks: a link out of the root lands outside it
    return resolved if resolved == root or root in resolved.parents else None


def _decode(
    source: Path | io.BytesIO, max_side: int | None, budget: DecodeBudget | None
) -> TaskImage:
    if max_side is None:
        pixels = read_image(source)
        return TaskImage(pixels, (pixels.shape[1], pixels.shape[0]))
    return TaskImage(*read_image_reduced(source, max_side, budget))


def _read_file(path: Path, max_side: int | None, budget: DecodeBudget | None) -> TaskImage:
    try:
        return _decode(path, max_side, budget)
    except (ImageReadError, OSError) as exc:
        raise TaskImageError(UNREADABLE, f"{path}: {exc}") from exc


def _read_capped(resp: httpx.Response, max_bytes: int) -> bytes:
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TaskImageError(
            f"image is larger than the limit of {max_bytes} bytes (HITL_MAX_IMAGE_BYTES)"
        )
    buf = bytearray()
    for chunk in resp.iter_bytes():
        buf += chunk
        if len(buf) > max_bytes:
            raise TaskImageError(
                f"image is larger than the limit of {max_bytes} bytes (HITL_MAX_IMAGE_BYTES)"
            )
    return bytes(buf)


def _download(
    http: httpx.Client, url: str, ls_url: str, token: str | None, max_bytes: int
) -> bytes:
    headers = _header(http, ls_url, token) if token else {}
    renewed = False
    hops = 0
    while True:
        with http.stream("GET", url, headers=headers, follow_redirects=False) as resp:
            expired = resp.status_code == 401 and token and is_personal_access_token(token)
            if expired and not renewed:
                headers, renewed = _header(http, ls_url, token, renew=True), True
                continue
            if resp.is_redirect:
                target = urllib.parse.urljoin(url, resp.headers.get("location", ""))
                hops += 1
                if hops > MAX_REDIRECTS or not _on_label_studio(target, ls_url):
                    raise TaskImageError(UNREADABLE, f"{url}: redirect to {target} not followed")
                url = target
                continue
            if resp.status_code != 200:
                raise TaskImageError(UNREADABLE, f"{url}: HTTP {resp.status_code}")
            return _read_capped(resp, max_bytes)


def fetch_task_image(
    url: str,
    files_root: str | Path | None,
    ls_url: str | None,
    token: str | None,
    http: httpx.Client,
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    max_side: int | None = None,
    budget: DecodeBudget | None = None,
) -> TaskImage:
    """Decode the image behind a task's ``data.image`` value (EXIF orientation applied).

    With ``max_side``, a large picture is decoded smaller (see
    :func:`~hitl_active.data.images.read_image_reduced`), within ``budget`` when given.

    Raises:
        TaskImageError: the URL is not one this server serves from, or the image cannot be
            read; the message is safe to return to the requester.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):  # urlsplit drops some, httpx not
        raise TaskImageError(CONTROL, f"{url!r}: a control character")
    parsed = urllib.parse.urlsplit(url)
    if parsed.path.endswith("/data/local-files/") and files_root is not None:
        try:
            path = local_path(url, files_root)  # refuses paths that resolve outside the root
        except ValueError as exc:
            raise TaskImageError(REFUSED, str(exc)) from exc
        return _read_file(path, max_side, budget)
    if parsed.scheme == "file" or (not parsed.scheme and not parsed.netloc):
        local = Path(urllib.parse.unquote(parsed.path))
        inside = _inside(local, files_root) if local.is_absolute() else None
        if inside is not None and inside.is_file():
            return _read_file(inside, max_side, budget)
        if parsed.scheme == "file" or not ls_url:
            raise TaskImageError(REFUSED, f"{url}: a local path outside the local-files root")
        url = ls_url.rstrip("/") + "/" + url.lstrip("/")  # a path on the Label Studio server
    if not _on_label_studio(url, ls_url):
        raise TaskImageError(REFUSED, f"{url}: not on {ls_url or 'a configured Label Studio'}")
    try:
        data = _download(http, url, str(ls_url), token, max_bytes)
    except httpx.HTTPError as exc:
        raise TaskImageError(UNREADABLE, f"{url}: {type(exc).__name__}: {exc}") from exc
    try:
        return _decode(io.BytesIO(data), max_side, budget)
    except ImageReadError as exc:
        raise TaskImageError(UNREADABLE, f"{url}: {exc}") from exc
