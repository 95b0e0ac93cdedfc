"""Hours first: what each strategy needs at every budget, the rare class at equal hours,
and the same selections re-priced at other drawing times."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.bench.curves import Curve
from hitl_active.bench.hours import (
    hours_ratio_interval,
    needs_by_budget,
    per_seed_ratios,
    rare_at_equal_hours,
    repriced_hours,
    sensitivity,
)
from hitl_active.bench.summary import format_summary, summarise
from hitl_active.sampling.cost import CostModel

COST = CostModel()


def _curve(name: str, maps: list[list[float]], per_image: dict[str, float], rare=None) -> Curve:
    """Rounds of 10 images; ``per_image`` action counts per labelled image; hours priced
    by the default cost model, as the benchmark records them."""
    rows = []
    for s, ys in enumerate(maps):
        for r, v in enumerate(ys):
            n = 10 * (r + 1)
            counts = {k: n * c for k, c in per_image.items()}
            seconds = n * COST.image_s + sum(
                counts[k] * getattr(COST, f)
                for k, f in (("verified", "verify_s"), ("fixed", "fix_s"),
                             ("relabelled", "relabel_s"), ("deleted", "delete_s"),
                             ("drawn", "draw_s"))
            )  # fmt: skip
            row = {"seed": str(s), "round": str(r), "labelled_images": str(n),
                   "annotator_hours": str(seconds / 3600), "map50_95": str(v),
                   "map50": str(v), **{k: str(c) for k, c in counts.items()}}  # fmt: skip
            if rare is not None:
                row["ap50_95:cross"] = str(rare[s][r])
                row["ap50:cross"] = str(rare[s][r])
            rows.append(row)
    return Curve(name, rows)


BUSY = {"verified": 1.0, "fixed": 0.5, "relabelled": 0.2, "deleted": 0.5, "drawn": 3.0}
LIGHT = {"verified": 2.0, "fixed": 0.5, "relabelled": 0.2, "deleted": 0.5, "drawn": 0.5}


def test_reprice_at_the_recorded_model_gives_the_recorded_hours():
    curve = _curve("a", [[0.1, 0.2, 0.3]], BUSY)
    np.testing.assert_allclose(repriced_hours(curve, COST), curve.values("annotator_hours"))
    cheap = repriced_hours(curve, CostModel(draw_s=7.0))
    assert (cheap < curve.values("annotator_hours")).all()


def test_needs_by_budget_gives_hours_and_labels_to_the_baselines_map():
    base = _curve("random", [[0.1, 0.2, 0.3, 0.4]], BUSY)
    fast = _curve("fast", [[0.1, 0.3, 0.4, 0.5]], LIGHT)
    need = needs_by_budget(fast, base)
    assert set(need) == {20, 30, 40}
    assert need[30]["target"] == pytest.approx(0.3)
    assert need[30]["labels"] == pytest.approx(20.0)
    assert need[30]["label_ratio"] == pytest.approx(20 / 30, abs=1e-3)
    hours_fast = fast.mean("annotator_hours")[1]
    assert need[30]["hours"] == pytest.approx(hours_fast, abs=1e-4)
    ratio = hours_fast / base.mean("annotator_hours")[2]
    assert need[30]["hours_ratio"] == pytest.approx(ratio, abs=1e-3)
    slow = needs_by_budget(_curve("slow", [[0.1, 0.12, 0.14, 0.16]], BUSY), base)
    assert slow[20]["hours"] is None and slow[20]["hours_ratio"] is None


def test_sensitivity_a_strategy_that_draws_less_gains_as_drawing_gets_slower():
    base = _curve("random", [[0.1, 0.2, 0.3, 0.4]], BUSY)
    light = _curve("light", [[0.1, 0.2, 0.3, 0.4]], LIGHT)  # same mAP, fewer boxes drawn
    table = sensitivity({"random": base, "light": light})
    ratios = [table[f"draw_s={d:g}"]["light"] for d in (7.0, 25.5, 35.0)]
    assert all(r < 1 for r in ratios) and ratios[0] > ratios[1] > ratios[2]
    assert all(table[k]["random"] == pytest.approx(1.0) for k in table)


def test_rare_class_at_equal_hours_and_the_summary_reports_it():
    rare_base = [[0.0, 0.05, 0.1, 0.15]]
    rare_light = [[0.0, 0.2, 0.3, 0.4]]
    base = _curve("random", [[0.1, 0.2, 0.3, 0.4]], BUSY, rare=rare_base)
    light = _curve("light", [[0.1, 0.25, 0.35, 0.45]], BUSY, rare=rare_light)
    at = rare_at_equal_hours(light, base, "cross")
    hours = base.mean("annotator_hours")[1:]
    assert list(at) == [f"{h:.3f}" for h in hours]
    assert list(at.values()) == pytest.approx(rare_light[0][1:])  # above random's there
    short = _curve("short", [[0.1, 0.2]], BUSY, rare=[[0.0, 0.3]])
    assert list(rare_at_equal_hours(short, base, "cross").values())[1:] == [None, None]
    summary = summarise({"random": base, "light": light}, {}, rare_class="cross")
    info = summary["strategies"]["light"]
    assert info["rare class cross AP50-95 at random's hours"] == at
    assert info["to random's mAP50-95 by budget"] == needs_by_budget(light, base)
    assert set(summary["sensitivity"]) == {"what", "draw_s=7", "draw_s=25.5", "draw_s=35"}
    text = format_summary(summary)
    assert "h (" in text and "draw_s=35" in text


def test_per_seed_ratios_pair_each_seed_with_the_baselines_same_seed():
    base = _curve("random", [[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.3]], BUSY)
    fast = _curve("fast", [[0.1, 0.3, 0.4, 0.5], [0.1, 0.15, 0.2, 0.25]], LIGHT)
    got = per_seed_ratios(fast, base)
    assert set(got) == {"0", "1"}
    assert got["0"]["target"] == pytest.approx(0.4)
    labels = base.values("labelled_images")
    assert got["0"]["labels_ratio"] == pytest.approx(labels[0, 2] / labels[0, -1], abs=1e-3)
    hours = fast.values("annotator_hours")[0, 2] / base.values("annotator_hours")[0, -1]
    assert got["0"]["hours_ratio"] == pytest.approx(hours, abs=1e-3)
    boxes = fast.values("boxes_touched")[0, 2] / base.values("boxes_touched")[0, -1]
    assert got["0"]["boxes_ratio"] == pytest.approx(boxes, abs=1e-3)
    assert boxes < got["0"]["labels_ratio"], "LIGHT images have fewer boxes to touch"
    never = {"target": 0.3, "labels_ratio": None, "hours_ratio": None, "boxes_ratio": None}
    assert got["1"] == never
    summary = summarise({"random": base, "fast": fast}, {})
    assert summary["strategies"]["fast"]["to random's final mAP50-95 per seed"] == got


def test_hours_ratio_interval_brackets_the_ratio_and_counts_resamples_that_never_get_there():
    maps = [[0.1, 0.2, 0.3, 0.4], [0.1, 0.25, 0.3, 0.35], [0.1, 0.2, 0.35, 0.45]]
    base = _curve("random", maps, BUSY)
    fast = _curve("fast", [[y + 0.1 * (r > 0) for r, y in enumerate(ys)] for ys in maps], LIGHT)
    summary = summarise({"random": base, "fast": fast}, {})
    info = summary["strategies"]["fast"]
    got = info["hours_ratio_vs_random_interval"]
    assert got == hours_ratio_interval(fast, base)
    assert got["seeds"] == 3 and got["never_share"] == 0.0
    assert got["low"] <= info["hours_ratio_vs_random"] <= got["high"] < 1.0
    assert not any(k.endswith("_interval") for k in summary["strategies"]["random"])
    same = hours_ratio_interval(_curve("same", maps, BUSY), base)
    assert same["low"] == pytest.approx(1.0) and same["high"] == pytest.approx(1.0)
    flat = _curve("flat", [[0.1, 0.12, 0.14, 0.16]] * 3, BUSY)  # never reaches random's final
    assert hours_ratio_interval(flat, base) == {
        "low": None,
        "high": None,
        "never_share": 1.0,
        "seeds": 3,
    }
    assert "hours_ratio_vs_random_interval" in format_summary(summary)
    # a baseline whose mean dips at the end: the interval divides as the ratio does
    dipping = [[0.1, 0.3, 0.25, 0.25]] * 3
    dip_base = _curve("random", dipping, BUSY)
    dip = summarise({"random": dip_base, "same": _curve("same", dipping, BUSY)}, {})
    assert dip["strategies"]["same"]["hours_ratio_vs_random"] == 1.0
    assert dip["strategies"]["same"]["hours_ratio_vs_random_interval"]["low"] == 1.0
    assert dip["strategies"]["same"]["hours_ratio_vs_random_interval"]["high"] == 1.0
