"""What a new user sees walking the README: a round without Label Studio says where its tasks
wait, status counts the gold set's annotations and a first annotator-minute, and piping a
command into ``head`` is not reported as a bug."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

from hitl_active.cli import main


def _pool(tmp_path):
    images, labels = tmp_path / "pool" / "images", tmp_path / "pool" / "labels"
    images.mkdir(parents=True)
    labels.mkdir()
    for i in range(6):
        Image.new("RGB", (64, 48), (40 * i, 0, 0)).save(images / f"{i}.jpg")
        (labels / f"{i}.txt").write_text("0 0.5 0.5 0.25 0.25\n")
    return images, labels


def _workspace(tmp_path, capsys, monkeypatch) -> tuple[str, object]:
    """A workspace over the pool with no Label Studio in sight; (its folder, the labels)."""
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    images, labels = _pool(tmp_path)
    ws = str(tmp_path / "ws")
    assert main(["init", ws, "--images", str(images), "--classes", "a,b", "--gold-size", "2"]) == 0
    capsys.readouterr()
    return ws, labels


def test_round_without_label_studio_says_how_its_tasks_get_answered(tmp_path, capsys, monkeypatch):
    ws, labels = _workspace(tmp_path, capsys, monkeypatch)

    assert main(["-q", "round", "-w", ws]) == 0
    out = capsys.readouterr().out
    assert "round 1: 2 images selected; their tasks wait in" in out and "pushed" not in out
    assert "no Label Studio" in out and f"hitl-active loop -w {ws} --simulate-labels DIR" in out

    assert main(["status", "-w", ws]) == 0
    out = capsys.readouterr().out
    assert "labelled:       0 images (gold set: 0 of 2)" in out
    assert "annotator time: 0.00 h\n" in out

    # the simulated annotator answers the gold round: status shows it though no pool image
    # is labelled yet, and a few annotator-seconds do not read as 0.00 h
    assert main(["-q", "loop", "-w", ws, "--rounds", "1", "--simulate-labels", str(labels)]) == 0
    assert main(["status", "-w", ws]) == 0
    out = capsys.readouterr().out
    assert "labelled:       0 images (gold set: 2 of 2)" in out
    assert "pending tasks:  0" in out
    hours = next(line for line in out.splitlines() if line.startswith("annotator time:"))
    assert hours.endswith(" min)") and not hours.endswith("(0.0 min)"), hours


def test_status_counts_a_gold_set_labelled_from_files(tmp_path, capsys):
    images, labels = _pool(tmp_path)
    ws = str(tmp_path / "ws")
    init = ["init", ws, "--images", str(images), "--classes", "a,b", "--gold-size", "3"]
    assert main([*init, "--gold-labels", str(labels)]) == 0
    capsys.readouterr()
    assert main(["status", "-w", ws]) == 0
    assert "labelled:       0 images (gold set: 3 of 3)" in capsys.readouterr().out


def test_a_closed_pipe_is_not_reported_as_a_bug():
    code = "import sys; from hitl_active.cli import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "strategies"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader leaves before the first line, as `| head -0` would
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "bug" not in err and "Broken pipe" not in err, err


def test_loop_models_and_strategies_speak_json(tmp_path, capsys, monkeypatch):
    import json

    ws, labels = _workspace(tmp_path, capsys, monkeypatch)
    loop = ["-q", "loop", "-w", ws, "--rounds", "1", "--simulate-labels", str(labels), "--json"]
    assert main(loop) == 0
    (line,) = capsys.readouterr().out.splitlines()  # one JSON object per finished round
    row = json.loads(line)
    assert row["round_id"] == 1 and row["pending"] == 0
    assert main(["models", "-w", ws, "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)
    assert main(["strategies", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["default"] in doc["strategies"]
