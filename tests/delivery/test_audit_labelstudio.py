"""``hitl-active audit`` end to end against a real Label Studio: plan, review, estimate, card."""

from __future__ import annotations

import json
import uuid

import pytest

from hitl_active.cli import main
from hitl_active.delivery import export_dataset
from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.workspace.workspace import Workspace
from tests.loop.loop_helpers import tiny_dataset, tiny_workspace

pytestmark = pytest.mark.labelstudio


def test_an_audit_goes_to_reviewers_and_its_estimate_reaches_the_dataset_card(
    label_studio, tmp_path, capsys
):
    data = tiny_dataset(label_studio.images_dir / f"audit-{uuid.uuid4().hex[:6]}", n_images=16)
    tiny_workspace(tmp_path / "ws", data, gold_size=6).close()  # six delivered, verified images
    ls = ["--label-studio", label_studio.url, "--token", label_studio.token,
          "--files-root", str(label_studio.files_root)]  # fmt: skip
    argv = ["audit", "-w", str(tmp_path / "ws"), "--json", *ls]
    assert main(argv) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["result"] is None and status["reviewed"] == 0
    assert status["population"]["verified"] == 6 and status["review_images"] == 6

    with LabelStudioClient(label_studio.url, label_studio.token) as client:
        tasks = list(client.iter_tasks(status["project"]))
        assert len(tasks) == 6  # one task per image to review, pre-labelled with the delivery
        tasks.sort(key=lambda t: t["id"])
        for i, task in enumerate(tasks):
            result = [dict(r) for r in task["predictions"][0]["result"]]
            for r in result:
                r.pop("score", None)
            if i == 0:
                result = result[1:]  # a delivered box that is wrong: the reviewer deletes it
            if i == 1:
                missed = dict(result[0], id="missed")  # an object the delivery has no box for
                missed["value"] = dict(result[0]["value"], x=1.0, y=1.0, width=4.0, height=4.0)
                result.append(missed)
            client.request("POST", f"/api/tasks/{task['id']}/annotations",
                           json={"result": result, "lead_time": 5.0})  # fmt: skip
    assert main(argv) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["reviewed"] == 6 and status["project"] is not None
    precision = status["result"]["precision"]["human"]
    recall = status["result"]["recall"]["verified"]
    assert precision["inspected"] >= 1 and recall["images"] == 6
    # the deleted box is the one wrong box, when sampled; the drawn one the one missed object
    assert precision["inspected"] - precision["confirmed"] in (0, 1)
    assert recall["inspected"] - recall["confirmed"] == 1
    assert precision["low"] <= precision["estimate"] <= precision["high"]

    with Workspace.open(tmp_path / "ws") as ws:
        out = export_dataset(ws, tmp_path / "delivery")
    card = (out.out_dir / "DATASET_CARD.md").read_text()
    assert "## Measured quality" in card and "| precision | human |" in card
    assert (
        json.loads((out.out_dir / "dataset_card.json").read_text())["audit"]["reviewed_images"] == 6
    )
