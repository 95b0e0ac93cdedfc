"""A small Label Studio REST client: bounded retries, clear errors, bulk-friendly.

Plain ``httpx`` rather than ``label-studio-sdk``: the SDK takes seconds to import, parses
every task of a page into pydantic models (slow on thousands of tasks), and gives no single
place for retry/backoff and error messages. The endpoints used here are the stable public
REST API of Label Studio 1.x (``/api/projects``, ``/api/tasks``, ``/api/predictions``,
``/api/storages/localfiles``, ``/api/webhooks``, ``/api/ml``, ``/api/dm/actions``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

__all__ = [
    "LabelStudioAuthError",
    "LabelStudioClient",
    "LabelStudioError",
    "LabelStudioUnavailable",
    "auth_header",
    "is_personal_access_token",
]

logger = logging.getLogger(__name__)

RETRY_STATUS = {502, 503, 504}
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)  # safe to retry any method
# Task-list columns the integration never reads; omitting them halves the server's work.
TASK_OMIT = (
    "drafts,annotators,annotations_results,predictions_results,annotations_ids,"
    "predictions_model_versions,updated_by,file_upload,storage_filename,comment_authors,"
    "avg_lead_time,draft_exists,completed_at"
)


class LabelStudioError(RuntimeError):
    """Label Studio answered, but not with what was asked for (``status``: the HTTP status of
    a refused request, when there was one)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LabelStudioUnavailable(LabelStudioError):
    """Label Studio could not be reached (down, slow, wrong URL) after bounded retries."""


class LabelStudioAuthError(LabelStudioError):
    """Label Studio refused the API token (HTTP 401/403)."""


def not_label_studio(url: str, got: str) -> LabelStudioError:
    return LabelStudioError(
        f"URL {url} did not answer like Label Studio (got {got}); check --url / "
        "LABEL_STUDIO_URL points at a Label Studio server"
    )


def decode_json(resp: httpx.Response, url: str, *fields: str) -> Any:
    """``resp``'s JSON body, or a LabelStudioError saying the server is not Label Studio."""
    kind = resp.headers.get("content-type", "no content type").split(";")[0]
    got = f"HTTP {resp.status_code} {kind}: {resp.text[:60]!r}"
    try:
        data = resp.json()
    except ValueError:
        raise not_label_studio(url, got) from None
    missing = [f for f in fields if not isinstance(data, dict) or f not in data]
    if missing:
        raise not_label_studio(url, f"{got}, without {missing}")
    return data


TOKEN_REFRESH = "/api/token/refresh/"  # Label Studio routes it only with the slash


def is_personal_access_token(token: str) -> bool:
    """A personal access token is a JWT refresh token (three dot-separated parts); a legacy
    token is a plain hex string."""
    return token.count(".") == 2


def auth_header(http: httpx.Client, url: str, token: str) -> dict[str, str]:
    """The ``Authorization`` header for ``token`` on the server at ``url``.

    A legacy token is sent as is. A personal access token is exchanged for an access token
    (``POST /api/token/refresh/``), which Label Studio lets live for minutes, so callers
    exchange again when a request with it answers 401.
    """
    if not is_personal_access_token(token):
        return {"Authorization": f"Token {token}"}
    resp = http.post(url.rstrip("/") + TOKEN_REFRESH, json={"refresh": token})
    if resp.status_code in (401, 403):
        raise LabelStudioAuthError(
            f"Label Studio at {url} refused the personal access token (HTTP "
            f"{resp.status_code}); it may be revoked or expired: create a new one under "
            "Account & Settings → Personal Access Token"
        )
    if resp.status_code != 200:
        raise LabelStudioError(
            f"Label Studio at {url} could not exchange the personal access token: HTTP "
            f"{resp.status_code} {resp.text[:300]}"
        )
    return {"Authorization": f"Bearer {decode_json(resp, url, 'access')['access']}"}


class LabelStudioClient:
    """Talks to one Label Studio server with one API token.

    Args:
        url: base URL, e.g. ``http://127.0.0.1:8080``.
        token: an API token (legacy ``Token`` auth; a personal access token, a JWT refresh
            token, is exchanged for an access token automatically).
        timeout: seconds per request.
        retries: extra attempts on connection errors, timeouts and 502/503/504.
        backoff: first wait in seconds, doubled after each failed attempt.
        transport: an ``httpx`` transport to send through (a proxy, a mounted app).
    """

    def __init__(
        self,
        url: str,
        token: str,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"Label Studio URL must start with http:// or https://, got {url!r}")
        if not token:
            raise ValueError(
                "no Label Studio API token: set LABEL_STUDIO_API_KEY (Account & Settings → "
                "Access Token in Label Studio, or LABEL_STUDIO_USER_TOKEN of the server)"
            )
        self.url = url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self._auth = self._auth_header(token)

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _auth_header(self, token: str) -> dict[str, str]:
        if is_personal_access_token(token):
            resp = self._send("POST", TOKEN_REFRESH, json={"refresh": token}, auth=False)
            return {"Authorization": f"Bearer {decode_json(resp, self.url, 'access')['access']}"}
        return {"Authorization": f"Token {token}"}

    # --- transport -----------------------------------------------------------------------

    def _send(self, method: str, path: str, auth: bool = True, **kwargs: Any) -> httpx.Response:
        resp = self._attempts(method, path, auth, **kwargs)
        if resp.status_code == 401 and auth and is_personal_access_token(self.token):
            # The access token made from a personal access token has expired (it lives for
            # minutes): make a new one and send once more. A 401 means nothing was applied.
            logger.debug("access token expired; exchanging the personal access token again")
            self._auth = self._auth_header(self.token)
            resp = self._attempts(method, path, auth, **kwargs)
        return self._check(method, path, resp)

    def _attempts(self, method: str, path: str, auth: bool, **kwargs: Any) -> httpx.Response:
        """Send with bounded retries; the first answer that is not a 502/503/504 is returned."""
        headers = dict(self._auth) if auth else {}
        delay, last = self.backoff, ""
        for attempt in range(self.retries + 1):
            try:
                resp = self._http.request(method, path, headers=headers, **kwargs)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                last = f"{type(exc).__name__}: {exc}"
                if method not in IDEMPOTENT and not isinstance(exc, NOT_SENT):
                    # The server may have applied it: never repeat a create blindly.
                    raise LabelStudioUnavailable(
                        f"Label Studio at {self.url} did not answer {method} {path} ({last}); "
                        "it may or may not have been applied. Re-running is safe: pushes skip "
                        "images that already have a task, and recording is idempotent."
                    ) from exc
            else:
                if resp.status_code not in RETRY_STATUS:
                    return resp
                last = f"HTTP {resp.status_code}"
            if attempt < self.retries:
                logger.warning(
                    "Label Studio %s %s failed (%s); retry %d/%d in %.1fs",
                    method,
                    path,
                    last,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                time.sleep(delay)
                delay *= 2
        raise LabelStudioUnavailable(
            f"Label Studio at {self.url} did not answer {method} {path} after "
            f"{self.retries + 1} attempts ({last}). Check that the server is running "
            f"(scripts/label-studio status), that LABEL_STUDIO_URL is right, and that it is "
            f"not overloaded."
        )

    def _check(self, method: str, path: str, resp: httpx.Response) -> httpx.Response:
        if resp.status_code in (401, 403):
            raise LabelStudioAuthError(
                f"Label Studio at {self.url} refused the API token (HTTP {resp.status_code} on "
                f"{method} {path}). Use the token shown under Account & Settings, or the "
                "LABEL_STUDIO_USER_TOKEN the server was started with; legacy tokens need "
                "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true on the server."
            )
        if resp.status_code >= 400:
            raise LabelStudioError(
                f"Label Studio {method} {path} failed with HTTP {resp.status_code}: "
                f"{resp.text[:500]}",
                status=resp.status_code,
            )
        return resp

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; returns the decoded JSON body (``None`` for an empty body)."""
        resp = self._send(method, path, **kwargs)
        return decode_json(resp, self.url) if resp.content else None

    # --- generic -------------------------------------------------------------------------

    def health(self) -> bool:
        """``True`` when the server answers ``/health`` (no retries)."""
        try:
            return self._http.get("/health", timeout=5.0).status_code == 200
        except httpx.HTTPError:
            return False

    def whoami(self) -> dict[str, Any]:
        """The token's user; raises :class:`LabelStudioAuthError` for a bad token."""
        return self.request("GET", "/api/current-user/whoami")

    def users(self) -> dict[int, str]:
        """User id → e-mail for everyone the token can see."""
        return {
            int(u["id"]): u.get("email") or u.get("username")
            for u in self.request("GET", "/api/users")
        }

    # --- projects, tasks, predictions ----------------------------------------------------

    def task(self, task_id: int) -> dict[str, Any]:
        """One task with its data, predictions and annotations."""
        return self.request("GET", f"/api/tasks/{int(task_id)}")

    def update_task_data(self, task_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """Replace a task's ``data`` (send every field: it is not merged)."""
        return self.request("PATCH", f"/api/tasks/{int(task_id)}", json={"data": data})

    def add_annotation(
        self,
        task_id: int,
        result: list[dict[str, Any]],
        lead_time: float,
        parent_prediction: int | None = None,
        was_cancelled: bool = False,
    ) -> dict[str, Any]:
        """Submit an annotation of a task as the token's user (a skip with ``was_cancelled``)."""
        body: dict[str, Any] = {"result": result, "lead_time": float(lead_time)}
        if parent_prediction is not None:
            body["parent_prediction"] = int(parent_prediction)
        if was_cancelled:
            body["was_cancelled"] = True
        return self.request("POST", f"/api/tasks/{int(task_id)}/annotations", json=body)

    def projects(self) -> list[dict[str, Any]]:
        out, page = [], 1
        while True:
            data = self.request("GET", "/api/projects", params={"page": page, "page_size": 100})
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise not_label_studio(self.url, f"a JSON {type(data).__name__} without 'results'")
            out.extend(data["results"])
            if not data.get("next"):
                return out
            page += 1

    def iter_tasks(
        self,
        project_id: int,
        filters: dict[str, Any] | None = None,
        ordering: list[str] | None = None,
        fields: str | None = "all",
        page_size: int = 1000,
        concurrency: int = 2,
    ) -> Iterator[dict[str, Any]]:
        """Every task of a project matching Data Manager ``filters``, page by page, in order.

        After the first page (which tells the total), up to ``concurrency`` pages are fetched
        at once: a Label Studio served by several processes (``scripts/label-studio start
        --workers N``) then serialises pages in parallel; a single-process one just queues
        them.
        """
        query: dict[str, Any] = {}
        if filters:
            query["filters"] = filters
        if ordering:
            query["ordering"] = ordering
        params: dict[str, Any] = {
            "project": project_id,
            "page_size": page_size,
            "omit": TASK_OMIT,
            "resolve_uri": "false",
        }
        if fields:
            params["fields"] = fields
        if query:
            params["query"] = json.dumps(query)

        def fetch(page: int) -> list[dict[str, Any]]:
            try:
                return self.request("GET", "/api/tasks", params={**params, "page": page}).get(
                    "tasks", []
                )
            except LabelStudioError as exc:
                if "HTTP 404" in str(exc) and page > 1:
                    return []  # past the last page
                raise

        first = self.request("GET", "/api/tasks", params={**params, "page": 1})
        tasks = first.get("tasks", [])
        yield from tasks
        total = first.get("total")  # the server may cap page_size; trust its total
        if not tasks or not isinstance(total, int):
            # No total: walk pages one by one until a short page.
            page, size = 2, len(tasks)
            while size >= page_size:
                more = fetch(page)
                yield from more
                size, page = len(more), page + 1
            return
        pages = range(2, -(-total // len(tasks)) + 1)  # the server's page size
        if concurrency <= 1 or len(pages) <= 1:
            for page in pages:
                yield from fetch(page)
            return
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            yield from (task for batch in pool.map(fetch, pages) for task in batch)

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> list[int]:
        """Create tasks (with inline predictions/annotations); returns their ids in order."""
        data = self.request(
            "POST",
            f"/api/projects/{project_id}/import",
            params={"return_task_ids": "true"},
            json=tasks,
        )
        ids = data.get("task_ids")
        if ids is None or len(ids) != len(tasks):
            raise LabelStudioError(
                f"import into project {project_id} returned {data!r}; expected task_ids for "
                f"{len(tasks)} tasks"
            )
        return [int(i) for i in ids]

    def import_predictions(self, project_id: int, predictions: list[dict[str, Any]]) -> int:
        """Attach predictions (each with ``task``) to existing tasks; returns how many."""
        data = self.request(
            "POST", f"/api/projects/{project_id}/import/predictions", json=predictions
        )
        return int(data.get("created", 0))

    def dm_action(
        self, project_id: int, action: str, task_ids: list[int], **body: Any
    ) -> dict[str, Any]:
        """Run a Data Manager action (e.g. ``delete_tasks_predictions``) on some tasks."""
        payload = {"selectedItems": {"all": False, "included": task_ids}, **body}
        return self.request(
            "POST", "/api/dm/actions", params={"id": action, "project": project_id}, json=payload
        )
