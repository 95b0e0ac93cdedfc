"""The workspace's cost model: fitted from its recorded annotations (lead time and diff),
shown by ``hitl-active cost fit``, and used by the loop once there are enough."""

from __future__ import annotations

import json

import numpy as np
import pytest
from loop_helpers import tiny_dataset, tiny_workspace

from hitl_active.cli import main
from hitl_active.loop.costs import FIT_KEY, annotation_log, workspace_cost_model
from hitl_active.sampling.cost import CostModel
from hitl_active.sampling.cost_fit import ACTIONS, MIN_ANNOTATIONS

DIFF_KEYS = ("kept", "moved", "relabelled", "deleted", "added")
PLANTED = {"image_s": 4.0, "verify_s": 1.2, "fix_s": 6.0, "relabel_s": 2.5, "delete_s": 3.0,
           "draw_s": 11.0}  # fmt: skip


def _record(ws, n: int, rng: np.random.Generator) -> None:
    """``n`` annotations, each with a diff and the planted time of its actions."""
    for k, img in enumerate(ws.store.images()[:n]):
        kept, moved, rel, dele, added = (int(v) for v in rng.poisson((3, 1, 0.7, 1, 1.5)))
        counts = {"kept": kept, "moved": moved, "relabelled": rel, "deleted": dele,
                  "added": added}  # fmt: skip
        if k % 10 == 0:  # drawn from scratch: no pre-label, no diff
            diff, counts = None, {"added": kept + added}
        else:
            diff = {"counts": counts}
        n_boxes = kept + moved + rel + added
        box = {"xyxy": [0, 0, 5, 5], "class_id": 0, "source": "human"}
        seconds = PLANTED["image_s"] + sum(
            PLANTED[a] * counts.get(c, 0) for a, c in zip(ACTIONS[1:], DIFF_KEYS, strict=True)
        )
        ws.store.add_annotation(
            img.id, f"t:{img.id}", "1", [box] * (n_boxes if diff else counts["added"]),
            annotator="ann", lead_time=seconds, diff=diff,
        )  # fmt: skip


@pytest.fixture
def ws(tmp_path):
    data = tiny_dataset(tmp_path / "data", n_images=90)
    with tiny_workspace(tmp_path / "ws", data) as ws:
        yield ws


def test_few_annotations_keep_the_defaults_and_the_command_says_why(ws, capsys):
    _record(ws, MIN_ANNOTATIONS - 1, np.random.default_rng(0))
    assert workspace_cost_model(ws) == CostModel()
    assert main(["cost", "fit", "-w", str(ws.root)]) == 2
    err = capsys.readouterr().err
    assert f"{MIN_ANNOTATIONS - 1} annotations" in err and "label more" in err
    assert ws.store.get(FIT_KEY) is None


def test_fit_from_the_store_recovers_the_planted_seconds(ws, capsys):
    _record(ws, 90, np.random.default_rng(1))
    counts, seconds = annotation_log(ws)
    assert counts.shape == (90, 6) and (seconds > 0).all()
    model = workspace_cost_model(ws)  # what the loop's selection prices with
    for action, planted in PLANTED.items():
        assert getattr(model, action) == pytest.approx(planted, rel=0.10), action
    assert main(["cost", "fit", "-w", str(ws.root), "--json", "--bootstrap", "50"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["n_annotations"] == 90
    assert printed["seconds"]["draw_s"] == pytest.approx(PLANTED["draw_s"], rel=0.10)
    assert ws.store.get(FIT_KEY) == printed  # kept in the workspace
