"""Connect a project to ``hitl-active serve`` as its ML backend, and ask for predictions.

Label Studio checks ``/health`` and ``/setup`` of the backend itself when it is added. With
a shared secret the backend is registered with basic auth (user ``hitl-active``, password
the secret), so the same secret also opens the app's ``/webhook``.
"""

from __future__ import annotations

from typing import Any

from hitl_active.labelstudio.client import LabelStudioClient, LabelStudioError

__all__ = ["connect_ml_backend", "request_predictions"]


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
