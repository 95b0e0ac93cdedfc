"""Helpers for the Label Studio integration tests: run our app where Label Studio can reach it,
and act as an annotator through the REST API."""

from __future__ import annotations

import copy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free 127.0.0.1 port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start within 30 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def edited(result: list[dict], how: str, class_names: list[str]) -> list[dict]:
    """An annotator's edit of a pre-label: keep, move, relabel, or delete-one-and-add."""
    out = copy.deepcopy(result)
    if how == "move":
        out[0]["value"]["x"] += 10.0 * 100 / out[0]["original_width"]  # 10 px right
    elif how == "relabel":
        name = out[0]["value"]["rectanglelabels"][0]
        out[0]["value"]["rectanglelabels"] = [next(c for c in class_names if c != name)]
    elif how == "replace":
        added = copy.deepcopy(out[0])
        added["id"] = "drawn1"
        added["value"].update(x=1.0, y=1.0, width=5.0, height=5.0)
        out = [*out[1:], added]
    for region in out:
        region.pop("score", None)  # annotators' regions carry no model score
    return out


def recorded(store: Any, project_id: int) -> list[dict[str, Any]]:
    """What a store recorded for a Label Studio project, one plain dict per annotation (the
    newest revision; skips included, deletions not), in annotation-id order."""
    out = []
    for row in store.project_annotations(project_id):
        image = store.image(row.image_id)
        versions = [b["model_version"] for b in row.boxes if b.get("model_version")]
        out.append(
            {
                "annotation_id": int(row.external_id.split(":")[1]),
                "task_id": row.ls_task_id,
                "image": image.path,
                "width": image.width,
                "height": image.height,
                "xyxy": [b["xyxy"] for b in row.boxes],
                "class_id": [b["class_id"] for b in row.boxes],
                "sources": [b["source"] for b in row.boxes],
                "annotator": row.annotator,
                "lead_time": row.lead_time,
                "was_cancelled": row.cancelled,
                "model_version": versions[0] if versions else None,
                "diff": row.diff,
            }
        )
    return out
