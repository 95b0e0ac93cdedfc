"""``hitl-active annotators``: records, the team table, one person's view, the skill matrix and
gold contests, on a workspace whose store holds two annotators' honeypot answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from hitl_active.bench.simulated_annotator import AnnotatorProfile, SimulatedAnnotator
from hitl_active.bench.team_store import TeamWriter
from hitl_active.cli import main
from hitl_active.formats.core import ImageLabels
from hitl_active.store.rows import labels_to_boxes
from hitl_active.workspace.workspace import LoopConfig, Workspace

CLASSES = ["cat", "dog"]
N_GOLD = 25


@pytest.fixture
def ws(tmp_path):
    """The workspace folder: 25 gold images of two boxes, answered by ana (good) and ben."""
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(2):
        Image.new("RGB", (200, 100)).save(pool / f"p{i}.png")
    root = tmp_path / "ws"
    rng = np.random.default_rng(3)
    with Workspace.create(root, LoopConfig(images=str(pool), classes=CLASSES)) as ws:
        store = ws.store
        store.add_images([(str(tmp_path / f"gold-{i:02d}.png"), 200, 100, None, "gold")
                          for i in range(N_GOLD)])  # fmt: skip
        gold = []
        for img in store.images("gold"):
            xyxy = np.array([[10, 10, 80, 90], [110, 10, 190, 90]], np.float64)
            truth = ImageLabels(img.path, 200, 100, xyxy, rng.integers(0, 2, 2))
            store.set_gold_labels(img.id, labels_to_boxes(truth), source="test")
            gold.append((img, truth))
        team = [
            SimulatedAnnotator(n, AnnotatorProfile.uniform(2, r, 0.95, fp_rate=0.05))
            for n, r in (("ana", 0.95), ("ben", 0.6))
        ]
        TeamWriter(store, store.start_round(None).id).answer_all(team, gold, "honeypot", rng)
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["-q", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_set_then_the_table_and_its_json(ws, capsys):
    w = ["-w", str(ws)]
    code, out, _ = run(capsys, "annotators", "add", "cleo", "--email", "cleo@example.org",
                       "--tier", "trainee", "--notes", "started in May", *w)  # fmt: skip
    assert code == 0 and out.strip() == "annotator cleo (cleo@example.org), tier trainee"
    code, out, _ = run(capsys, "annotators", "set", "cleo@example.org", "--tier", "annotator",
                       "--languages", "sw,en", *w)  # fmt: skip
    assert code == 0 and out.strip() == "annotator cleo: languages sw,en, tier annotator"
    code, out, _ = run(capsys, "annotators", *w)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:6] == ["annotator", "tier", "tasks", "gold", "hours", "flags"]
    ana = next(line for line in lines if line.startswith("ana "))
    assert ana.split()[1:4] == ["annotator", str(N_GOLD), str(N_GOLD)]
    cleo = next(line for line in lines if line.startswith("cleo "))
    assert cleo.split()[1:3] == ["annotator", "0"] and cleo.split()[-2:] == ["n/a", "n/a"]
    assert "pairwise agreement" not in out  # only honeypots were shared: no overlap figure
    code, out, _ = run(capsys, "annotators", "--json", *w)
    doc = json.loads(out)
    assert doc["classes"] == CLASSES
    rows = {r["name"]: r for r in doc["annotators"]}
    assert set(rows) == {"ana", "ben", "cleo"} and rows["cleo"]["recall"]["all"] is None
    r_ana, r_ben = (rows[n]["recall"]["all"] for n in ("ana", "ben"))
    assert r_ana["low"] <= r_ana["value"] <= r_ana["high"] and r_ana["value"] > r_ben["value"]
    assert set(rows["ana"]["precision"]) == {"cat", "dog", "all"}


def test_set_active_and_client_work_keep_the_history_and_who_decided(ws, capsys):
    w = ["-w", str(ws)]
    code, out, _ = run(capsys, "annotators", "set", "ben", "--active", "no", *w)
    assert code == 0 and out.strip() == "annotator ben: active 0"
    code, out, _ = run(capsys, "annotators", "--json", *w)
    ben = next(r for r in json.loads(out)["annotators"] if r["name"] == "ben")
    assert ben["tasks"] == N_GOLD and ben["recall"]["all"] is not None  # his history stays
    run(capsys, "annotators", "add", "cleo", "--tier", "trainee", *w)
    code, out, _ = run(capsys, "annotators", "set", "cleo", "--client-work", "yes", "--by",
                       "mia", *w)  # fmt: skip
    assert code == 0 and out.strip() == "annotator cleo: client_work 1, client_work_by mia"
    run(capsys, "annotators", "set", "ben", "--active", "yes", *w)
    with Workspace.open(ws) as opened:
        cleo, ben = opened.store.annotator("cleo"), opened.store.annotator("ben")
    assert cleo.client_work_by == "mia" and cleo.client_work_at is not None and cleo.routed
    assert ben.active == 1 and ben.routed


def test_show_gives_one_person_their_figures_only(ws, capsys):
    code, out, _ = run(capsys, "annotators", "show", "ben", "-w", str(ws))
    assert code == 0
    view = json.loads(out)
    assert view["annotator"] == "ben" and view["tasks"] == N_GOLD
    recall = view["gold"]["per_class"]["all"]["recall"]
    assert recall["low"] <= recall["value"] <= recall["high"]
    assert "n" not in recall  # their own view never counts the gold objects it rests on
    assert "ana" not in out and "gold-" not in out


def test_matrix_writes_the_png(ws, capsys, tmp_path):
    code, out, _ = run(
        capsys, "annotators", "matrix", "-w", str(ws), "--out", str(tmp_path / "m.png")
    )
    assert code == 0 and out.strip() == str(tmp_path / "m.png")
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_contest_leaves_the_item_out_until_reviewed_and_a_correction_replaces_gold(
    ws, capsys, tmp_path
):
    w = ["-w", str(ws)]
    code, out, _ = run(capsys, "annotators", "contest", "ben", "gold-03.png", "--reason",
                       "the left one is a dog", *w)  # fmt: skip
    assert code == 0 and out.startswith("contest 1: ben on gold-03.png")
    _, out, _ = run(capsys, "annotators", "--json", *w)  # the manager's figures keep counts
    ben = next(r for r in json.loads(out)["annotators"] if r["name"] == "ben")
    assert ben["recall"]["all"]["n"] == 2 * (N_GOLD - 1)
    code, out, _ = run(capsys, "annotators", "contests", "--json", *w)
    assert [(c["id"], c["annotator"], c["status"]) for c in json.loads(out)] == [(1, "ben", "open")]
    code, out, _ = run(capsys, "annotators", "review", "1", "--reviewer", "rita", *w)
    assert code == 0 and out.strip() == "contest 1: upheld by rita"
    _, out, _ = run(capsys, "annotators", "--json", *w)
    ben = next(r for r in json.loads(out)["annotators"] if r["name"] == "ben")
    assert ben["recall"]["all"]["n"] == 2 * N_GOLD  # upheld: the item counts again
    # a second contest, corrected: the one box given replaces the gold image's two
    run(capsys, "annotators", "contest", "ana", "gold-04.png", "--reason", "one object", *w)
    fix = tmp_path / "fix.json"
    fix.write_text(json.dumps([{"xyxy": [10, 10, 80, 90], "class": "dog"}]))
    code, out, _ = run(capsys, "annotators", "review", "2", "--reviewer", "rita",
                       "--corrected", str(fix), *w)  # fmt: skip
    assert code == 0 and "corrected (1 boxes replace the gold)" in out
    with Workspace.open(ws) as opened:
        img = next(i for i in opened.store.images("gold") if i.path.endswith("gold-04.png"))
        boxes = opened.store.gold_labels()[img.id]
    assert [(b["xyxy"], b["class_id"]) for b in boxes] == [([10.0, 10.0, 80.0, 90.0], 1)]
    code, out, _ = run(capsys, "annotators", "contests", *w)
    assert "corrected" in out and "upheld" in out and "the left one is a dog" in out


BAD = [
    (["add", "ana"], "annotator 'ana' exists already"),
    (["set", "nobody", "--tier", "trainee"], "no annotator 'nobody'"),
    (["set", "ana"], "nothing to set"),
    (["show", "nobody"], "no annotator 'nobody'"),
    (["contest", "ana", "p0.png", "--reason", "x"], "no image 'p0.png'"),
    (["contest", "ana", "POOL", "--reason", "x"], "is not a gold item"),
    (["contest", "ana", "gold-01.png", "--reason", " "], "reason is empty"),
    (["review", "9", "--reviewer", "rita"], "no gold contest 9"),
    (["review", "1", "--reviewer", "rita", "--corrected", "BADJSON"], "box 0: needs 'class_id'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_input_is_one_line_and_exit_2(ws, capsys, tmp_path, argv, message):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"xyxy": [1, 1, 5, 5], "class_id": 7}]))
    pool = str(tmp_path / "pool" / "p0.png")
    argv = [{"POOL": pool, "BADJSON": str(bad)}.get(a, a) for a in argv]
    run(capsys, "annotators", "contest", "ana", "gold-02.png", "--reason", "x", "-w", str(ws))
    code, _, err = run(capsys, "annotators", *argv, "-w", str(ws))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert message in err


def test_no_workspace_and_no_annotators_are_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, "annotators", "-w", str(tmp_path / "none"))
    assert code == 2 and "not a hitl-active workspace" in err
    pool = tmp_path / "pool"
    pool.mkdir()
    Image.new("RGB", (20, 20)).save(pool / "a.png")
    Workspace.create(tmp_path / "ws", LoopConfig(images=str(pool), classes=CLASSES)).close()
    code, _, err = run(capsys, "annotators", "matrix", "-w", str(tmp_path / "ws"))
    assert code == 2 and "no annotators yet" in err
