"""``hitl-active status``: where the loop stands, in a few lines."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hitl_active.loop.registry import gold_map
from hitl_active.serving.session import select_providers
from hitl_active.workspace.workspace import Workspace

__all__ = ["LoopStatus", "loop_status"]


@dataclass(frozen=True)
class LoopStatus:
    round_id: int | None
    round_step: str | None
    pool: int
    gold: int
    labelled: int
    pending_tasks: int
    annotator_hours: float
    model_version: str | None
    map50_95: float | None
    map50: float | None
    versions: int
    inference: str = ""  # the ONNX Runtime provider pre-labels run on
    training_device: str = ""  # what the next retrain uses (config ``device``, or automatic)
    gold_labelled: int = 0  # gold images with labels, imported or annotated (they score models)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        model = "none yet"
        if self.model_version:
            m = "not evaluated" if self.map50_95 is None else f"gold mAP50-95 {self.map50_95:.4f}"
            m50 = "" if self.map50 is None else f", mAP50 {self.map50:.4f}"
            model = f"{self.model_version} ({m}{m50}; {self.versions} versions)"
        gold = f"{self.gold_labelled} of {self.gold}"
        rnd = "none yet" if self.round_id is None else f"{self.round_id} ({self.round_step})"
        return "\n".join(
            [
                f"round:          {rnd}",
                f"pool:           {self.pool} images ({self.gold} more in the gold set)",
                f"labelled:       {self.labelled} images (gold set: {gold})",
                f"pending tasks:  {self.pending_tasks}",
                f"annotator time: {_hours(self.annotator_hours)}",
                f"current model:  {model}",
                f"inference:      {self.inference}",
                f"training on:    {self.training_device}",
            ]
        )


def loop_status(ws: Workspace) -> LoopStatus:
    store = ws.store
    rounds = store.rounds()
    last = rounds[-1] if rounds else None
    counts = store.count_images()
    gold_ids = {img.id for img in store.images("gold")}
    annotated = store.annotated_ids()
    current = store.promoted_version()
    return LoopStatus(
        round_id=None if last is None else last.id,
        round_step=None if last is None else last.step,
        pool=counts["pool"] + counts["train"],
        gold=counts["gold"],
        labelled=len(annotated - gold_ids),
        pending_tasks=len(store.tasks(open_only=True)),
        annotator_hours=store.annotator_seconds() / 3600.0,
        model_version=None if current is None else current.name,
        map50_95=gold_map(current),
        map50=gold_map(current, "map50"),
        versions=len(store.model_versions()),
        inference=_inference_provider(),
        training_device=_training_device(ws.config.device),
        gold_labelled=len(gold_ids & (annotated | set(store.gold_labels()))),
    )


def _hours(hours: float) -> str:
    """Hours, and minutes under one hour (a first annotation must not read as 0.00 h)."""
    return (
        f"{hours:.2f} h"
        if hours >= 1.0 or hours == 0.0
        else f"{hours:.2f} h ({hours * 60:.1f} min)"
    )


def _inference_provider() -> str:

    try:
        return select_providers(None)[0]
    except (ImportError, ValueError) as exc:
        return f"unavailable ({exc})"


def _training_device(device: str | None) -> str:
    """The configured device; ``automatic`` is resolved at training time (importing torch
    here would make a status call take seconds)."""
    if device is None:
        return "automatic (every GPU torch sees, else cpu; the retrain logs its choice)"
    return f"{device} (from the config)"
