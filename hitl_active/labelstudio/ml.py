"""Connect a project to ``hitl-active serve`` as its ML backend, and ask for predictions.

Label Studio checks ``/health`` and ``/setup`` of the backend itself when it is added. With
a shared secret the backend is registered with basic auth (user ``hitl-active``, password
the secret), so the same secret also opens the app's ``/webhook``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from hitl_active.labelstudio.client import LabelStudioClient, LabelStudioError
from hitl_active.labelstudio.webhook import register_webhook

__all__ = ["check_serve", "connect_ml_backend", "connect_project", "request_predictions"]

logger = logging.getLogger(__name__)


def check_serve(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """``/health`` of ``hitl-active serve`` at ``url``; a clear error when it does not answer."""
    url = url.rstrip("/")
    try:
        resp = httpx.get(f"{url}/health", timeout=timeout)
    except httpx.HTTPError as exc:
        resp, why = None, f"{type(exc).__name__}: {exc}"
    if resp is not None and resp.status_code == 200:
        return resp.json()
    if resp is not None:
        why = f"HTTP {resp.status_code}"
    raise LabelStudioError(
        f"hitl-active serve does not answer at {url}/health ({why}); start it first "
        "(`hitl-active serve -w WS --port 9090`) and pass its address as --serve-url"
    )


def connect_project(
    client: LabelStudioClient,
    project_id: int,
    serve_url: str,
    secret: str,
    ml_backend: bool = True,
) -> tuple[int, int | None]:
    """Webhook and ML backend of a project to ``hitl-active serve``: both, or neither.

    The server's health is checked before anything is registered, and a webhook this call
    created is removed again when the ML backend cannot be added. Returns the ids.
    """

    serve_url = serve_url.rstrip("/")
    check_serve(serve_url)
    before = {
        int(h["id"])
        for h in client.request("GET", "/api/webhooks", params={"project": project_id}) or []
    }
    hook = register_webhook(client, project_id, f"{serve_url}/webhook", secret)
    if not ml_backend:
        return hook, None
    try:
        backend = connect_ml_backend(client, project_id, serve_url, secret=secret)
    except LabelStudioError:
        if hook not in before:
            client.request("DELETE", f"/api/webhooks/{hook}")
            logger.info("removed webhook %d again: the ML backend could not be added", hook)
        raise
    return hook, int(backend["id"])


def connect_ml_backend(
    client: LabelStudioClient,
    project_id: int,
    url: str,
    title: str = "hitl-active",
    secret: str | None = None,
    interactive: bool = True,
) -> dict[str, Any]:
    """Register (or reuse, by URL) the ML backend at ``url``; returns Label Studio's record."""
    url = url.rstrip("/")
    for backend in client.request("GET", "/api/ml", params={"project": project_id}) or []:
        if str(backend.get("url", "")).rstrip("/") == url:
            return backend
    body: dict[str, Any] = {
        "project": project_id,
        "url": url,
        "title": title,
        "is_interactive": interactive,
    }
    if secret:
        body.update(auth_method="BASIC_AUTH", basic_auth_user="hitl-active", basic_auth_pass=secret)
    try:
        return client.request("POST", "/api/ml", json=body)
    except LabelStudioError as exc:
        raise LabelStudioError(
            f"Label Studio could not connect to the ML backend at {url}: {exc}. Check that "
            "`hitl-active serve` runs there, that Label Studio can reach it (on 127.0.0.1 the "
            "server needs LABEL_STUDIO_ML_BLOCK_LOCAL_IP=false, as scripts/label-studio sets) "
            "and that the project's labels match the model's classes."
        ) from exc


def request_predictions(client: LabelStudioClient, project_id: int, task_ids: list[int]) -> Any:
    """Have Label Studio ask its ML backend for predictions on these tasks (and store them)."""
    return client.dm_action(project_id, "retrieve_tasks_predictions", task_ids)
