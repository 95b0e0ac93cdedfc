"""The server's settings: one validated object, read from the environment by entry points only."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hitl_active.labelstudio.media import DEFAULT_MAX_IMAGE_BYTES

__all__ = ["AppSettings"]

DEFAULT_MAX_BODY_BYTES = 10 * 2**20
DEFAULT_MAX_TASKS = 100
DEFAULT_DECODE_BUDGET_BYTES = 256 * 2**20

# setting -> environment variable, for messages that say how to change a limit
LIMIT_VARIABLES = {
    "max_body_bytes": "HITL_MAX_BODY_BYTES",
    "max_tasks": "HITL_MAX_TASKS",
    "max_image_bytes": "HITL_MAX_IMAGE_BYTES",
    "decode_budget_bytes": "HITL_DECODE_BUDGET_BYTES",
}


@dataclass
class AppSettings:
    """Everything the app needs; :meth:`from_env` is for entry points only.

    ``label_studio_url``/``label_studio_token`` are the only Label Studio the server talks to
    (task images, prediction look-ups for webhook diffs, user names); nothing a request
    sends can change them. Without them, task images come from ``files_root`` alone.
    """

    model_path: Path | None = None
    model_version: str | None = None
    # pre-label threshold; None: the workspace's ``conf_threshold`` (else 0.25)
    conf_threshold: float | None = None
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
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # any request body, webhooks included
    max_tasks: int = DEFAULT_MAX_TASKS  # tasks per /predict call
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES  # one task image downloaded
    # full-size pixels being decoded at once, all requests together (one larger picture
    # still decodes, alone); task images are then shrunk to twice the model's input size
    decode_budget_bytes: int = DEFAULT_DECODE_BUDGET_BYTES
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, variable in LIMIT_VARIABLES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{name} (${variable}) must be a positive whole number, not {value!r}"
                )
        if self.conf_threshold is not None and not 0.0 <= self.conf_threshold <= 1.0:
            raise ValueError(
                f"conf_threshold (--conf, $HITL_CONF_THRESHOLD) must be within [0, 1], "
                f"not {self.conf_threshold}"
            )

    @classmethod
    def from_env(cls, **overrides: Any) -> AppSettings:
        """Read ``HITL_*`` and ``LABEL_STUDIO_*`` variables; keyword overrides win.

        Raises:
            ValueError: a variable holds something that is not a number where one is needed.
        """
        env = os.environ

        def path(name: str) -> Path | None:
            return Path(env[name]) if env.get(name) else None

        def number(name: str, kind: type, default: Any) -> Any:
            text = env.get(name, "").strip()
            if not text:
                return default
            try:
                return kind(text)
            except ValueError:
                raise ValueError(
                    f"{name}={text!r} is not a {'whole ' if kind is int else ''}number"
                ) from None

        values: dict[str, Any] = {
            "model_path": path("HITL_MODEL"),
            "model_version": env.get("HITL_MODEL_VERSION") or None,
            "conf_threshold": number("HITL_CONF_THRESHOLD", float, None),
            "label_studio_url": env.get("LABEL_STUDIO_URL") or None,
            "label_studio_token": env.get("LABEL_STUDIO_API_KEY") or None,
            "files_root": path("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"),
            "webhook_secret": env.get("HITL_WEBHOOK_SECRET", ""),
            "sink_path": path("HITL_ANNOTATIONS_DB"),
            "annotations_flag": path("HITL_ANNOTATIONS_FLAG"),
            "workspace": path("HITL_WORKSPACE"),
        }
        defaults = {
            "max_body_bytes": DEFAULT_MAX_BODY_BYTES,
            "max_tasks": DEFAULT_MAX_TASKS,
            "max_image_bytes": DEFAULT_MAX_IMAGE_BYTES,
            "decode_budget_bytes": DEFAULT_DECODE_BUDGET_BYTES,
        }
        for name, variable in LIMIT_VARIABLES.items():
            values[name] = number(variable, int, defaults[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
