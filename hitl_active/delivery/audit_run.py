"""``hitl-active audit``: plan a delivery's audit, put it to reviewers, estimate, record.

The plan (:func:`hitl_active.delivery.audit.plan_audit`) is drawn once and kept in the state
store (``audit.plan``), so a re-run continues the same audit; ``new`` draws another. Its
images go to a Label Studio project of their own (``<workspace> audit``), each task showing
the delivered boxes as the pre-label; reviewers fix them to what is there (delete a wrong
box, correct one, draw a missed one). The project is never connected to ``serve`` and never
pulled by the loop: reviews judge the delivery, they are not trained on. Their answers are
recorded in the workspace's ``audit.db`` (a standalone state store), by the same code as
every other annotation. A set audited elsewhere can be read instead: a ``provenance.json``
as ``export`` writes it, edited to what is there (image file name → boxes with ``class``
and ``xyxy``).

The estimate (``audit.result`` in the store) goes into the dataset card and the report.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hitl_active.delivery.audit import RESULT_KEY, AuditPlan, estimate, plan_audit
from hitl_active.delivery.export import collect_labels, verified_paths
from hitl_active.formats.core import ImageLabels
from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.labelstudio.project import connect_local_files, ensure_project
from hitl_active.labelstudio.pull import pull_annotations
from hitl_active.labelstudio.push import PushItem, push_tasks
from hitl_active.store.store import Store
from hitl_active.workspace.workspace import Workspace

__all__ = ["AuditStatus", "audit_result", "run_audit"]

logger = logging.getLogger(__name__)

PLAN_KEY = "audit.plan"
PROJECT_KEY = "audit.project"


@dataclass
class AuditStatus:
    """Where an audit stands: its plan's sizes, how many images are reviewed, the result."""

    plan: AuditPlan
    review_images: int
    reviewed: int
    result: dict[str, Any] | None
    project: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample": {c: len(v) for c, v in {**self.plan.boxes, **self.plan.images}.items()},
            "population": self.plan.population,
            "review_images": self.review_images,
            "reviewed": self.reviewed,
            "project": self.project,
            "result": self.result,
        }


def audit_result(ws: Workspace) -> dict[str, Any] | None:
    """The newest audit estimate recorded in the workspace, or ``None``."""
    return ws.store.get(RESULT_KEY)


def _plan(ws: Workspace, items: list[ImageLabels], half_width: float, seed: int, new: bool):
    saved = None if new else ws.store.get(PLAN_KEY)
    if saved is not None:
        plan = AuditPlan.from_dict(saved)
        if half_width != plan.half_width:
            logger.info("continuing the audit planned at +/-%.3f (pass new to draw another)",
                        plan.half_width)  # fmt: skip
        return plan
    plan = plan_audit(items, verified_paths(ws), half_width=half_width, seed=seed)
    ws.store.set(PLAN_KEY, plan.to_dict())
    ws.store.set(PROJECT_KEY, None)
    logger.info("audit planned: %s", {c: len(v) for c, v in {**plan.boxes, **plan.images}.items()})
    return plan


def read_reviewed_file(path: Path, ws: Workspace, items: list[ImageLabels]) -> dict:
    """Reviewed boxes from a ``provenance.json``-shaped file, keyed as the delivery's images."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the audited set {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object of image file name -> boxes")
    index = {n: i for i, n in enumerate(ws.config.classes)}
    by_name = {Path(x.image).name: x for x in items}
    out = {}
    for name, boxes in data.items():
        if name not in by_name:
            raise ValueError(f"{path}: image {name!r} is not in this delivery")
        try:
            xyxy = np.array([b["xyxy"] for b in boxes], np.float32).reshape(-1, 4)
            cls = np.array([index[b["class"]] for b in boxes], np.int64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{path}: image {name!r}: each box needs a class of {list(index)} and xyxy "
                f"({exc!r})"
            ) from None
        item = by_name[name]
        out[item.image] = ImageLabels(item.image, item.width, item.height, xyxy, cls)
    return out


def _review_in_label_studio(
    ws: Workspace, plan: AuditPlan, items: dict[str, ImageLabels], client: LabelStudioClient,
    files_root: str | None, title: str,
) -> tuple[dict[str, ImageLabels], int]:  # fmt: skip
    """Push the plan's images (once) and read back what reviewers answered."""
    project = ensure_project(
        client, title, ws.config.classes,
        description="Check the delivered boxes: delete wrong ones, fix, draw what is missing.",
    )  # fmt: skip
    if ws.store.get(PROJECT_KEY) != project.id:
        connect_local_files(client, project.id, ws.images_dir)
        ws.store.set(PROJECT_KEY, project.id)
    with Store.standalone(ws.root / "audit.db") as reviews:
        push = [PushItem(ws.image_key(img), items[img].width, items[img].height, items[img],
                         image=img) for img in plan.review_images]  # fmt: skip
        push_tasks(client, project, push, reviews, "delivery", files_root, progress=False,
                   task_image=ws.config.task_image_spec())  # fmt: skip
        pull_annotations(client, project, reviews)
        by_id = {reviews.image_for_key(ws.image_key(img)): img for img in plan.review_images}
        reviewed: dict[str, ImageLabels] = {}
        for row in reviews.project_annotations(project.id):
            img = by_id.get(row.image_id)
            if row.cancelled or img is None:
                continue
            xyxy = np.array([b["xyxy"] for b in row.boxes], np.float32).reshape(-1, 4)
            cls = np.array([b["class_id"] for b in row.boxes], np.int64)
            reviewed[img] = ImageLabels(img, items[img].width, items[img].height, xyxy, cls)
    return reviewed, project.id


def run_audit(
    ws: Workspace,
    client: LabelStudioClient | None = None,
    files_root: str | None = None,
    from_file: Path | None = None,
    half_width: float = 0.05,
    seed: int = 0,
    new: bool = False,
    title: str | None = None,
) -> AuditStatus:
    """Plan (or continue) the audit, gather reviews, and record the estimate once any image
    is reviewed."""
    items = collect_labels(ws)
    delivered = {x.image: x for x in items}
    plan = _plan(ws, items, half_width, seed, new)
    project = None
    if from_file is not None:
        reviewed = read_reviewed_file(from_file, ws, items)
    elif client is not None:
        reviewed, project = _review_in_label_studio(
            ws, plan, delivered, client, files_root, title or f"{ws.root.name} audit"
        )
    else:
        reviewed = {}
    wanted = set(plan.review_images)
    done = {k: v for k, v in reviewed.items() if k in wanted}
    result = None
    if done:
        source = str(from_file) if from_file is not None else "label-studio"
        result = estimate(plan, delivered, done) | {"recorded_at": time.time(), "source": source}
        ws.store.set(RESULT_KEY, result)
    return AuditStatus(plan, len(wanted), len(done), result, project)
