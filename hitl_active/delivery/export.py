"""Deliver a workspace's dataset to a client: images, labels, provenance and a dataset card.

Every exported box says where it came from (``box_meta["source"]``):

* ``human``: drawn by an annotator;
* ``human_corrected``: a model pre-label an annotator moved, resized or relabelled;
* ``human_accepted``: a model pre-label an annotator saw and kept as it was;
* ``consensus``: merged from several annotators' answers on an overlapped image, naming them
  (``annotators``), the share of them who drew it (``support``) and agreed on its label;
* ``model``: never seen by a person, with the model's ``score`` and ``model_version``.

Images with a human annotation export the newest one (an overlapped image its consensus);
the others (unless ``include_model_only`` is off) export the promoted model's boxes above the
confidence threshold. Gold-set images export their gold truth; answers to honeypots (gold
images served to score annotators) are never exported.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hitl_active.choices import Choice
from hitl_active.delivery.audit import RESULT_KEY, quality_lines
from hitl_active.formats.coco import write_coco
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.voc import write_voc_dir
from hitl_active.formats.yolo import write_yolo_dataset
from hitl_active.loop.review import Planned, plans_of, unasked_boxes
from hitl_active.loop.truth import human_answers, overlap_consensus
from hitl_active.store.store import boxes_to_labels
from hitl_active.workspace.workspace import Workspace

if TYPE_CHECKING:
    from hitl_active.detections import Detections

__all__ = ["ExportFormat", "ExportResult", "collect_labels", "export_dataset", "verified_paths"]

logger = logging.getLogger(__name__)

HUMAN_SOURCES = ("human", "human_corrected", "human_accepted", "consensus")


class ExportFormat(Choice):
    YOLO = "yolo"
    COCO = "coco"
    VOC = "voc"


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    n_images: int
    n_boxes: int
    card: dict[str, Any]


def _model_boxes(detections: Detections, threshold: float, version: str) -> list[dict]:
    dets = detections.above(threshold)
    return [
        {
            "xyxy": [round(float(v), 2) for v in dets.xyxy[i]],
            "class_id": int(dets.class_id[i]),
            "source": "model",
            "score": round(float(dets.confidence[i]), 4),
            "model_version": version,
        }
        for i in range(len(dets))
    ]


def _unasked(ws: Workspace, image_id: int, planned: dict[int, Planned]) -> list[dict]:
    """A box-reviewed image's boxes nobody was asked about, delivered as the model's: the
    sure ones, and the uncertain ones at or above the display threshold (as an image nobody
    saw is delivered)."""
    out = []
    for box in unasked_boxes(ws, image_id, {}, planned):  # trusted or not, the model's
        box.pop("ignore", None)
        if box.pop("unasked") == "fix" and box["score"] < ws.config.conf_threshold:
            continue
        out.append(box)
    return out


def collect_labels(ws: Workspace, include_model_only: bool = True) -> list[ImageLabels]:
    """One :class:`ImageLabels` per delivered image, with per-box provenance in ``box_meta``."""

    store = ws.store
    answers = store.answers()  # read once for both rules
    human = human_answers(ws, answers)  # honeypot answers are never truth (see loop.truth)
    gold = store.gold_labels()
    promoted = store.promoted_version()
    predictions = store.predictions(promoted.name) if promoted else {}
    images = store.images()
    merged = overlap_consensus(ws, {img.id: img for img in images}, answers)
    planned = plans_of(ws, list(human))  # box review's plans, read once
    items = []
    for img in images:
        if img.id in merged:
            items.append(merged[img.id][0])
            continue
        if img.id in gold:
            boxes = [{"source": "human"} | b for b in gold[img.id]]
        elif img.id in human:
            ann = human[img.id]
            boxes = [
                {"annotator": ann.annotator, "annotation_id": ann.external_id} | b
                for b in ann.boxes
            ] + _unasked(ws, img.id, planned)
        elif include_model_only and promoted is not None and img.id in predictions:
            # an image the model saw and found nothing in is delivered as empty, not dropped
            # (a Detections with no boxes is falsy, so test membership, not truth)
            detections = predictions[img.id]
            if detections is None:  # the engine could not read it
                continue
            boxes = _model_boxes(detections, ws.config.conf_threshold, promoted.name)
        else:
            continue
        boxes = [{"source": "human"} | b for b in boxes]
        items.append(boxes_to_labels(img.path, img.width, img.height, boxes))
    return items


def verified_paths(ws: Workspace) -> set[str]:
    """Paths of the images a person answered (an annotation, or the gold set)."""
    store = ws.store
    verified = {a.image_id for a in store.annotations()} | set(store.gold_labels())
    return {img.path for img in store.images_by_id(verified).values()}


def dataset_card(ws: Workspace, items: Sequence[ImageLabels]) -> dict[str, Any]:
    """Counts per class and source, share of human-verified boxes, model metrics, hours."""
    names = ws.config.classes
    per_class: dict[str, dict[str, int]] = {n: {} for n in names}
    per_source: dict[str, int] = {}
    for labels in items:
        for cls, meta in zip(labels.class_id, labels.box_meta, strict=True):
            src = str(meta.get("source", "human"))
            per_class[names[int(cls)]][src] = per_class[names[int(cls)]].get(src, 0) + 1
            per_source[src] = per_source.get(src, 0) + 1
    n_boxes = sum(per_source.values())
    n_human = sum(per_source.get(s, 0) for s in HUMAN_SOURCES)
    promoted = ws.store.promoted_version()
    verified = verified_paths(ws)
    human_images = sum(1 for x in items if x.image in verified)
    return {
        "classes": names,
        "images": len(items),
        "human_verified_images": human_images,
        "boxes": n_boxes,
        "boxes_per_class": {n: sum(c.values()) for n, c in per_class.items()},
        "boxes_per_class_and_source": per_class,
        "boxes_per_source": per_source,
        "human_verified_share": (n_human / n_boxes) if n_boxes else 1.0,
        "model_version": None if promoted is None else promoted.name,
        "model_metrics": {} if promoted is None else promoted.metrics.get("gold", {}),
        "annotator_hours": ws.store.annotator_seconds() / 3600.0,
        "rounds": len(ws.store.rounds()),
        # the newest audit of the delivery (`hitl-active audit`): precision and recall per
        # provenance class with 95% intervals; None before any audit
        "audit": ws.store.get(RESULT_KEY),
    }


def _card_markdown(card: dict[str, Any], fmt: str) -> str:
    m = card["model_metrics"]
    lines = [
        "# Dataset card",
        "",
        f"- Format: {fmt}",
        f"- Images: {card['images']} ({card['human_verified_images']} human-verified)",
        f"- Boxes: {card['boxes']}; human-verified share: {card['human_verified_share']:.1%}",
        f"- Annotator-hours: {card['annotator_hours']:.2f} over {card['rounds']} rounds",
        f"- Model: {card['model_version'] or 'none'}"
        + (
            f" (gold mAP50-95 {m.get('map50_95', 0):.3f}, mAP50 {m.get('map50', 0):.3f})"
            if m
            else ""
        ),
        "",
        "| class | boxes | " + " | ".join((*HUMAN_SOURCES, "model")),
        "|---|---|---|---|---|---|---|",
    ]
    for name, by_src in card["boxes_per_class_and_source"].items():
        counts = [str(by_src.get(s, 0)) for s in (*HUMAN_SOURCES, "model")]
        lines.append(f"| {name} | {sum(by_src.values())} | " + " | ".join(counts))
    audit = card.get("audit")
    lines += ["", "## Measured quality", ""]
    if audit is None:
        lines.append("Not audited yet (`hitl-active audit`): no error estimate for these boxes.")
    else:
        lines += [
            f"A stratified random sample, checked by reviewers (`hitl-active audit`; "
            f"{audit['reviewed_images']} images). Precision: the share of a class's boxes that "
            "are right; recall: the share of the objects in a class's images that have a box "
            f"(a match: IoU >= {audit['match_iou']}, same class). Intervals: Wilson, 95%.",
            "",
            *quality_lines(audit),
        ]
        if audit["unreviewed"]:
            lines.append(f"\n{len(audit['unreviewed'])} sampled images not reviewed yet.")
    lines += [
        "",
        "Every box carries its provenance (`source`: human, human_corrected, human_accepted, "
        "consensus (with its `annotators`) or model, with `score` and `model_version` for "
        "model boxes) in `provenance.json`.",
    ]
    return "\n".join(lines) + "\n"


def export_dataset(
    ws: Workspace,
    out_dir: str | Path,
    fmt: str | ExportFormat = ExportFormat.YOLO,
    include_model_only: bool = True,
    overwrite: bool = False,
) -> ExportResult:
    """Write the delivered dataset to ``out_dir`` and return what was written."""

    fmt = ExportFormat.from_value(fmt)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty; pick an empty folder or pass overwrite")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    items = collect_labels(ws, include_model_only)
    names = ws.config.classes
    if fmt is ExportFormat.YOLO:
        write_yolo_dataset(items, out, names)
    else:
        images_dir = out / ("images" if fmt is ExportFormat.COCO else "JPEGImages")
        images_dir.mkdir()
        for labels in items:
            shutil.copy2(labels.image, images_dir / Path(labels.image).name)
        local = [
            ImageLabels(
                str(images_dir / Path(x.image).name),
                x.width,
                x.height,
                x.xyxy,
                x.class_id,
                box_meta=x.box_meta,
            )
            for x in items
        ]
        if fmt is ExportFormat.COCO:
            write_coco(local, out / "annotations.json", names, relative_to=images_dir)
        else:
            write_voc_dir(local, out / "Annotations", names)
    provenance = {
        Path(x.image).name: [
            {"class": names[int(c)], "xyxy": [round(float(v), 2) for v in b]} | m
            for b, c, m in zip(x.xyxy, x.class_id, x.box_meta, strict=True)
        ]
        for x in items
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1))
    card = dataset_card(ws, items)
    (out / "dataset_card.json").write_text(json.dumps(card, indent=1))
    (out / "DATASET_CARD.md").write_text(_card_markdown(card, fmt.value))
    logger.info(
        "exported %d images, %d boxes (%s) to %s", len(items), card["boxes"], fmt.value, out
    )
    return ExportResult(out, len(items), card["boxes"], card)
