"""Every figure about one annotator, as plain JSON-ready data, for them to see.

An annotator sees all that is measured about them: per-class skill with intervals (or the
"not enough data" reason), their box noise, what overlap says without gold, and every flag
raised about them with its evidence. Nothing here says which of their items were gold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hitl_active.workforce.flags import Flag
from hitl_active.workforce.gold import ALL, AnnotatorSkill
from hitl_active.workforce.latent import LatentSkill

__all__ = ["annotator_report"]

FIGURES = ("recall", "precision", "label_accuracy", "iou", "automation_bias")


def _skill(s: AnnotatorSkill, class_names: Mapping[int, str]) -> dict:
    per_class = {}
    for c, k in sorted(s.per_class.items()):
        name = "all" if c == ALL else class_names.get(c, str(c))
        per_class[name] = {f: getattr(k, f).to_dict() for f in FIGURES}
    return {"images": s.images, "per_class": per_class, "box_noise": s.box_noise.to_dict()}


def annotator_report(
    annotator: str,
    gold: Mapping[str, AnnotatorSkill] | None = None,
    latent: Mapping[str, LatentSkill] | None = None,
    flags: Iterable[Flag] = (),
    class_names: Mapping[int, str] | None = None,
) -> dict:
    """Everything measured about ``annotator`` (sections are ``None`` where not measured)."""
    names = dict(class_names or {})
    g = (gold or {}).get(annotator)
    lat = (latent or {}).get(annotator)
    return {
        "annotator": annotator,
        "gold": None if g is None else _skill(g, names),
        "overlap": None
        if lat is None
        else {
            "reliability": lat.reliability,
            "items": lat.items,
            "box_noise": lat.box_noise.to_dict(),
        },
        "flags": [
            {
                "kind": f.kind,
                "figure": f.figure,
                "estimate": f.estimate.to_dict(),
                "team_value": f.team_value,
                "look_at": f.look_at,
                "after_tasks": f.after_tasks,
                "message": f.message(),
            }
            for f in flags
            if f.annotator == annotator
        ],
    }
