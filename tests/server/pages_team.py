"""A simulated team written into a real workspace store, for the people's pages.

Four annotators with planted skills (one of them weak, so a flag is raised) and one trainee
answer three rounds: gold images served as honeypots, pool tasks, and (all but the trainee)
one overlapped image a round, each answer recorded as Label Studio's sink records it
(assignment with its task id, annotation by the annotator's e-mail with its lead time and
times). The trainee has graded
practice, a practice set waiting with the curriculum's reasons, and peers left tips. Every
person gets a page key. Used by ``tests/server/test_pages.py``, the browser test and
``scripts/page_screenshots.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from hitl_active.bench.annotator_bench import gold_truths, planted_team
from hitl_active.bench.simulated_annotator import SimulatedAnnotator
from hitl_active.bench.team_store import email_of
from hitl_active.data.synthetic import SyntheticDataset
from hitl_active.formats.core import ImageLabels
from hitl_active.server.pages.keys import hash_page_key, new_page_key
from hitl_active.store import schema as t
from hitl_active.store.rows import labels_to_boxes
from hitl_active.workspace.workspace import LoopConfig, Workspace

__all__ = ["PROJECT", "TeamSite", "build_team"]

PROJECT = 1  # the Label Studio project the simulated tasks are said to live in
PRACTICE_PROJECT = 2
PEOPLE = ("amina", "bashir", "chen", "dalia")
TRAINEE = "efua"
GOLD_PER_ROUND = 10
TASKS_PER_ROUND = 4
ROUNDS = 3
# Paid per task, practice and skips by the hour; a floor the slowest people fall below.
PAY = {"kind": "per_task", "rate": 0.12, "currency": "EUR", "time_rate": 6.0}
FLOORS = (
    "location,currency,hourly,source,date\nnairobi,EUR,8.5,example living-wage table,2026-01-01\n"
)
CAPS = {"hours_per_day": 0.4, "hours_per_week": 40}


def evening_zone(now: datetime) -> str:
    """A fixed-offset zone where ``now`` is about 18:00, so "today" holds most of a day's
    work whenever the suite runs (just after midnight UTC nobody would have reached the
    daily cap yet, and the pages' checks of a capped person would have nobody to check)."""
    offset = (18 - now.astimezone(timezone.utc).hour + 12) % 24 - 12  # -12..11 hours
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-5 is UTC+5


@dataclass
class TeamSite:
    ws: Path
    people: list[str]
    trainee: str
    keys: dict[str, str]  # name -> page key
    gold_images: list[str]  # file names of the gold images
    honeypot_tasks: list[int] = field(default_factory=list)  # their Label Studio task ids


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="microseconds")


class _Clock:
    """Each person's working time: tasks one after another with a short pause between."""

    def __init__(self, start: datetime) -> None:
        self.at: dict[str, datetime] = {}
        self.start = start

    def work(self, who: str, seconds: float) -> datetime:
        """When a task of ``seconds`` that ``who`` starts next is submitted."""
        end = self.at.get(who, self.start) + timedelta(seconds=25 + seconds)
        self.at[who] = end
        return end


def _team(rng: np.random.Generator, n_classes: int) -> list[SimulatedAnnotator]:
    found = planted_team(rng, len(PEOPLE) + 1, n_classes)
    team = [SimulatedAnnotator(name, a.profile) for name, a in zip(PEOPLE, found, strict=False)]
    weak = dataclasses.replace(team[-1].profile, recall=np.full(n_classes, 0.35))
    team[-1] = SimulatedAnnotator(team[-1].name, weak)
    good = dataclasses.replace(found[-1].profile, recall=np.full(n_classes, 0.9))
    return [*team, SimulatedAnnotator(TRAINEE, good)]


def build_team(root: Path, seed: int = 7, now: datetime | None = None) -> TeamSite:
    """Write the simulated team into a new workspace under ``root``; the work happens over
    the three days up to ``now`` (default: the current time)."""
    now = now or datetime.now(timezone.utc)
    n_gold = GOLD_PER_ROUND * ROUNDS
    n_pool = (len(PEOPLE) + 1) * TASKS_PER_ROUND * ROUNDS + ROUNDS
    truths, n_classes = gold_truths(seed, n_gold + n_pool, root / "data")
    data = SyntheticDataset.load(root / "data" / f"gold-{seed}")
    rng = np.random.default_rng(seed)
    team = _team(rng, n_classes)
    work = {"pay": {"default": PAY}, "floors": "floors.csv", "caps": CAPS,
            "timezone": evening_zone(now)}  # fmt: skip
    config = LoopConfig(images=str(data.images_dir), classes=data.class_names, seed=seed,
                        work=work)  # fmt: skip
    site = TeamSite(root / "ws", list(PEOPLE), TRAINEE, {}, [])
    with Workspace.create(site.ws, config) as ws:
        (site.ws / "floors.csv").write_text(FLOORS)
        store = ws.store
        rows = {Path(img.path).name: img for img in store.images()}
        items = [(rows[Path(t.image).name], t) for t in truths]
        gold, pool = items[:n_gold], items[n_gold:]
        for img, truth in gold:
            store.set_gold_labels(img.id, labels_to_boxes(truth), source="synthetic")
            site.gold_images.append(Path(img.path).name)
        people = {}
        for person in team:
            tier = "trainee" if person.name == TRAINEE else "annotator"
            people[person.name] = store.add_annotator(
                person.name, email=email_of(person.name), tier=tier, location="nairobi"
            )
        task_id = 100
        for r in range(ROUNDS):
            rid = store.start_round(None).id
            clock = _Clock(now - timedelta(days=ROUNDS - 1 - r, hours=3))
            served = gold[r * GOLD_PER_ROUND : (r + 1) * GOLD_PER_ROUND]
            overlap = pool[r]
            for k, person in enumerate(team):
                start = ROUNDS + (r * len(team) + k) * TASKS_PER_ROUND
                mine = [(img, t, "task") for img, t in pool[start : start + TASKS_PER_ROUND]]
                mine += [(img, t, "honeypot") for img, t in served]  # the trainee's too
                if person.name != TRAINEE:
                    mine.append((*overlap, "overlap"))
                order = rng.permutation(len(mine))
                for i in order:
                    img, truth, kind = mine[int(i)]
                    task_id += 1
                    truth = ImageLabels(img.path, img.width, img.height, truth.xyxy, truth.class_id)
                    answer = person.annotate(truth, rng)
                    end = clock.work(person.name, answer.seconds)
                    who = people[person.name]
                    store.add_assignment(rid, img.id, who.id, kind, PROJECT, task_id)
                    store.add_annotation(
                        img.id, f"{PROJECT}:{task_id}", "1",
                        labels_to_boxes(answer.labels, source="human"), source="labelstudio",
                        ls_task_id=task_id, annotator=who.email, lead_time=answer.seconds,
                        updated_at=_iso(end), created_at=_iso(end),
                    )  # fmt: skip
                    if kind == "honeypot":
                        site.honeypot_tasks.append(task_id)
            store.set_round_step(rid, "done")
            _version(store, f"v{r + 1:04d}", 0.3 + 0.08 * r + 0.02 * r * r, max(clock.at.values()))
        _practice(ws, people[TRAINEE].id, people)
        for name, row in people.items():
            key = new_page_key()
            store.update_annotator(row.id, page_key_hash=hash_page_key(key))
            site.keys[name] = key
    return site


def _version(store, name: str, gold_map: float, at: datetime) -> None:
    """A model version evaluated on gold, trained when the round's work ended (for the ROI)."""
    store.add_model_version(name, None, status="promoted")
    store.update_model_version(name, metrics={"gold": {"map50_95": gold_map}})
    with store.transaction() as c:
        mv = t.model_versions
        c.execute(sa.update(mv).where(mv.c.name == name).values(created_at=at.timestamp() + 60))


def _practice(ws: Workspace, trainee: int, people: dict) -> None:
    """Graded practice that goes from mostly wrong to mostly right, then a waiting set."""
    store = ws.store
    skills = ("recall:circle", "recall:square", "box_tightness")
    kinds = {"recall:circle": "draw_one", "recall:square": "find_all",
             "box_tightness": "fix_boxes"}  # fmt: skip
    for i in range(18):
        skill = skills[i % 3]
        reason = (
            f"{skill} is your weakest open skill (mastery {0.3 + i / 40:.2f}); "
            f"{kinds[skill]} tasks build it; predicted success {0.6 + i / 100:.2f}"
        )
        key = f"{kinds[skill]}:sim:{i}"
        store.add_practice(trainee, key, kinds[skill], [skill], None, PRACTICE_PROJECT, 500 + i,
                           reason)  # fmt: skip
    for row in store.practice(trainee)[:15]:
        right = row.id % 5 != 0 if row.id > 6 else row.id % 2 == 0
        store.grade_practice(row.id, 80.0 + row.id, {row.skills[0]: right}, {"feedback": []})
    store.add_peer_tip(people["amina"].id, "recall:circle", "draw_one",
                       "drawing one object at a time taught me to check the edges")  # fmt: skip
    store.add_peer_tip(people["chen"].id, "box_tightness", "fix_boxes", "zoom in before fixing")
