"""The HTTP app: Label Studio's ML-backend protocol plus the annotation webhook receiver.

``create_app(settings)`` builds a fresh FastAPI app (no module globals); the ONNX engine is
loaded in the app's lifespan, never at import. It refuses to be built without a shared
secret. Routes:

* ``GET /health`` – liveness and the model version; the only route open without a credential
  (``HEAD /health``: the same answer without a body);
* ``POST /setup`` – Label Studio sends the project's labeling config; labels that do not
  match the model's classes are refused with both lists. The host and token Label Studio
  sends along are ignored: the server talks only to the Label Studio it was started with;
* ``POST /predict`` – Label Studio's request (``tasks``) and response (``results``: one
  prediction per task with ``result``, ``score``, ``model_version``) served by the engine,
  at most ``max_tasks`` tasks per call (see :mod:`hitl_active.server.predict`);
* ``POST /webhook`` – Label Studio webhook events (``Content-Type: application/json`` only, so
  no cross-site form can carry a browser's remembered credentials here), recorded once in the
  annotation sink; an annotation no real one can be is a 422 naming the field (see
  :class:`~hitl_active.labelstudio.sink.InvalidRecordError`). Nothing here ever trains: new
  annotations only touch ``settings.annotations_flag`` for the loop to pick up;
* ``GET /manager`` (and ``/manager/transparency.csv|.html``), ``GET /me`` – the people's
  pages of a workspace: the manager's, and each annotator's own, opened by their personal
  page key instead of the shared secret (see :mod:`hitl_active.server.pages`).

Every route but ``/health`` and ``/me`` needs the shared secret (``X-Hitl-Secret`` header, or
the password of HTTP basic auth, which is what Label Studio sends to an ML backend), and every
body is capped (see :mod:`hitl_active.server.guard`). Task images come only from the
configured Label Studio and the local-files root (see :mod:`hitl_active.labelstudio.media`);
without a configured Label Studio, only from the local-files root.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from hitl_active.labelstudio.project import LabelMismatchError
from hitl_active.labelstudio.sink import AnnotationSink, InvalidRecordError
from hitl_active.labelstudio.webhook import handle_event
from hitl_active.server.guard import Guard
from hitl_active.server.pages.routes import add_page_routes
from hitl_active.server.predict import RequestError, check_schema, parse_tasks, predict_tasks
from hitl_active.server.settings import AppSettings
from hitl_active.server.state import ServerState
from hitl_active.team.practice_track import grade_on_arrival

__all__ = ["create_app"]


def create_app(
    settings: AppSettings, engine: Any = None, sink: AnnotationSink | None = None
) -> FastAPI:
    """A new app; pass ``engine``/``sink`` to use ready objects instead of loading them.

    Raises:
        ValueError: ``settings.webhook_secret`` is empty (set HITL_WEBHOOK_SECRET).
    """
    if not settings.webhook_secret:
        raise ValueError(
            "no shared secret: set HITL_WEBHOOK_SECRET (every route but /health needs it)"
        )
    state = ServerState(settings, engine, sink)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.open()
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="hitl-active", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.hitl = state
    app.add_middleware(
        Guard, secret=settings.webhook_secret, max_body_bytes=settings.max_body_bytes
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer echoes the input back; one line is enough.
        return JSONResponse({"detail": "the request body must be a JSON object"}, status_code=422)

    @app.api_route("/health", methods=["GET", "HEAD"], response_model=None)
    def health(request: Request) -> dict[str, Any] | Response:
        if request.method == "HEAD":
            return Response()
        return {
            "status": "UP",
            "model_class": "hitl-active",
            "model_loaded": state.engine is not None,
            "model_version": state.model_version,
        }

    @app.post("/setup")
    def setup(body: dict[str, Any]) -> dict[str, Any]:
        if state.engine is not None and body.get("schema"):
            try:
                check_schema(body["schema"], state.class_names() or [])
            except RequestError as exc:
                raise HTTPException(exc.status, exc.detail) from exc
        return {"model_version": state.model_version}

    @app.post("/predict")
    def predict(body: dict[str, Any]) -> dict[str, Any]:
        engine = state.current_engine()
        if engine is None:  # e.g. a workspace before its first promotion: no pre-labels yet
            return {
                "results": [],
                "model_version": state.model_version,
                "reason": "no model to pre-label with yet: the workspace has no promoted "
                "version (or start `hitl-active serve --model M.onnx`)",
            }
        try:
            tasks = parse_tasks(body, settings.max_tasks)
            results = predict_tasks(state, engine, tasks, body.get("label_config"))
        except RequestError as exc:
            raise HTTPException(exc.status, exc.detail) from exc
        return {"results": results}

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            return JSONResponse(
                {"detail": "send webhook events as Content-Type: application/json"},
                status_code=415,
            )
        try:
            payload = await request.json()
        except (ValueError, RecursionError):  # RecursionError: a nesting bomb
            return JSONResponse({"detail": "body is not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"detail": "body must be a JSON object"}, status_code=400)
        try:
            result = await run_in_threadpool(_record, state, payload)
        except LabelMismatchError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        except InvalidRecordError as exc:
            return JSONResponse(
                {"detail": f"{exc}; nothing recorded: correct it in Label Studio"},
                status_code=422,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return JSONResponse({"detail": f"unreadable event: {exc}"}, status_code=400)
        return JSONResponse({"status": "ok", **result})

    add_page_routes(app, state)
    return app


def _record(state: ServerState, payload: dict[str, Any]) -> dict[str, Any]:
    annotations = payload.get("annotation")
    items = annotations if isinstance(annotations, list) else [annotations or {}]
    ids = {
        int(a["completed_by"])
        for a in items
        if isinstance(a, dict) and isinstance(a.get("completed_by"), int)
    }
    users = state.user_names(ids)
    result = handle_event(payload, state.sink, state.class_names(), state.client, users)
    out = result.to_dict()
    flag = state.settings.annotations_flag
    if flag is not None and (result.recorded or result.deleted):
        flag.parent.mkdir(parents=True, exist_ok=True)
        flag.touch()
    project = payload.get("project")
    pid = project.get("id") if isinstance(project, dict) else None
    if (result.handled and not result.recorded and isinstance(pid, int) and state.client
            and state.workspace is not None):  # fmt: skip
        graded = grade_on_arrival(state.workspace, state.client, pid)  # a trainee's answer
        if graded is not None:
            out["practice_graded"] = graded
    return out
