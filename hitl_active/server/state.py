"""What one app holds while it runs: the engine, the annotation sink, Label Studio access."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx

from hitl_active.data.images import DecodeBudget, release_freed_pixels
from hitl_active.labelstudio.client import LabelStudioClient, LabelStudioError
from hitl_active.labelstudio.sink import AnnotationSink
from hitl_active.server.settings import AppSettings
from hitl_active.serving.engine import Engine, EngineConfig
from hitl_active.store.store import Store
from hitl_active.workspace.workspace import Workspace

__all__ = ["ServerState"]

logger = logging.getLogger(__name__)

DEFAULT_CONF_THRESHOLD = 0.25


class ServerState:
    """Per-app state, opened in the app's lifespan (never at import) and closed after it."""

    def __init__(self, settings: AppSettings, engine: Any, sink: AnnotationSink | None) -> None:
        self.settings = settings
        self.engine = engine
        self.sink = sink
        self.own_sink = sink is None
        self.client: LabelStudioClient | None = None
        # Task images: redirects are checked hop by hop in labelstudio.media, never followed here.
        self.http = httpx.Client(timeout=30.0, follow_redirects=False)
        self.users: dict[int, str] = {}
        self.users_at = 0.0
        self.model_lock = threading.Lock()  # swapping in a newly promoted model
        # One inference at a time, taken per small chunk of tasks so that requests interleave.
        self.inference_lock = threading.Lock()
        # Full-size pixels decoded at once across all requests (a small PNG can be huge inside).
        self.decode_budget = DecodeBudget(settings.decode_budget_bytes)
        self.workspace: Any = None

    def open(self) -> None:
        s = self.settings
        release_freed_pixels()  # request threads decode large pictures one after another
        if s.workspace is not None:
            self.workspace = Workspace.open(s.workspace)
            if self.sink is None:
                self.sink = self.workspace.store
                self.own_sink = False
            self.follow_workspace()
        if self.engine is None and s.model_path is not None:
            self.engine = Engine(
                s.model_path, EngineConfig(conf_floor=s.conf_floor), model_version=s.model_version
            )
            logger.info("serving %s (%s)", s.model_path, self.model_version)
        if self.sink is None:
            self.sink = Store.standalone(s.sink_path or ":memory:")
        if s.label_studio_url and s.label_studio_token:
            self.client = LabelStudioClient(s.label_studio_url, s.label_studio_token, retries=1)

    def conf_threshold(self) -> float:
        """The pre-label threshold: the server's setting, else the workspace's, else 0.25."""
        if self.settings.conf_threshold is not None:
            return self.settings.conf_threshold
        if self.workspace is not None:
            return float(self.workspace.config.conf_threshold)
        return DEFAULT_CONF_THRESHOLD

    def current_engine(self) -> Any:
        """The engine to use for one whole request (a promotion mid-request does not split it)."""
        with self.model_lock:
            self.follow_workspace()
            return self.engine

    def follow_workspace(self) -> None:
        """Load the workspace's promoted model when it differs from the one being served."""
        if self.workspace is None:
            return
        marker = self.workspace.models_dir / "CURRENT"
        name = marker.read_text().strip() if marker.is_file() else ""
        loaded = getattr(self.engine, "model_version", None)
        if not name or name == loaded:
            return

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
        if self.own_sink and isinstance(self.sink, Store):
            self.sink.close()

    @property
    def model_version(self) -> str:
        version = getattr(self.engine, "model_version", None) or self.settings.model_version
        return str(version or "unknown")

    def class_names(self) -> list[str] | None:
        if self.settings.class_names is not None:
            return list(self.settings.class_names)
        return list(self.engine.class_names) if self.engine is not None else None

    def user_names(self, ids: set[int]) -> dict[int, str]:
        """Annotators' names from the configured Label Studio (refreshed at most every 30 s)."""
        if self.client is not None and ids - self.users.keys() and time.monotonic() > self.users_at:
            self.users_at = time.monotonic() + 30.0
            try:
                self.users.update(self.client.users())
            except (LabelStudioError, httpx.HTTPError) as exc:  # names are optional
                logger.warning("could not list Label Studio users: %s", exc)
        return self.users
