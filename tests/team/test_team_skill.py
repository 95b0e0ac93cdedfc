"""The team's figures read from a real workspace store filled as the Label Studio sink fills it:
three annotators of planted quality answer honeypots (gold images with known truth), two of
them share an overlapped task, and one contests gold items."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from hitl_active.bench.simulated_annotator import AnnotatorProfile, SimulatedAnnotator
from hitl_active.bench.team_store import TeamWriter, email_of
from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels
from hitl_active.loop.steps import gold_truths
from hitl_active.store.rows import labels_to_boxes
from hitl_active.team.team_skill import (
    annotator_view,
    answers_from_store,
    routing_skill,
    team_skills,
)
from hitl_active.workforce.gold import ALL
from hitl_active.workspace.workspace import LoopConfig, Workspace

CLASSES = ["cat", "dog", "owl"]
PLANTED = {"annie": 0.95, "bruno": 0.7, "chidi": 0.4}
N_GOLD = 40


def truth(name: str, rng: np.random.Generator) -> ImageLabels:
    """1–4 well-separated boxes on a 300 × 200 frame."""
    cells = rng.choice(6, int(rng.integers(1, 5)), replace=False)
    xyxy = np.array([[100 * (c % 3) + 10, 100 * (c // 3) + 10, 100 * (c % 3) + 80,
                      100 * (c // 3) + 85] for c in cells], np.float64)  # fmt: skip
    return ImageLabels(name, 300, 200, xyxy, rng.integers(0, len(CLASSES), len(cells)))


def team() -> list[SimulatedAnnotator]:
    n = len(CLASSES)
    return [
        SimulatedAnnotator(name, AnnotatorProfile.uniform(n, r, 0.95, fp_rate=0.1, box_noise=0.02))
        for name, r in PLANTED.items()
    ]


@pytest.fixture
def ws(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(3):
        Image.new("RGB", (300, 200)).save(pool / f"p{i}.png")
    ws = Workspace.create(tmp_path / "ws", LoopConfig(images=str(pool), classes=CLASSES))
    store, rng = ws.store, np.random.default_rng(7)
    rows = [(str(tmp_path / f"frame-g{i:03d}.png"), 300, 200, None, "gold") for i in range(N_GOLD)]
    store.add_images([*rows, (str(tmp_path / "frame-unlabelled.png"), 300, 200, None, "gold")])
    gold = []
    for img in store.images("gold")[:N_GOLD]:
        t = truth(img.path, rng)
        store.set_gold_labels(img.id, labels_to_boxes(t), source="test")
        gold.append((img, t))
    writer = TeamWriter(store, store.start_round(None).id)
    writer.answer_all(team(), gold, "honeypot", rng)
    # a gold image without imported labels, answered only as a honeypot: never truth
    unlabelled = store.images("gold")[N_GOLD]
    writer.answer_all(team(), [(unlabelled, truth(unlabelled.path, rng))], "honeypot", rng)
    # one pool image given to two annotators (overlap), and a newcomer with no work yet
    shared = store.images("pool")[0]
    writer.answer_all(team()[:2], [(shared, truth(shared.path, rng))], "overlap", rng)
    writer.annotator("dara", tier="trainee")
    yield ws
    ws.close()


def test_recall_follows_the_planted_quality_per_class_and_pooled(ws):
    skills = team_skills(ws)
    for c in [*range(len(CLASSES)), ALL]:
        got = [skills.gold[name].per_class[c].recall.value for name in PLANTED]
        assert got[0] > got[1] > got[2], (c, got)
    pooled = skills.gold["chidi"].overall.recall
    assert pooled.low <= 0.4 <= pooled.high  # the planted value inside the 90% interval
    flags = skills.flags_of("chidi")
    assert {f.kind for f in flags} == {"low_recall"}
    assert "recall of all classes" in [f.figure for f in flags]
    assert not skills.flags_of("annie")


def test_workload_counts_tasks_honeypots_and_hours(ws):
    skills = team_skills(ws)
    annie, dara = skills.people["annie"], skills.people["dara"]
    assert (annie.tasks, annie.honeypots) == (N_GOLD + 2, N_GOLD + 1)
    assert annie.hours > 0 and annie.tier == "annotator"
    assert (dara.tasks, dara.hours, dara.tier) == (0, 0.0, "trainee")
    # chidi shared only honeypots: agreement rests on overlapped client tasks, never on gold
    assert skills.people["chidi"].agreement is None


def test_answers_keep_order_name_image_path_and_the_pushed_prelabel(ws):
    answers = answers_from_store(ws)
    assert len(answers) == 3 * (N_GOLD + 1) + 2
    assert [a.annotator for a in answers[:3]] == list(PLANTED)  # image by image, as recorded
    gold_paths = {img.path for img in ws.store.images("gold")}
    assert answers[0].image in gold_paths and answers[0].prelabel is None
    # a round pushed with model v0001: its answers start from v0001's boxes above threshold
    store, img = ws.store, ws.store.images("pool")[1]
    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.1]], np.float32)
    dets = Detections.from_class_probs(np.array([[1, 1, 50, 50], [60, 60, 90, 90]]), probs)
    store.put_predictions("v0001", [(img.id, dets, None, 0.5)])
    writer = TeamWriter(store, store.start_round("v0001").id)
    writer.record(store.annotator("bruno"), img, truth(img.path, np.random.default_rng(1)), "task")
    last = answers_from_store(ws)[-1]
    assert last.annotator == "bruno" and last.image == img.path
    assert last.prelabel.class_id.tolist() == [0]  # the 0.1 box is below conf_threshold


def test_honeypot_answers_never_become_truth(ws):
    unlabelled = ws.store.images("gold")[N_GOLD].path
    assert unlabelled not in {img.path for img, _ in gold_truths(ws)}
    skills = team_skills(ws)
    assert {s.images for s in skills.gold.values()} == {N_GOLD}


def test_open_contests_leave_items_out_and_a_correction_replaces_the_gold(ws):
    store = ws.store
    chidi = store.annotator("chidi")
    contested = store.images("gold")[:5]
    ids = [store.add_contest(chidi.id, img.id, "the dog is a cat") for img in contested]
    before = team_skills(ws)
    assert before.gold["chidi"].images == N_GOLD - 5 and before.gold["annie"].images == N_GOLD
    assert ("chidi", contested[0].path) in before.contested
    objects = before.gold["annie"].overall.counts.objects
    store.review_contest(ids[0], "reviewer")  # upheld: counts again
    store.review_contest(ids[1], "reviewer", corrected=[])  # corrected: no objects at all
    after = team_skills(ws)
    assert after.gold["chidi"].images == N_GOLD - 3
    truths = {img.path: t for img, t in gold_truths(ws)}
    assert len(truths[contested[1].path]) == 0
    assert after.gold["annie"].overall.counts.objects < objects


def test_routing_skill_gives_recall_per_class_and_pooled_for_every_annotator(ws):
    skill = routing_skill(ws)
    assert set(skill) == {*PLANTED, "dara"}
    assert set(skill["annie"]) == {0, 1, 2, ALL}
    assert skill["annie"][ALL] > skill["bruno"][ALL] > skill["chidi"][ALL]
    assert set(skill["dara"].values()) == {None}  # no gold answered: not enough data


def test_an_annotator_sees_every_figure_about_them_and_nothing_else(ws):
    view = annotator_view(ws, email_of("chidi"))  # found by e-mail too
    text = json.dumps(view)
    assert view["annotator"] == "chidi" and view["tasks"] == N_GOLD + 1
    assert set(view["gold"]["per_class"]) == {*CLASSES, "all"}
    assert "recall of all classes" in [f["figure"] for f in view["flags"]]
    assert all(f["message"].startswith("chidi:") for f in view["flags"])
    for other in ("annie", "bruno", "dara"):
        assert other not in text
    assert "frame-" not in text and "honeypot" not in text and "images" not in view["gold"]
    # no count of gold objects: neither a figure's n nor a flag's "N items"
    gold_text = json.dumps([view["gold"], view["flags"]])
    assert '"n":' not in gold_text and not re.search(r"\d+ items", text)
    assert "need at least" not in text
    with pytest.raises(ValueError, match="no annotator 'nobody'"):
        annotator_view(ws, "nobody")


def test_skill_matrix_png_has_a_row_per_annotator_and_n_a_without_gold(ws, tmp_path):
    from PIL import Image as PILImage

    from hitl_active.reports.team_plot import recall_cells, skill_matrix_png

    skills = team_skills(ws)
    names, rows = recall_cells(skills, len(CLASSES))
    assert names == [*PLANTED, "dara"] and all(len(r) == len(CLASSES) + 1 for r in rows)
    assert rows[3] == [None] * 4 and rows[0][-1] is skills.gold["annie"].overall.recall
    png = skill_matrix_png(skills, CLASSES, tmp_path / "m" / "matrix.png")
    with PILImage.open(png) as im:
        assert im.format == "PNG" and im.width > im.height > 200


def test_the_report_has_a_team_section_with_the_matrix_and_flag_evidence(ws, tmp_path):
    from hitl_active.reports.report import write_report

    _, page = write_report(ws, tmp_path / "out")
    text = page.read_text(encoding="utf-8")
    assert "<h2>Team</h2>" in text and '<img src="skill_matrix.png"' in text
    assert (tmp_path / "out" / "skill_matrix.png").read_bytes()[:4] == b"\x89PNG"
    chidi = next(r for r in text.split("<tr>") if r.startswith("<td>chidi</td>"))
    assert "chidi: recall of all classes" in chidi and "Look at:" in chidi
    dara = next(r for r in text.split("<tr>") if r.startswith("<td>dara</td>"))
    assert "<td>n/a</td><td>n/a</td><td>none</td>" in dara


def test_no_team_section_without_annotators(tmp_path):
    from hitl_active.reports.report import write_report

    pool = tmp_path / "pool"
    pool.mkdir()
    Image.new("RGB", (64, 48)).save(pool / "a.png")
    with Workspace.create(tmp_path / "ws", LoopConfig(images=str(pool), classes=CLASSES)) as ws:
        _, page = write_report(ws, tmp_path / "out")
    assert "<h2>Team</h2>" not in page.read_text(encoding="utf-8")
    assert not (tmp_path / "out" / "skill_matrix.png").exists()
