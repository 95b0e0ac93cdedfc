"""The benchmark's summary: labels and hours each strategy needs to reach the targets, per
budget and per seed, the rare class, and the cost-model sensitivity (built from the curves
of :mod:`hitl_active.bench.curves` and the re-pricing of :mod:`hitl_active.bench.hours`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from hitl_active.bench.curves import (
    BOXES_TOUCHED,
    Curve,
    crossing,
    needs_by_budget,
    ratios_by_budget,
)
from hitl_active.bench.hours import (
    hours_ratio_interval,
    per_seed_ratios,
    rare_at_equal_hours,
    sensitivity,
)

__all__ = ["format_summary", "summarise"]


def summarise(
    curves: dict[str, Curve],
    reference: dict[str, float],
    baseline: str = "random",
    fraction: float = 0.95,
    rare_class: str | None = None,
) -> dict:
    """Labels and hours to reach targets, per strategy, and the rare class's AP by round.

    Targets: ``fraction`` of the full-data mAP50-95 (when a reference exists), and the
    baseline's final mean mAP50-95 (labels relative to the baseline's = the label ratio).
    Label and hour ratios are also given at each of the baseline's budgets
    (:func:`ratios_by_budget`), and the hours ratio with a bootstrap interval over the seeds
    (:func:`~hitl_active.bench.hours.hours_ratio_interval`).
    """
    out: dict = {"strategies": {}, "reference": reference}
    base = curves.get(baseline)
    base_final = float(base.mean("map50_95")[-1]) if base is not None and base.rounds else None
    full = reference.get("map50_95")
    targets = {}
    if full is not None and not math.isnan(full):
        targets[f"{int(fraction * 100)}% of full-data mAP50-95"] = fraction * full
    if base_final is not None:
        targets[f"{baseline}'s final mAP50-95"] = base_final
    out["targets"] = targets
    for name, curve in curves.items():
        x_img, x_h = curve.mean("labelled_images"), curve.mean("annotator_hours")
        y = curve.mean("map50_95")
        info: dict = {
            "seeds": curve.seeds,
            "labelled_images": x_img.round(1).tolist(),
            "annotator_hours": x_h.round(3).tolist(),
            "map50_95_mean": y.round(4).tolist(),
            "map50_95_std": curve.std("map50_95").round(4).tolist(),
            "map50_mean": curve.mean("map50").round(4).tolist(),
        }
        x_box = curve.mean(BOXES_TOUCHED)
        info["boxes_touched"] = x_box.round(1).tolist()
        for label, target in targets.items():
            info[f"labels to {label}"] = crossing(x_img, y, target)
            info[f"hours to {label}"] = crossing(x_h, y, target)
            info[f"boxes touched to {label}"] = crossing(x_box, y, target)
        if rare_class is not None and f"ap50_95:{rare_class}" in curve._rows[0][0]:
            info[f"rare class {rare_class} AP50-95"] = (
                curve.mean(f"ap50_95:{rare_class}").round(4).tolist()
            )
            info[f"rare class {rare_class} AP50"] = (
                curve.mean(f"ap50:{rare_class}").round(4).tolist()
            )
        info["annotator_hours_std"] = curve.std("annotator_hours").round(3).tolist()
        out["strategies"][name] = info
    if base is not None and base.rounds:
        for name, curve in curves.items():
            info = out["strategies"][name]
            info[f"to {baseline}'s mAP50-95 by budget"] = needs_by_budget(curve, base)
            info[f"to {baseline}'s final mAP50-95 per seed"] = per_seed_ratios(curve, base)
            if name != baseline:  # how far the seeds' spread moves the hours ratio
                info[f"hours_ratio_vs_{baseline}_interval"] = hours_ratio_interval(curve, base)
            if rare_class is not None and f"ap50_95:{rare_class}" in curve._rows[0][0]:
                key = f"rare class {rare_class} AP50-95 at {baseline}'s hours"
                info[key] = rare_at_equal_hours(curve, base, rare_class)
        out["sensitivity"] = {
            "what": f"hours to {baseline}'s final mAP50-95 over {baseline}'s hours, the same "
            "selections re-priced at each drawing time",
            **sensitivity(curves, baseline),
        }
    if base is not None and base_final is not None:
        key = f"labels to {baseline}'s final mAP50-95"
        base_labels = out["strategies"][baseline][key]
        for name, curve in curves.items():
            info = out["strategies"][name]
            got = info.get(key)
            info["label_ratio_vs_" + baseline] = (
                None if got is None or not base_labels else round(got / base_labels, 3)
            )
            box_key = f"boxes touched to {baseline}'s final mAP50-95"
            got_b, base_b = info.get(box_key), out["strategies"][baseline][box_key]
            info["boxes_ratio_vs_" + baseline] = (
                None if got_b is None or not base_b else round(got_b / base_b, 3)
            )
            hour_key = f"hours to {baseline}'s final mAP50-95"
            got_h, base_h = info.get(hour_key), out["strategies"][baseline][hour_key]
            info["hours_ratio_vs_" + baseline] = (
                None if got_h is None or not base_h else round(got_h / base_h, 3)
            )
            info[f"label_ratio_vs_{baseline}_by_budget"] = ratios_by_budget(curve, base)
            info[f"hours_ratio_vs_{baseline}_by_budget"] = ratios_by_budget(
                curve, base, "annotator_hours"
            )
    return out


def format_summary(summary: dict, strategies: Sequence[str] | None = None) -> str:
    """A plain-text summary, hours first: per strategy the final mAP and the hours and labels
    it needs to reach the baseline at each budget; then the cost-model sensitivity."""
    lines = [f"targets: {summary['targets']}", f"full data: {summary['reference']}"]
    for name, info in summary["strategies"].items():
        if strategies and name not in strategies:
            continue
        hours = info["annotator_hours"][-1] if info["annotator_hours"] else float("nan")
        lines.append(f"{name}: final mAP50-95 {info['map50_95_mean'][-1]:.3f} at {hours:.2f} h")
        for key, value in info.items():
            wanted = key.startswith(("hours to", "labels to", "label_ratio_vs", "rare"))
            wanted = wanted or key.endswith("_interval")
            plain = not isinstance(value, dict) or key.endswith("_interval")
            if wanted and not key.endswith("by_budget") and plain:
                lines.append(f"  {key}: {value}")
        by_budget = next((v for k, v in info.items() if k.endswith("mAP50-95 by budget")), {})
        for budget, need in by_budget.items():
            lines.append(
                f"  at {budget} labels (target {need['target']}): {need['hours']} h "
                f"({need['hours_ratio']}x), {need['labels']} labels ({need['label_ratio']}x)"
            )
    sens = summary.get("sensitivity") or {}
    for key, row in sens.items():
        if key != "what":
            lines.append(f"{key}: hours ratio {row}")
    return "\n".join(lines)
