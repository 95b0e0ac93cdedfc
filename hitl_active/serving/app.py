"""The HTTP app: Label Studio's ML-backend protocol plus the annotation webhook receiver.

``create_app(settings)`` builds a fresh FastAPI app (no module globals); the ONNX engine is
loaded in the app's lifespan, never at import. Routes:

* ``GET /health`` – liveness and the model version (Label Studio calls it on connect);
* ``POST /setup`` – Label Studio sends the project's labeling config; labels that do not
  match the model's classes are refused with both lists;
* ``POST /predict`` – Label Studio's request (``tasks``) and response (``results``: one
  prediction per task with ``result``, ``score``, ``model_version``) served by the engine;
* ``POST /webhook`` – Label Studio webhook events, recorded once in the annotation sink;
  requires the shared secret (``X-Hitl-Secret`` header, or the password of HTTP basic
  auth, which is what Label Studio sends to an ML backend). Nothing here ever trains: new
  annotations only touch ``settings.annotations_flag`` for the loop to pick up.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.labelstudio.client import LabelStudioClient, LabelStudioError
from hitl_active.labelstudio.media import TaskImageError, fetch_task_image
from hitl_active.labelstudio.project import LabelMismatchError, check_labels, parse_label_config
from hitl_active.labelstudio.sink import AnnotationSink, SQLiteSink
from hitl_active.labelstudio.webhook import SECRET_HEADER, handle_event, headers_authorized

__all__ = ["AppSettings", "create_app"]

logger = logging.getLogger(__name__)


@dataclass
class AppSettings:
    """Everything the app needs; :meth:`from_env` is for entry points only."""

    model_path: Path | None = None
    model_version: str | None = None
    conf_threshold: float = 0.25
    conf_floor: float = 0.01
    label_studio_url: str | None = None
    label_studio_token: str | None = None
    files_root: Path | None = None
    webhook_secret: str = ""
    sink_path: Path | None = None
    class_names: tuple[str, ...] | None = None
    annotations_flag: Path | None = None
    # A loop workspace: record into its state store and serve its promoted model,
    # reloading when a new version is promoted (models/CURRENT changes).
    workspace: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: Any) -> AppSettings:
        """Read ``HITL_*`` and ``LABEL_STUDIO_*`` variables; keyword overrides win."""
        env = os.environ

        def path(name: str) -> Path | None:
            return Path(env[name]) if env.get(name) else None

        values: dict[str, Any] = {
            "model_path": path("HITL_MODEL"),
            "model_version": env.get("HITL_MODEL_VERSION") or None,
            "conf_threshold": float(env.get("HITL_CONF_THRESHOLD", 0.25)),
            "label_studio_url": env.get("LABEL_STUDIO_URL") or None,
            "label_studio_token": env.get("LABEL_STUDIO_API_KEY") or None,
            "files_root": path("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"),
            "webhook_secret": env.get("HITL_WEBHOOK_SECRET", ""),
            "sink_path": path("HITL_ANNOTATIONS_DB"),
            "annotations_flag": path("HITL_ANNOTATIONS_FLAG"),
            "workspace": path("HITL_WORKSPACE"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class _State:
    def __init__(self, settings: AppSettings, engine: Any, sink: AnnotationSink | None) -> None:
        self.settings = settings
        self.engine = engine
        self.sink = sink
        self.own_sink = sink is None
        self.client: LabelStudioClient | None = None
        self.http = httpx.Client(timeout=30.0)
        self.users: dict[int, str] = {}
        self.users_at = 0.0
        self.setup_tokens: dict[str, tuple[str, str]] = {}  # project uid → (hostname, token)
        self.lock = threading.Lock()
        self.predict_lock = threading.Lock()  # one inference at a time; requests queue
        self.workspace: Any = None

    def open(self) -> None:
        s = self.settings
        if s.workspace is not None:
            from hitl_active.loop.workspace import Workspace

            self.workspace = Workspace.open(s.workspace)
            if self.sink is None:
                self.sink = self.workspace.store
                self.own_sink = False
            self.follow_workspace()
        if self.engine is None and s.model_path is not None:
            from hitl_active.serving.engine import Engine, EngineConfig

            self.engine = Engine(
                s.model_path, EngineConfig(conf_floor=s.conf_floor), model_version=s.model_version
            )
            logger.info("serving %s (%s)", s.model_path, self.model_version)
        if self.sink is None:
            self.sink = SQLiteSink(s.sink_path or ":memory:")
        if s.label_studio_url and s.label_studio_token:
            self.client = LabelStudioClient(s.label_studio_url, s.label_studio_token, retries=1)

    def follow_workspace(self) -> None:
        """Load the workspace's promoted model when it differs from the one being served."""
        if self.workspace is None:
            return
        marker = self.workspace.models_dir / "CURRENT"
        name = marker.read_text().strip() if marker.is_file() else ""
        loaded = getattr(self.engine, "model_version", None)
        if not name or name == loaded:
            return
        from hitl_active.serving.engine import Engine, EngineConfig

        onnx = self.workspace.models_dir / name / "model.onnx"
        self.engine = Engine(
            onnx, EngineConfig(conf_floor=self.settings.conf_floor), model_version=name
        )
        logger.info("serving promoted model %s from %s", name, onnx)

    def close(self) -> None:
        if self.workspace is not None:
            self.workspace.close()
        self.http.close()
        if self.client is not None:
            self.client.close()
        if self.own_sink and isinstance(self.sink, SQLiteSink):
            self.sink.close()

    @property
    def model_version(self) -> str:
        version = getattr(self.engine, "model_version", None) or self.settings.model_version
        return str(version or "unknown")

    def class_names(self) -> list[str] | None:
        if self.settings.class_names is not None:
            return list(self.settings.class_names)
        return list(self.engine.class_names) if self.engine is not None else None

    def ls_client(self) -> LabelStudioClient | None:
        """The configured client, else one made from what Label Studio sent to /setup."""
        with self.lock:
            if self.client is None and self.setup_tokens:
                host, token = next(iter(self.setup_tokens.values()))
                if host.startswith(("http://", "https://")) and token:
                    self.client = LabelStudioClient(host, token, retries=1)
            return self.client

    def user_names(self, ids: set[int]) -> dict[int, str]:
        if (
            self.ls_client() is not None
            and ids - self.users.keys()
            and time.monotonic() > self.users_at
        ):
            self.users_at = time.monotonic() + 30.0  # at most one refresh per 30 s
            try:
                self.users.update(self.client.users())
            except (LabelStudioError, httpx.HTTPError) as exc:  # names are optional
                logger.warning("could not list Label Studio users: %s", exc)
        return self.users


def create_app(
    settings: AppSettings, engine: Any = None, sink: AnnotationSink | None = None
) -> FastAPI:
    """A new app; pass ``engine``/``sink`` to use ready objects instead of loading them."""
    state = _State(settings, engine, sink)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.open()
        try:
            yield
        finally:
            state.close()

    app = FastAPI(title="hitl-active", lifespan=lifespan)
    app.state.hitl = state

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "status": "UP",
            "model_class": "hitl-active",
            "model_loaded": state.engine is not None,
            "model_version": state.model_version,
        }

    @app.post("/setup")
    def setup(body: dict[str, Any]) -> dict[str, Any]:
        if state.engine is not None and body.get("schema"):
            _check_schema(body["schema"], state.class_names() or [])
        if body.get("project") and body.get("access_token"):
            state.setup_tokens[str(body["project"])] = (
                str(body.get("hostname") or ""),
                str(body["access_token"]),
            )
        return {"model_version": state.model_version}

    @app.post("/predict")
    def predict(body: dict[str, Any]) -> dict[str, Any]:
        with state.predict_lock:
            state.follow_workspace()
            engine = state.engine  # one model for the whole request, even if one is promoted
        if engine is None:
            raise HTTPException(503, "no model loaded: start `hitl-active serve --model M.onnx`")
        tasks = body.get("tasks")
        if not isinstance(tasks, list):
            raise HTTPException(400, "request needs 'tasks': a list of Label Studio tasks")
        from_name, to_name, value_key, _ = _check_schema(
            body.get("label_config") or "", state.class_names() or []
        )
        ls_url, token = _label_studio_access(state, body)
        images = []
        for task in tasks:
            url = str((task.get("data") or {}).get(value_key, ""))
            try:
                images.append(fetch_task_image(url, settings.files_root, ls_url, token, state.http))
            except TaskImageError as exc:
                raise HTTPException(422, f"task {task.get('id')}: {exc}") from exc
        with state.predict_lock:
            detections = engine.predict(images) if images else []
        names = list(engine.class_names)
        version = str(getattr(engine, "model_version", None) or state.model_version)
        results = []
        for image, det in zip(images, detections, strict=True):
            shown = det.above(settings.conf_threshold)
            h, w = image.shape[:2]
            result = to_ls_results(shown, names, from_name, to_name, width=w, height=h)
            results.append(
                {
                    "result": result,
                    "score": _uncertainty(shown.confidence),
                    "model_version": version,
                }
            )
        return {"results": results}

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        if not headers_authorized(request.headers, settings.webhook_secret):
            return JSONResponse(
                {
                    "detail": f"missing or wrong shared secret: send it in the {SECRET_HEADER} "
                    "header (or as the basic-auth password); the server reads "
                    "HITL_WEBHOOK_SECRET"
                },
                status_code=401,
            )
        try:
            payload = await request.json()
        except ValueError:
            return JSONResponse({"detail": "body is not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"detail": "body must be a JSON object"}, status_code=400)
        try:
            result = await _run_sync(lambda: _record(state, payload))
        except LabelMismatchError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"detail": f"unreadable event: {exc}"}, status_code=400)
        return JSONResponse({"status": "ok", **result})

    return app


async def _run_sync(fn: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn)


def _record(state: _State, payload: dict[str, Any]) -> dict[str, Any]:
    annotations = payload.get("annotation")
    items = annotations if isinstance(annotations, list) else [annotations or {}]
    ids = {int(a["completed_by"]) for a in items if isinstance(a.get("completed_by"), int)}
    users = state.user_names(ids)
    result = handle_event(payload, state.sink, state.class_names(), state.ls_client(), users)
    flag = state.settings.annotations_flag
    if flag is not None and (result.recorded or result.deleted):
        flag.parent.mkdir(parents=True, exist_ok=True)
        flag.touch()
    return result.to_dict()


def _check_schema(schema: str, class_names: list[str]) -> tuple[str, str, str, list[str]]:
    try:
        parsed = parse_label_config(schema)
        if class_names:
            check_labels(parsed[3], class_names)
    except LabelMismatchError as exc:
        raise HTTPException(400, str(exc)) from exc
    return parsed


def _label_studio_access(state: _State, body: dict[str, Any]) -> tuple[str | None, str | None]:
    s = state.settings
    if s.label_studio_url and s.label_studio_token:
        return s.label_studio_url, s.label_studio_token
    host, token = state.setup_tokens.get(str(body.get("project")), (None, None))
    return s.label_studio_url or host, token


def _uncertainty(confidence: np.ndarray) -> float:
    """1 − mean confidence of the shown boxes (0 when nothing is shown)."""
    return float(1.0 - confidence.mean()) if len(confidence) else 0.0
