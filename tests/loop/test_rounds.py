"""The round state machine: order of steps, resume after a crash, gold first, policies.

The heavy steps (engine, training, evaluation) are replaced by fakes here; the real ones
run in test_e2e_labelstudio.py, test_faults.py and test_demo.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hitl_active.formats import ImageLabels
from hitl_active.loop import rounds as rounds_mod
from hitl_active.loop import steps
from hitl_active.loop.backends import LocalBackend
from hitl_active.loop.policy import EveryNAnnotations, EveryRound, LoopState, OnDemand
from hitl_active.loop.rounds import Loop
from hitl_active.sampling.cost import CorrectionCost
from hitl_active.workspace.workspace import LoopConfig, Workspace


class Oracle:
    """Answers every task with one box, 10 s each; counts calls."""

    def __init__(self) -> None:
        self.calls = 0

    def annotate(self, key, prelabels):
        self.calls += 1
        return ImageLabels(key, 64, 48, np.array([[1, 1, 20, 20]]), np.array([0])), CorrectionCost(
            10.0, 1
        )


@pytest.fixture
def ws(tmp_path, db_url):  # the state on SQLite and on PostgreSQL
    d = tmp_path / "images"
    d.mkdir()
    for i in range(30):
        Image.new("RGB", (64, 48), (i, i, i)).save(d / f"{i:03d}.jpg")
    cfg = LoopConfig(
        images=str(d), classes=["a", "b"], round_size=5, gold_size=4, database_url=db_url
    )
    ws = Workspace.create(tmp_path / "ws", cfg)
    assert ws.freeze_gold(np.random.default_rng(0)) == 4  # labelled by the first round
    yield ws
    ws.close()


@pytest.fixture
def fake_heavy(monkeypatch):
    """Training makes a version whose gold score is given by a list; no engine needed."""
    scores = iter([0.2, 0.1, 0.3, 0.4])
    trained = []

    def train_version(ws, registry, parent):
        name = registry.begin_version(None if parent is None else parent.name)
        w = registry.version_dir(name) / "w.pt"
        w.write_bytes(b"w")
        snap = {"images": [e for _, _, e in steps.training_items(ws)]}
        trained.append(name)
        return registry.finish_version(
            name, w, None, snap, {"labelled_images": len(snap["images"])}
        )

    def evaluate_version(ws, registry, version, progress=False):
        m = {"map50_95": next(scores), "map50": 0.5}
        registry.set_metrics(version.name, {"gold": m})
        return m

    monkeypatch.setattr(steps, "train_version", train_version)
    monkeypatch.setattr(steps, "evaluate_version", evaluate_version)
    monkeypatch.setattr(steps, "prelabel", lambda *a, **k: 0)
    monkeypatch.setattr(
        steps, "select_images",
        lambda ws, rid, v, cands: [(c.id, 1.0, 5.0) for c in cands[: ws.config.round_size]],
    )  # fmt: skip
    return trained


def test_the_gold_sample_is_labelled_first_then_rounds_train_and_promote(ws, fake_heavy):
    oracle = Oracle()
    loop = Loop(ws, LocalBackend(oracle), EveryRound())
    first = loop.run_round()
    assert first.model_version is None and not first.promoted  # gold round: nothing to train
    assert ws.store.round(1).info["kind"] == "gold" and oracle.calls == 4
    second = loop.run_round()
    assert (second.model_version, second.promoted, second.labelled) == ("v0001", True, 5)
    third = loop.run_round()
    assert (third.model_version, third.promoted) == ("v0002", False)  # 0.1 < 0.2
    assert loop.registry.current().name == "v0001"
    fourth = loop.run_round()
    assert fourth.promoted and loop.registry.current().name == "v0003"
    assert fourth.labelled == 15 and fourth.annotator_hours == pytest.approx(19 * 10 / 3600)
    assert oracle.calls == 19  # every image annotated exactly once
    gold = {img.id for img in ws.store.images("gold")}
    trained = ws.store.model_version("v0003").snapshot["images"]
    assert not gold & {e["id"] for e in trained}  # gold never trained on


def test_a_crash_in_any_step_resumes_without_redoing_earlier_steps(ws, fake_heavy, monkeypatch):
    oracle = Oracle()
    loop = Loop(ws, LocalBackend(oracle))
    loop.run_round()  # gold round
    real_train = steps.train_version

    def crash(*a, **k):
        raise RuntimeError("killed during training")

    monkeypatch.setattr(steps, "train_version", crash)
    with pytest.raises(RuntimeError):
        loop.run_round()
    row = ws.store.open_round()
    assert row.step == "annotated" and oracle.calls == 9
    monkeypatch.setattr(steps, "train_version", real_train)
    summary = Loop(ws, LocalBackend(oracle)).run_round()
    assert summary.round_id == row.id and summary.promoted
    assert oracle.calls == 9 and len(ws.store.tasks()) == 9
    assert len(ws.store.selection(row.id)) == 5


def test_round_until_pushed_is_idempotent(ws, fake_heavy):
    loop = Loop(ws, LocalBackend(None))
    a = loop.round_until_pushed()
    b = loop.round_until_pushed()
    assert a.id == b.id and b.step == "pushed" and len(ws.store.tasks()) == 4
    assert loop.run_round(wait_timeout_s=0) is None  # nobody answers: round stays open
    assert ws.store.open_round().step == "pushed"


def test_no_retrain_when_the_policy_says_no(ws, fake_heavy):
    loop = Loop(ws, LocalBackend(Oracle()), EveryNAnnotations(8))
    loop.run_round()
    s = loop.run_round()
    assert s.model_version is None and ws.store.round(s.round_id).info["retrained"] is False
    s = loop.run_round()
    assert s.model_version == "v0001"  # 10 new annotations >= 8


@pytest.mark.parametrize(
    ("policy", "state", "expected"),
    [
        (EveryRound(), LoopState(1, 5, 0, True), False),
        (EveryRound(), LoopState(1, 5, 1, True), True),
        (EveryNAnnotations(10), LoopState(1, 9, 9, True), False),
        (EveryNAnnotations(10), LoopState(1, 9, 9, True, requested=True), True),
        (OnDemand(), LoopState(1, 9, 9, True), False),
        (OnDemand(), LoopState(1, 9, 9, True, requested=True), True),
    ],
)
def test_policies(policy, state, expected):
    assert policy.should_retrain(state) is expected


def test_fault_hook_names_are_steps():
    assert "after_pushed" in {f"after_{s}" for s in rounds_mod.STEPS}


def test_status_and_report_after_rounds(ws, fake_heavy, tmp_path):
    from hitl_active.loop.status import loop_status
    from hitl_active.reports.report import learning_curve, write_report

    loop = Loop(ws, LocalBackend(Oracle()))
    for _ in range(3):
        loop.run_round()
    st = loop_status(ws)
    assert (st.round_id, st.round_step, st.labelled, st.pending_tasks) == (3, "done", 10, 0)
    assert st.model_version == "v0001" and st.map50_95 == 0.2 and st.versions == 2
    assert "v0001 (gold mAP50-95 0.2000" in st.format()
    points = learning_curve(ws)
    assert [(p.version, p.labelled, p.map50_95) for p in points] == [
        ("v0001", 5, 0.2),
        ("v0002", 10, 0.1),
    ]
    png, page = write_report(ws, tmp_path / "r")
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
    text = page.read_text()
    assert "learning_curve.png" in text and "<td>v0002</td>" in text and "rejected" in text


def test_a_crash_after_training_reuses_the_trained_candidate(ws, fake_heavy, monkeypatch):
    loop = Loop(ws, LocalBackend(Oracle()))
    loop.run_round()  # gold round
    real_train = steps.train_version

    def train_then_crash(*a, **k):
        real_train(*a, **k)
        raise RuntimeError("killed before the step was recorded")

    monkeypatch.setattr(steps, "train_version", train_then_crash)
    with pytest.raises(RuntimeError):
        loop.run_round()
    monkeypatch.setattr(steps, "train_version", real_train)
    summary = Loop(ws, LocalBackend(Oracle())).run_round()
    assert (summary.model_version, summary.promoted) == ("v0001", True)
    assert [v.name for v in ws.store.model_versions()] == ["v0001"] and fake_heavy == ["v0001"]
