"""``hitl-active demo`` end to end, at smoke-test size (the default size is timed in CI)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


# Every line the demo prints on standard output, and nothing else (no third-party banner).
DEMO_LINES = [
    r"demo: \d+ pool images, \d+ gold images, .*",
    r"round +labelled +annot-h +mAP50-95 +mAP50 +model +promoted",
    r"-+",
    r" *\d+ +\d+ +[\d.]+ +[\d.]+ +[\d.]+ +v\d{4} +(yes|no)",
    r"",
    r"exported \d+ images / \d+ boxes \(.*\) to .*",
    r"learning curve: .*\.png",
    r"report: .*\.html",
    r"demo finished in \d+ s",
]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "hitl_active", *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def fresh_machine(tmp_path: Path) -> dict[str, str]:
    """The environment of a user on whose machine nothing ever ran: empty home and caches."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLO_", "XDG_", "MPL"))}
    return dict(env, HOME=str(home), YOLO_OFFLINE="1")


def test_demo_runs_rounds_prints_a_table_and_leaves_outputs(tmp_path):
    ws = tmp_path / "demo"
    fresh = fresh_machine(tmp_path)
    args = ["demo", "--workspace", str(ws), "--images", "40", "--rounds", "2",
            "--round-size", "6", "--epochs", "1", "--imgsz", "64"]  # fmt: skip
    res = run_cli(*args, env=fresh)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.splitlines()
    strange = [ln for ln in lines if not any(re.fullmatch(p, ln) for p in DEMO_LINES)]
    assert not strange, f"stdout holds lines that are not the demo's: {strange}"
    # Ultralytics kept its settings in hitl-active's cache, not in the user's config folder
    assert not (Path(fresh["HOME"]) / ".config" / "Ultralytics").exists()
    assert list((Path(fresh["HOME"]) / ".cache" / "hitl-active").rglob("settings.json"))
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["round", "labelled"])
    rows = [line.split() for line in lines[header + 2 : header + 4]]
    assert [r[0] for r in rows] == ["1", "2"]
    assert [int(r[1]) for r in rows] == [6, 12]
    assert float(rows[1][2]) > float(rows[0][2]) > 0  # annotator-hours grow
    assert [r[5] for r in rows] == ["v0001", "v0002"]
    assert (ws / "reports" / "learning_curve.png").stat().st_size > 5000
    assert (ws / "reports" / "report.html").is_file()
    card = json.loads((ws / "export" / "dataset_card.json").read_text())
    assert card["images"] == 40 and card["rounds"] == 2
    assert len(list((ws / "export" / "labels").glob("*.txt"))) == 40

    # a second run resumes: nothing is redone, the table is printed again
    again = run_cli(*args, env=dict(os.environ, YOLO_OFFLINE="1"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "training" not in again.stderr

    # the workspace commands work on what the demo left
    wsd = str(ws / "workspace")
    status = run_cli("status", "-w", wsd, "--json")
    assert status.returncode == 0, status.stderr[-2000:]
    st = json.loads(status.stdout)
    assert (st["round_id"], st["round_step"], st["labelled"], st["pending_tasks"]) == (
        2,
        "done",
        12,
        0,
    )
    models = run_cli("models", "list", "-w", wsd)
    assert models.returncode == 0 and "v0002" in models.stdout
    out = tmp_path / "voc"
    exported = run_cli("export", "--format", "voc", "-w", wsd, "--out", str(out), "--human-only")
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert len(list((out / "Annotations").glob("*.xml"))) == 12 + 8  # labelled + gold
    again = run_cli("export", "--format", "voc", "-w", wsd, "--out", str(out))
    assert again.returncode == 2 and "not empty" in again.stderr


def test_json_output_is_json_alone_on_a_fresh_machine(tmp_path):
    """`status --json` and `round --json` print one JSON document, with Ultralytics' config
    folder empty (as on a machine where it never ran) and with it unset."""
    ws = tmp_path / "demo"
    fresh = fresh_machine(tmp_path)
    args = ["demo", "--workspace", str(ws), "--images", "30", "--rounds", "1",
            "--round-size", "5", "--epochs", "1", "--imgsz", "64"]  # fmt: skip
    assert run_cli(*args, env=fresh).returncode == 0
    wsd = str(ws / "workspace")
    empty = tmp_path / "yolo-config"
    empty.mkdir()
    for env in (fresh, dict(fresh, YOLO_CONFIG_DIR=str(empty))):
        status = run_cli("status", "-w", wsd, "--json", env=env)
        assert status.returncode == 0, status.stderr[-2000:]
        assert json.loads(status.stdout)["round_step"] in ("done", "selected", "pushed")
    pushed = run_cli("round", "-w", wsd, "--json", env=dict(fresh, YOLO_CONFIG_DIR=str(empty)))
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    row = json.loads(pushed.stdout)
    assert (row["round"], row["selected"]) == (2, 5)
    assert "--simulate-labels" in row["next"]  # no Label Studio: how the tasks get answered
    status = json.loads(run_cli("status", "-w", wsd, "--json", env=fresh).stdout)
    assert (status["round_id"], status["pending_tasks"]) == (2, 5)
