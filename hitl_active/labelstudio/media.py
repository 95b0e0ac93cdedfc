"""Fetch the image a Label Studio task points at, as an RGB array.

``/data/local-files/?d=...`` URLs are read straight from the local-files root; other paths
on the Label Studio server (``/data/upload/...``) and absolute URLs on the same host are
fetched with the API token; URLs on other hosts are fetched without it (the token never
leaves for a foreign host).
"""

from __future__ import annotations

import io
import urllib.parse
from pathlib import Path

import httpx
import numpy as np

from hitl_active.data.images import ImageReadError, read_image
from hitl_active.labelstudio.client import LabelStudioError, auth_header, is_personal_access_token
from hitl_active.labelstudio.project import local_path

__all__ = ["TaskImageError", "fetch_task_image"]


class TaskImageError(ValueError):
    """A task's image could not be located or decoded."""


# (server, personal access token) -> the header of the last access token made from it
_access_headers: dict[tuple[str, str], dict[str, str]] = {}


def _header(http: httpx.Client, ls_url: str, token: str, renew: bool = False) -> dict[str, str]:
    key = (ls_url, token)
    if renew or key not in _access_headers:
        try:
            _access_headers[key] = auth_header(http, ls_url, token)
        except (LabelStudioError, httpx.HTTPError) as exc:
            raise TaskImageError(f"cannot authenticate to Label Studio at {ls_url}: {exc}") from exc
    return _access_headers[key]


def fetch_task_image(
    url: str,
    files_root: str | Path | None,
    ls_url: str | None,
    token: str | None,
    http: httpx.Client,
) -> np.ndarray:
    """Decode the image behind a task's ``data.image`` value (EXIF orientation applied)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.path.endswith("/data/local-files/") and files_root is not None:
        try:
            path = local_path(url, files_root)
        except ValueError as exc:
            raise TaskImageError(str(exc)) from exc
        try:
            return read_image(path)
        except ImageReadError as exc:
            raise TaskImageError(f"task image {url!r} → {path}: {exc}") from exc
    if parsed.scheme in ("", "file") and not parsed.netloc and Path(parsed.path).is_file():
        # A plain path is served only from inside the local-files root: task data comes
        # from Label Studio users and must not reach other files on this host.
        path = Path(parsed.path).resolve()
        root = Path(files_root).resolve() if files_root is not None else None
        if root is None or not path.is_relative_to(root):
            raise TaskImageError(
                f"task image {url!r} is a local path outside the local-files root "
                f"({root or 'none configured'}); serve images through Label Studio's "
                "local-files storage"
            )
        try:
            return read_image(path)
        except ImageReadError as exc:
            raise TaskImageError(f"task image {url!r}: {exc}") from exc
    headers: dict[str, str] = {}
    if not parsed.scheme:
        if not ls_url:
            raise TaskImageError(
                f"task image {url!r} is a Label Studio path, but no Label Studio URL is "
                "configured (set LABEL_STUDIO_URL, or a local-files root for local files)"
            )
        url = ls_url.rstrip("/") + "/" + url.lstrip("/")
        parsed = urllib.parse.urlparse(url)
    ours = bool(ls_url and token and parsed.netloc == urllib.parse.urlparse(ls_url).netloc)
    if ours:
        headers = _header(http, ls_url, token)
    if parsed.scheme not in ("http", "https"):
        raise TaskImageError(
            f"cannot fetch task image {url!r}: only local files and http(s) URLs are served "
            "(sync s3/gs storages through Label Studio, which then gives http URLs)"
        )
    try:
        resp = http.get(url, headers=headers, follow_redirects=True)
        if resp.status_code == 401 and ours and is_personal_access_token(token):
            headers = _header(http, ls_url, token, renew=True)  # the access token expired
            resp = http.get(url, headers=headers, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise TaskImageError(f"could not download task image {url}: {exc}") from exc
    if resp.status_code != 200:
        raise TaskImageError(f"downloading task image {url} gave HTTP {resp.status_code}")
    try:
        return read_image(io.BytesIO(resp.content))
    except ImageReadError as exc:
        raise TaskImageError(f"task image {url} is not a readable image: {exc}") from exc
