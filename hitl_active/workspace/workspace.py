"""A workspace: one folder holding a loop's config file, state database and models.

::

    WORKSPACE/
      hitl-active.yaml   the config (edit it between rounds)
      state.db           the state (SQLite; or PostgreSQL by ``database_url``, see
                         :mod:`hitl_active.store.store`)
      models/v0001/ ...  the model registry (see :mod:`hitl_active.loop.registry`)
      export/ reports/   outputs
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import yaml

from hitl_active.data.images import ImageReadError, discover_images, image_size
from hitl_active.formats.yolo import read_yolo_labels
from hitl_active.safeyaml import YamlFileError, load_yaml
from hitl_active.store.store import Store, labels_to_boxes
from hitl_active.workspace.config import CONFIG_NAME, LoopConfig, WorkspaceError
from hitl_active.workspace.lock import LOCK_NAME, WorkspaceLock

__all__ = ["CONFIG_NAME", "LoopConfig", "Workspace", "WorkspaceError"]

logger = logging.getLogger(__name__)

STATE_NAME = "state.db"


class Workspace:
    """A workspace folder; open an existing one with :meth:`open`, make one with :meth:`create`."""

    def __init__(self, root: str | Path, config: LoopConfig) -> None:
        self.root = Path(root).resolve()
        self.config = config
        self._store: Store | None = None
        self._lock: WorkspaceLock | None = None
        self._config_stamp: tuple[int, int] | None = None  # the config file as last read

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
    def images_dir(self) -> Path:
        """The pool folder (``config.images``, relative to the workspace when inside it)."""
        return self.root / self.config.images  # an absolute ``images`` stays as it is

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.state_path, url=self.config.database_url)
            self._store.images_root = self.images_dir.resolve()
        return self._store

    def image_key(self, path: str | Path) -> str:
        """A pool image's name in Label Studio tasks (``data.image_key``): its path relative
        to the pool folder, so annotators never see where the server keeps it; an image
        outside the folder keeps its absolute path. ``store.image_for_key`` reads it back."""
        root = self.store.images_root or self.images_dir.resolve()
        try:
            return Path(path).resolve().relative_to(root).as_posix()
        except ValueError:
            return str(path)

    def lock(self, command: str, wait: bool = False) -> None:
        """Become the workspace's one writer until :meth:`close` (see :mod:`.lock`).

        Raises :class:`~hitl_active.workspace.lock.WorkspaceBusyError` naming the holder when
        another process writes to it, unless ``wait``, which blocks until it is free.
        """
        if self._lock is None:
            self._lock = WorkspaceLock(self.root, command).acquire(wait)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

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
            if root.resolve() == Path.cwd().resolve():  # most often: a command without -w
                raise WorkspaceError(
                    f"the current folder is not a hitl-active workspace (no {CONFIG_NAME}): "
                    "pass the workspace with -w (e.g. -w ws), or create one with: "
                    "hitl-active init ws --images DIR --classes a,b,c"
                )
            raise WorkspaceError(
                f"{root} is not a hitl-active workspace (no {CONFIG_NAME}); "
                f"create one with: hitl-active init {root} --images DIR --classes a,b,c"
            )
        stamp = _stamp(path)
        ws = cls(root, _read_config(path))
        ws._config_stamp = stamp
        return ws

    def refresh_config(self) -> bool:
        """Read the config again if it changed on disk since it was read (a person edited
        it while a server kept the workspace open); whether it changed.

        Raises:
            WorkspaceError: the edited file cannot be used (the message says what to fix).
        """
        stamp = _stamp(self.config_path)
        if stamp == self._config_stamp:
            return False
        self.config = _read_config(self.config_path)
        self._config_stamp = stamp
        logger.info("%s changed on disk: its settings are read again", self.config_path)
        return True

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
        root.mkdir(parents=True, exist_ok=True)
        try:  # a pool inside the workspace moves with it
            config.images = images_dir.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            config.images = str(images_dir.resolve())
        (root / "models").mkdir(exist_ok=True)
        (root / CONFIG_NAME).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        ws = cls(root, config)
        if not ws.add_images(images_dir) and not ws.store.images():
            ws.close()
            raise WorkspaceError(f"no readable images found under {images_dir}")
        return ws

    def add_images(self, folder: str | Path, split: str = "pool") -> int:
        """Register the readable images under ``folder``; returns how many were new."""

        rows, skipped, entries = [], 0, []  # entries: what discovery could not list or follow
        for path in discover_images(folder, skipped=entries):
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
        if entries:
            logger.warning(
                "%s: %d entries skipped (symlink loops, broken links or folders that cannot be "
                "listed; each is logged above)", folder, len(entries),
            )  # fmt: skip
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

        store = self.store
        if store.images("gold"):
            return len(store.images("gold"))
        if images_dir is not None:
            self.add_images(images_dir, split="gold")
        else:
            pool = store.images("pool")
            n = _gold_sample_size(self.config.gold_size, len(pool), self.config.round_size)
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

    def discard(self) -> None:
        """Remove what :meth:`create` wrote (an ``init`` that failed half-way), nothing else."""
        self.close()
        for name in (CONFIG_NAME, STATE_NAME, f"{STATE_NAME}-wal", f"{STATE_NAME}-shm", LOCK_NAME):
            (self.root / name).unlink(missing_ok=True)
        for folder in (self.models_dir, self.root):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()

    def save_config(self) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))
        self._config_stamp = _stamp(self.config_path)


def _gold_sample_size(gold_size: int, n_pool: int, batch_size: int) -> int:
    """``gold_size``, refused when it leaves no pool to label; warns when it takes most of it."""
    left = n_pool - gold_size
    if gold_size and left < 1:
        raise WorkspaceError(
            f"gold size {gold_size} would take all {n_pool} pool images and leave none to "
            f"label; pass --gold-size {max(n_pool // 5, 1) if n_pool > 1 else 0} or less"
        )
    if gold_size > n_pool / 2 or (gold_size and left < batch_size):
        logger.warning(
            "the gold set takes %d of the %d pool images, leaving %d to label (a round "
            "selects %d); consider a smaller --gold-size",
            gold_size, n_pool, left, batch_size,
        )  # fmt: skip
    return gold_size


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return (st.st_mtime_ns, st.st_size)


def _read_config(path: Path) -> LoopConfig:
    try:
        data = load_yaml(path) or {}
    except YamlFileError as exc:
        raise WorkspaceError(str(exc)) from None
    if not isinstance(data, dict):
        raise WorkspaceError(f"{path} must hold a mapping of settings, got {type(data).__name__}")
    return LoopConfig.from_dict(data, source=str(path))
