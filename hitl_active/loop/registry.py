"""Model versions: weights, ONNX file, metrics and training snapshot, with promotion rules.

Each version has a folder ``models/v0001/`` holding ``weights.pt``, ``model.onnx``,
``metrics.json`` and ``snapshot.json`` (the training images and their hashes), and a row in
the state database. Exactly one version is *promoted*: the one the engine and the Label
Studio pre-labels follow. A candidate is promoted only when its gold mAP50-95 beats the
promoted one's (or with ``force``); :meth:`ModelRegistry.rollback` goes back to the version
promoted before. ``models/current`` (a symlink) and ``models/CURRENT`` (its name) always
point at the promoted version, so a server can be started on ``models/current/model.onnx``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for annotations only
    from hitl_active.store.store import ModelVersionRow, Store

__all__ = ["ModelRegistry", "RegistryError", "gold_map"]

logger = logging.getLogger(__name__)

HISTORY_KEY = "registry.promotions"
# kv: a version made current whose pool scores and open tasks' pre-labels have not followed
# yet; the next Loop (Loop.catch_up) re-scores with it, whoever promoted it
RESCORE_KEY = "registry.rescore_pending"


class RegistryError(ValueError):
    """A version is missing, incomplete or cannot be promoted."""


def gold_map(version: ModelVersionRow | None, key: str = "map50_95") -> float | None:
    """The version's gold-set metric, or None when it was not evaluated."""
    if version is None:
        return None
    value = version.metrics.get("gold", {}).get(key)
    return None if value is None else float(value)


class ModelRegistry:
    """The versions of one workspace."""

    def __init__(self, store: Store, models_dir: str | Path) -> None:
        self.store = store
        self.models_dir = Path(models_dir)

    # ------------------------------------------------------------------ reading
    def list(self) -> list[ModelVersionRow]:
        return self.store.model_versions()

    def get(self, name: str) -> ModelVersionRow:
        row = self.store.model_version(name)
        if row is None:
            known = [v.name for v in self.list()] or ["(none yet)"]
            raise RegistryError(f"no model version {name!r}; known versions: {known}")
        return row

    def current(self) -> ModelVersionRow | None:
        """The promoted version, or None before the first promotion."""
        return self.store.promoted_version()

    def version_dir(self, name: str) -> Path:
        return self.models_dir / name

    # ------------------------------------------------------------------ writing
    def begin_version(self, parent: str | None) -> str:
        """Name and folder for a new version; an unfinished one is cleaned and reused.

        A process killed while training leaves a version in status ``training``; the next
        call hands back that same name with an empty folder, so no half-made version stays.
        """
        for row in self.list():
            if row.status == "training":
                shutil.rmtree(self.version_dir(row.name), ignore_errors=True)
                self.version_dir(row.name).mkdir(parents=True)
                self.store.update_model_version(row.name, parent=parent)
                logger.info("resuming unfinished model version %s", row.name)
                return row.name
        name = f"v{len(self.list()) + 1:04d}"
        self.version_dir(name).mkdir(parents=True, exist_ok=True)
        self.store.add_model_version(name, parent, status="training")
        return name

    def finish_version(
        self,
        name: str,
        weights: str | Path | None,
        onnx: str | Path | None,
        snapshot: dict[str, Any],
        metrics: dict[str, Any] | None = None,
    ) -> ModelVersionRow:
        """Move ``weights`` (and ``onnx``) into the version folder; the version is a candidate.

        A version imported as ONNX alone has no ``weights``: it pre-labels and is evaluated,
        and a retrain starts from the workspace's ``model`` instead of from it.
        """
        folder = self.version_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        w_dst = None
        if weights is not None:
            w_dst = folder / "weights.pt"
            if Path(weights).resolve() != w_dst.resolve():
                shutil.copy2(weights, w_dst)
        o_dst = None
        if onnx is not None:
            o_dst = folder / "model.onnx"
            if Path(onnx).resolve() != o_dst.resolve():
                shutil.copy2(onnx, o_dst)
        (folder / "snapshot.json").write_text(json.dumps(snapshot, indent=1))
        metrics = metrics or {}
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
        self.store.update_model_version(
            name,
            weights=None if w_dst is None else str(w_dst),
            onnx=None if o_dst is None else str(o_dst),
            snapshot=snapshot,
            metrics=metrics,
            status="candidate",
        )
        return self.get(name)

    def set_metrics(self, name: str, metrics: dict[str, Any]) -> None:
        merged = self.get(name).metrics | metrics
        (self.version_dir(name) / "metrics.json").write_text(json.dumps(merged, indent=1))
        self.store.update_model_version(name, metrics=merged)

    # ------------------------------------------------------------------ promotion
    def should_promote(self, name: str) -> tuple[bool, str]:
        """Whether ``name`` beats the promoted version on the gold set, and why."""
        candidate, current = self.get(name), self.current()
        new = gold_map(candidate)
        if current is None:
            return True, "no version promoted yet"
        if current.name == name:
            return False, f"{name} is already promoted"
        old = gold_map(current)
        if new is None:
            return False, f"{name} has no gold-set metrics; evaluate it first"
        if old is None or new > old:
            return True, f"gold mAP50-95 {new:.4f} beats {current.name}'s {old or 0:.4f}"
        return False, f"gold mAP50-95 {new:.4f} does not beat {current.name}'s {old:.4f}"

    def promote(self, name: str, force: bool = False) -> bool:
        """Promote ``name`` if it beats the current version (always with ``force``).

        The pool is then re-scored with it and the open tasks' pre-labels replaced, by
        :meth:`hitl_active.loop.rounds.Loop.catch_up` (which every round runs first): a
        promotion from Python needs no second call to keep pre-labels fresh.
        """
        row = self.get(name)
        if row.status == "training" or not (row.weights or row.onnx):
            raise RegistryError(f"model version {name} is unfinished (status {row.status})")
        ok, why = self.should_promote(name)
        if not ok and not force:
            if row.status == "candidate":
                self.store.update_model_version(name, status="rejected")
            logger.info("not promoting %s: %s", name, why)
            return False
        self._make_current(name)
        history = self.store.get(HISTORY_KEY, [])
        self.store.set(HISTORY_KEY, [*history, name])
        logger.info("promoted %s (%s)", name, "forced" if force and not ok else why)
        return True

    def rollback(self) -> str:
        """Promote the version promoted before the current one; returns its name."""
        history = self.store.get(HISTORY_KEY, [])
        current = self.current()
        if current is None or len(history) < 2:
            raise RegistryError(
                "nothing to roll back to: fewer than two versions were ever promoted"
            )
        target = history[-2]
        self._make_current(target)
        self.store.set(HISTORY_KEY, history[:-1])
        logger.info("rolled back from %s to %s", current.name, target)
        return target

    def _make_current(self, name: str) -> None:
        with self.store.transaction():
            current = self.current()
            if current is not None and current.name != name:
                self.store.update_model_version(current.name, status="retired")
            self.store.update_model_version(name, status="promoted", promoted_at=time.time())
            self.store.set(RESCORE_KEY, name)
        self._point_current(name)

    def _point_current(self, name: str) -> None:
        """``models/current`` → the promoted version's folder, for servers started on it."""
        link = self.models_dir / "current"
        tmp = self.models_dir / ".current.tmp"
        try:
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(name, target_is_directory=True)
            tmp.replace(link)  # atomic: a reader sees the old or the new version
        except OSError as exc:  # e.g. a file system without symlinks
            logger.warning("could not point %s at %s: %s", link, name, exc)
        (self.models_dir / "CURRENT").write_text(name + "\n")
