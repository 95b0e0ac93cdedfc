"""A workspace: one folder holding a loop's config file, state database and models.

::

    WORKSPACE/
      hitl-active.yaml   the config (edit it between rounds)
      state.db           the SQLite state (see :mod:`hitl_active.loop.store`)
      models/v0001/ ...  the model registry (see :mod:`hitl_active.loop.registry`)
      export/ reports/   outputs
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hitl_active.loop.store import Store
from hitl_active.sampling.registry import DEFAULT_STRATEGY

__all__ = ["CONFIG_NAME", "LoopConfig", "Workspace", "WorkspaceError"]

logger = logging.getLogger(__name__)

CONFIG_NAME = "hitl-active.yaml"
STATE_NAME = "state.db"


class WorkspaceError(ValueError):
    """A workspace is missing, malformed or already exists."""


@dataclass
class LoopConfig:
    """Everything a loop needs to run; stored as YAML in the workspace.

    Attributes:
        images: folder of client images (the pool).
        classes: class names, in class-id order.
        model: starting model, a YAML (``yolo11n.yaml``, trained from scratch) or weights.
        imgsz, epochs, batch: training settings for each retrain.
        fine_tune: start each retrain from an earlier version's weights (else from ``model``).
        fine_tune_from: ``"promoted"`` (the version in use) or ``"latest"`` (the newest
            trained version, promoted or not, so training accumulates across rounds).
        strategy: sampling strategy name (see :mod:`hitl_active.sampling`).
        batch_size: images selected per round.
        budget_seconds: optional annotator-seconds cap per round instead of an image count.
        gold_size: images frozen into the gold set at init (never trained on).
        retrain_every: retrain once this many new annotations arrived (0: every round).
        conf_threshold: pre-labels shown to annotators are boxes above this confidence.
        seed: seed for every random choice the loop makes.
        label_studio_url, label_studio_project: where tasks go (``None``: no Label Studio).
        train_args: further Ultralytics training arguments (e.g. ``{"lr0": 0.003}``).
    """

    images: str
    classes: list[str]
    model: str = "yolo11n.yaml"
    imgsz: int = 160
    epochs: int = 10
    batch: int = 16
    fine_tune: bool = True
    fine_tune_from: str = "promoted"
    strategy: str = DEFAULT_STRATEGY
    batch_size: int = 10
    budget_seconds: float | None = None
    gold_size: int = 20
    retrain_every: int = 0
    conf_threshold: float = 0.25
    seed: int = 0
    label_studio_url: str | None = None
    label_studio_project: int | None = None
    train_args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.classes or any(not str(c).strip() for c in self.classes):
            raise WorkspaceError(
                f"classes must be a non-empty list of names, got {self.classes!r}; "
                "pass them as --classes a,b,c"
            )
        if len(set(self.classes)) != len(self.classes):
            raise WorkspaceError(f"class names must be unique, got {self.classes!r}")
        for name in ("imgsz", "epochs", "batch", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise WorkspaceError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.gold_size < 0 or self.retrain_every < 0:
            raise WorkspaceError("gold_size and retrain_every must not be negative")
        if self.fine_tune_from not in ("promoted", "latest"):
            raise WorkspaceError(
                f"fine_tune_from must be 'promoted' or 'latest', got {self.fine_tune_from!r}"
            )
        if not 0.0 <= self.conf_threshold <= 1.0:
            raise WorkspaceError(f"conf_threshold must lie in [0, 1], got {self.conf_threshold}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WorkspaceError(f"unknown config keys {unknown}; valid keys are {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Workspace:
    """A workspace folder; open an existing one with :meth:`open`, make one with :meth:`create`."""

    def __init__(self, root: str | Path, config: LoopConfig) -> None:
        self.root = Path(root).resolve()
        self.config = config
        self._store: Store | None = None

    # ------------------------------------------------------------------ paths
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def state_path(self) -> Path:
        return self.root / STATE_NAME

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.state_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        root = Path(root)
        path = root / CONFIG_NAME
        if not path.is_file():
            raise WorkspaceError(
                f"{root} is not a hitl-active workspace (no {CONFIG_NAME}); "
                f"create one with: hitl-active init {root} --images DIR --classes a,b,c"
            )
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise WorkspaceError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise WorkspaceError(f"{path} must hold a mapping of settings, got {type(data)}")
        return cls(root, LoopConfig.from_dict(data))

    @classmethod
    def create(cls, root: str | Path, config: LoopConfig, exist_ok: bool = False) -> Workspace:
        """Write the config and the state database, and register the pool's images."""
        root = Path(root)
        if (root / CONFIG_NAME).exists() and not exist_ok:
            raise WorkspaceError(
                f"{root} already holds a workspace; open it, or pick another folder"
            )
        images_dir = Path(config.images)
        if not images_dir.is_dir():
            raise WorkspaceError(f"images folder {images_dir} does not exist; pass --images DIR")
        config.images = str(images_dir.resolve())
        root.mkdir(parents=True, exist_ok=True)
        (root / "models").mkdir(exist_ok=True)
        (root / CONFIG_NAME).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        ws = cls(root, config)
        if not ws.add_images(images_dir) and not ws.store.images():
            ws.close()
            raise WorkspaceError(f"no readable images found under {images_dir}")
        return ws

    def add_images(self, folder: str | Path, split: str = "pool") -> int:
        """Register the readable images under ``folder``; returns how many were new."""
        from hitl_active.data.images import ImageReadError, discover_images, image_size

        rows, skipped = [], 0
        for path in discover_images(folder):
            try:
                w, h = image_size(path)
            except ImageReadError as exc:
                logger.warning("skipping unreadable image: %s", exc)
                skipped += 1
                continue
            sha1 = hashlib.sha1(path.read_bytes()).hexdigest()
            rows.append((str(path.resolve()), w, h, sha1, split))
        added = self.store.add_images(rows)
        logger.info("%s: %d new %s images (%d unreadable)", folder, added, split, skipped)
        return added

    def freeze_gold(
        self,
        rng: np.random.Generator,
        labels_dir: str | Path | None = None,
        images_dir: str | Path | None = None,
    ) -> int:
        """Freeze the gold set: a random pool sample, or an imported labelled set.

        With ``images_dir`` the images there become the gold set; otherwise
        ``config.gold_size`` random pool images do. Labels come from ``labels_dir`` (YOLO
        text files named after the images); without it the first round labels the sample.
        """
        from hitl_active.formats.yolo import read_yolo_labels
        from hitl_active.loop.store import labels_to_boxes

        store = self.store
        if store.images("gold"):
            return len(store.images("gold"))
        if images_dir is not None:
            self.add_images(images_dir, split="gold")
        else:
            pool = store.images("pool")
            n = min(self.config.gold_size, max(len(pool) - 1, 0))
            chosen = rng.choice(len(pool), size=n, replace=False) if n else []
            store.set_split([pool[int(i)].id for i in chosen], "gold")
        gold = store.images("gold")
        if labels_dir is not None:
            missing, nc = 0, len(self.config.classes)
            for img in gold:
                path = Path(labels_dir) / (Path(img.path).stem + ".txt")
                boxes = []
                if path.is_file():
                    labels = read_yolo_labels(path, img.path, img.width, img.height, nc)
                    boxes = labels_to_boxes(labels, source="human")
                else:
                    missing += 1
                store.set_gold_labels(img.id, boxes, source=str(labels_dir))
            if missing:
                logger.warning("%d gold images have no label file: counted as empty", missing)
        return len(gold)

    def save_config(self) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))
