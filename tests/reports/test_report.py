"""The HTML report from a workspace state with known rows (written through the real store)."""

from __future__ import annotations

import re

import pytest

from hitl_active.reports.report import class_regressions, corrections_by_round, write_report
from tests.loop.loop_helpers import tiny_dataset, tiny_workspace

CLASSES = ["circle", "square", "triangle", "cross"]


def _gold(map50_95: float, per_class: list[float]) -> dict:
    return {
        "gold": {
            "map50_95": map50_95,
            "map50": map50_95 + 0.2,
            "per_class_ap50_95": dict(zip(CLASSES, per_class, strict=True)),
        }
    }


@pytest.fixture
def ws(tmp_path):
    ws = tiny_workspace(tmp_path / "ws", tiny_dataset(tmp_path / "data", n_images=20))
    store = ws.store
    pool = [img.id for img in store.images("pool")]
    store.add_model_version("v0001", None)
    store.update_model_version(
        "v0001", status="rejected",
        metrics={**_gold(0.30, [0.5, 0.4, 0.2, 0.40]), "labelled_images": 4,
                 "annotator_seconds": 600.0},
    )  # fmt: skip
    store.add_model_version("v0002", "v0001")
    store.update_model_version(
        "v0002", status="promoted",
        metrics={**_gold(0.35, [0.6, 0.5, 0.3, 0.18]), "labelled_images": 8,
                 "annotator_seconds": 1500.0},
    )  # fmt: skip
    r1 = store.start_round(None)
    store.add_task(pool[0], r1.id, None, None, None)
    store.add_task(pool[1], r1.id, None, None, None)
    diff = {"counts": {"kept": 3, "moved": 2, "relabelled": 1, "deleted": 4, "added": 5}}
    store.add_annotation(pool[0], "a:0", "1", [], source="simulated", lead_time=60.0, diff=diff)
    store.add_annotation(pool[1], "a:1", "1", [], source="simulated", lead_time=60.0)
    store.set_round_step(r1.id, "done", labelled=8, annotator_seconds=1500.0, map50_95=0.35,
                         map50=0.55, promoted=True, candidate_version="v0002")  # fmt: skip
    r2 = store.start_round("v0002")
    store.add_task(pool[2], r2.id, None, None, "v0002")
    store.set_round_step(r2.id, "pushed")
    return ws


def test_report_page_holds_rows_flags_corrections_and_curve(ws, tmp_path) -> None:
    png, page = write_report(ws, tmp_path / "out")
    text = page.read_text(encoding="utf-8")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert re.search(r'<img src="learning_curve.png"', text)
    # the finished round with its totals; the open one reads "in progress", not a failure
    assert "<td>1</td><td>done</td><td>8</td><td>0.42</td><td>0.3500</td>" in text
    assert "<td>2</td><td>in progress (pushed, 1 tasks open)</td>" in text
    assert "labelled (total)" in text and "annotator-h (total)" in text
    # cross fell from 0.40 to 0.18 (-55%) when v0002 replaced v0001: flagged
    assert re.search(
        r'class="regression">0\.1800 ⚠ regression: 0\.40 → 0\.18 \(-55%\) vs v0001', text
    )
    assert text.count('class="regression"') == 1
    # corrections: round 1 had 2 annotations, one with a diff
    assert (
        "<td>1</td><td>2</td><td>3</td><td>2</td><td>1</td><td>4</td><td>5</td><td>1</td>" in text
    )
    assert "mean average precision" in text
    assert "<pre>" not in text


def test_regressions_compare_each_class_with_the_parent(ws) -> None:
    flags = class_regressions(ws)
    assert list(flags) == ["v0002"] and list(flags["v0002"]) == ["cross"]
    assert class_regressions(ws, drop=0.6) == {}


def test_corrections_group_by_round(ws) -> None:
    c = corrections_by_round(ws)
    assert set(c) == {1}
    assert (c[1]["annotations"], c[1]["kept"], c[1]["added"], c[1]["no_diff"]) == (2, 3, 5, 1)


def test_report_cli_writes_the_page(ws, tmp_path, capsys) -> None:
    from hitl_active.cli import main

    assert main(["-q", "report", "-w", str(ws.root), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.html").is_file()
