"""Practice micro-tasks made from labelled images, each with its truth kept aside.

A :class:`PracticeTask` shows a trainee an image with some boxes pre-drawn (``shown``) and
asks for one small thing; the image's true labels (``truth``) stay hidden until the answer is
graded (:func:`hitl_active.workforce.grading.grade`). Task types and the skills they grade:

==================  =====================================================  ====================
type                what the trainee does                                   skills graded
==================  =====================================================  ====================
``verify``          accept or reject each shown box (some are wrong)        ``verify``
``fix_boxes``       tighten the shown boxes (truth boxes made loose)        ``box_tightness``
``choose_class``    pick the class of one boxed object from a pair          ``label:<a>|<b>``
``draw_one``        box the one object of a class not yet boxed             ``recall:<c>``
``find_all``        box every object of one class (nothing shown)           ``recall:<c>``
``small_objects``   box the small objects not yet boxed                     ``small_objects``
``crowded``         box every object of a crowded scene                     ``crowded``,
                                                                            ``box_tightness``
``confusable_pair`` box and label every object of a confusable pair         ``label:<a>|<b>``,
                                                                            ``box_tightness``
==================  =====================================================  ====================

Each skill a task grades rests on its own part of the answer (which boxes are kept, which
objects are found, how tight the found boxes are, which class they get), so one skill's
mistake never decides another's grade.

``difficulty`` lies in [0, 1]: a raw score (the model's uncertainty on the image when given,
otherwise how small and how many the objects are) ranked among the tasks of the same type,
so every type spans easy to hard.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from hitl_active.formats.core import ImageLabels
from hitl_active.i18n import N_

__all__ = [
    "PracticeTask",
    "TaskType",
    "label_skill",
    "make_practice_tasks",
    "recall_skill",
    "shrink_box",
]

logger = logging.getLogger(__name__)

BOX_TIGHTNESS = "box_tightness"
SMALL_OBJECTS = "small_objects"
CROWDED = "crowded"
VERIFY = "verify"


class TaskType(str, Enum):
    VERIFY = "verify"
    FIX_BOXES = "fix_boxes"
    CHOOSE_CLASS = "choose_class"
    DRAW_ONE = "draw_one"
    FIND_ALL = "find_all"
    SMALL_OBJECTS = "small_objects"
    CROWDED = "crowded"
    CONFUSABLE_PAIR = "confusable_pair"

    @classmethod
    def from_value(cls, value: str | TaskType) -> TaskType:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown practice task type {value!r}; choose from {names}") from None


def recall_skill(class_name: str) -> str:
    return f"recall:{class_name}"


def label_skill(a: str, b: str) -> str:
    """The skill of telling two confusable classes apart; the same name in either order."""
    x, y = sorted((a, b))
    return f"label:{x}|{y}"


@dataclass(frozen=True)
class PracticeTask:
    """One practice item.

    Attributes:
        id: stable id, ``<type>:<image>:<n>``.
        type: the :class:`TaskType`.
        image: the image key (as in ``ImageLabels.image``).
        prompt: the instruction shown to the trainee.
        shown: boxes pre-drawn on the image. For ``choose_class`` the one box's class id is a
            placeholder (the question is which of ``choices`` it is).
        truth: the image's true labels, kept aside for grading and feedback.
        skills: the skills this task grades.
        difficulty: in [0, 1], ranked within the task's type.
        target_class: the class asked for (``draw_one``, ``find_all``), else ``None``.
        targets: indices into ``truth`` of the objects the task is about.
        choices: the classes offered (``choose_class``; the pair of ``confusable_pair``).
    """

    id: str
    type: TaskType
    image: str
    prompt: str
    shown: ImageLabels
    truth: ImageLabels
    skills: tuple[str, ...]
    difficulty: float = 0.5
    target_class: int | None = None
    targets: tuple[int, ...] = ()
    choices: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not 0.0 <= self.difficulty <= 1.0:
            raise ValueError(
                f"task {self.id}: difficulty must lie in [0, 1], got {self.difficulty}"
            )
        if not self.skills:
            raise ValueError(f"task {self.id}: a practice task must grade at least one skill")


def shrink_box(box: np.ndarray, iou: float, rng: np.random.Generator) -> np.ndarray:
    """A box inside ``box`` whose IoU with it is exactly ``iou`` (placed at random)."""
    b = np.asarray(box, dtype=np.float64)
    w, h = b[2] - b[0], b[3] - b[1]
    f = float(np.sqrt(np.clip(iou, 1e-6, 1.0)))
    nw, nh = w * f, h * f
    x1 = b[0] + rng.uniform(0.0, w - nw)
    y1 = b[1] + rng.uniform(0.0, h - nh)
    return np.array([x1, y1, x1 + nw, y1 + nh])


def _labels(truth: ImageLabels, xyxy, class_id) -> ImageLabels:
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return ImageLabels(truth.image, truth.width, truth.height, xyxy, np.asarray(class_id, np.int64))


def _random_box(truth: ImageLabels, rng: np.random.Generator) -> np.ndarray:
    """A box overlapping no true object (a false positive to reject), or ``None``."""
    for _ in range(20):
        side = rng.uniform(0.1, 0.3, 2) * np.array([truth.width, truth.height])
        x1, y1 = rng.uniform(0, truth.width - side[0]), rng.uniform(0, truth.height - side[1])
        b = np.array([x1, y1, x1 + side[0], y1 + side[1]])
        lt = np.maximum(truth.xyxy[:, :2], b[:2])
        rb = np.minimum(truth.xyxy[:, 2:], b[2:])
        if not np.any(np.all(rb > lt, axis=1)):
            return b
    return None


PROMPTS = {
    "verify": N_("Keep the right boxes, delete the wrong ones."),
    "fix": N_("Make every box fit its object tightly."),
    "draw": N_("One {} is not boxed yet: box it."),
    "find": N_("Box every {}."),
    "choose": N_("Is the boxed object a {} or a {}?"),
    "small": N_("Box the small objects that are not boxed yet."),
    "crowded": N_("Box every object, each with its own box."),
    "pair": N_("Box every {} and every {}, with the right class."),
}


def prompt_text(prompt: str, gettext: Callable[[str], str] = str) -> str:
    """A task's ``prompt`` (English, as :data:`PROMPTS` worded it) through ``gettext``, the
    class names in it as they are; a prompt worded otherwise stays as it is."""
    for words in PROMPTS.values():
        pattern = re.escape(words).replace(re.escape("{}"), "(.+?)")
        found = re.fullmatch(pattern, prompt)
        if found:
            return gettext(words).format(*found.groups())
    return prompt


@dataclass(frozen=True)
class _Spec:
    names: Sequence[str]
    pair_of: dict[int, list[int]]
    small_area: float
    crowd_min: int


def _areas(truth: ImageLabels) -> np.ndarray:
    return np.prod(truth.xyxy[:, 2:] - truth.xyxy[:, :2], axis=1).astype(np.float64)


def _raw_difficulty(truth: ImageLabels, targets: Sequence[int]) -> float:
    """Smaller and more numerous objects are harder: in [0, 1]."""
    idx = list(targets) or list(range(len(truth)))
    if not idx:
        return 0.0
    rel = np.sqrt(_areas(truth)[idx].min() / (truth.width * truth.height))
    smallness = float(np.clip(1.0 - rel / 0.4, 0.0, 1.0))
    crowding = min(len(truth), 10) / 10.0
    return 0.6 * smallness + 0.4 * crowding


def _verify_shown(truth: ImageLabels, n_classes: int, rng: np.random.Generator) -> ImageLabels:
    """Most true boxes, a false positive and a badly placed box, in random order."""
    keep = [j for j in range(len(truth)) if rng.random() < 0.8] or [0]
    boxes, labels = [truth.xyxy[j] for j in keep], truth.class_id[keep].tolist()
    fp = _random_box(truth, rng)
    if fp is not None:
        boxes.append(fp)
        labels.append(int(rng.integers(n_classes)))
    j = int(rng.choice(keep))
    boxes.append(shrink_box(truth.xyxy[j], rng.uniform(0.1, 0.35), rng))
    labels.append(int(truth.class_id[j]))
    order = rng.permutation(len(boxes))
    return _labels(truth, np.asarray(boxes)[order], np.asarray(labels)[order])


def _tasks_for(truth: ImageLabels, s: _Spec, rng: np.random.Generator) -> list[dict]:
    names, out = s.names, []
    n, cls = len(truth), truth.class_id.tolist()
    small = (_areas(truth) < s.small_area).tolist() if n else []
    nothing = _labels(truth, [], [])

    def add(kind: TaskType, prompt, shown, skills, targets=(), target=None, choices=()):
        out.append(dict(type=kind, prompt=prompt, shown=shown, skills=tuple(skills)))
        out[-1].update(targets=tuple(targets), target_class=target, choices=tuple(choices))

    def without(idx: list[int]) -> ImageLabels:
        keep = [j for j in range(n) if j not in idx]
        return _labels(truth, truth.xyxy[keep], truth.class_id[keep])

    if n:
        add(TaskType.VERIFY, PROMPTS["verify"], _verify_shown(truth, len(names), rng), [VERIFY])
        loose = [shrink_box(b, rng.uniform(0.4, 0.7), rng) for b in truth.xyxy]
        shown = _labels(truth, loose, truth.class_id)
        add(TaskType.FIX_BOXES, PROMPTS["fix"], shown, [BOX_TIGHTNESS], range(n))
    for c in sorted(set(cls)):
        objs = [j for j in range(n) if cls[j] == c]
        j, skill = int(rng.choice(objs)), [recall_skill(names[c])]
        add(TaskType.DRAW_ONE, PROMPTS["draw"].format(names[c]), without([j]), skill, [j], c)
        add(TaskType.FIND_ALL, PROMPTS["find"].format(names[c]), nothing, skill, objs, c)
        for other in s.pair_of.get(c, []):
            pair = tuple(sorted((c, other)))
            prompt = PROMPTS["choose"].format(*(names[k] for k in pair))
            shown = _labels(truth, truth.xyxy[[j]], [pair[0]])
            told = [label_skill(*(names[k] for k in pair))]
            add(TaskType.CHOOSE_CLASS, prompt, shown, told, [j], choices=pair)
    if any(small):
        targets = [j for j in range(n) if small[j]]
        add(TaskType.SMALL_OBJECTS, PROMPTS["small"], without(targets), [SMALL_OBJECTS], targets)
    if n >= s.crowd_min:
        add(TaskType.CROWDED, PROMPTS["crowded"], nothing, [CROWDED, BOX_TIGHTNESS], range(n))
    pairs = {tuple(sorted((c, o))) for c in set(cls) for o in s.pair_of.get(c, []) if o in cls}
    for pair in sorted(pairs):
        objs = [j for j in range(n) if cls[j] in pair]
        prompt = PROMPTS["pair"].format(*(names[k] for k in pair))
        skills = [label_skill(*(names[k] for k in pair)), BOX_TIGHTNESS]
        add(TaskType.CONFUSABLE_PAIR, prompt, nothing, skills, objs, choices=pair)
    return out


def make_practice_tasks(
    labelled: Sequence[ImageLabels],
    class_names: Sequence[str],
    rng: np.random.Generator,
    *,
    confusable: Sequence[tuple[str, str]] = (),
    uncertainty: Mapping[str, float] | None = None,
    small_area: float = 32.0 * 32.0,
    crowd_min: int = 5,
    types: Sequence[TaskType | str] | None = None,
) -> list[PracticeTask]:
    """Every practice task the labelled images allow, with the truth kept aside.

    Args:
        labelled: true labels of gold or labelled images (never client honeypots shown as such).
        class_names: the project's classes, indexed by ``class_id``.
        rng: the seeded generator that places distractors and loose boxes.
        confusable: pairs of class names often mistaken for each other; they give the
            ``label:<a>|<b>`` skills and the ``choose_class`` and ``confusable_pair`` tasks.
        uncertainty: the model's uncertainty per image key; when given, it is the raw
            difficulty (images missing from it fall back to object size and count).
        small_area: objects below this many square pixels are small.
        crowd_min: images with at least this many objects are crowded scenes.
        types: only these task types (default: all).
    """
    names = list(class_names)
    pair_of: dict[int, list[int]] = {}
    for a, b in confusable:
        if a not in names or b not in names or a == b:
            raise ValueError(
                f"confusable pair ({a!r}, {b!r}) must name two different classes of {names}"
            )
        pair_of.setdefault(names.index(a), []).append(names.index(b))
        pair_of.setdefault(names.index(b), []).append(names.index(a))
    wanted = {TaskType.from_value(t) for t in types} if types is not None else set(TaskType)
    spec = _Spec(names, pair_of, small_area, crowd_min)
    rows: list[tuple[dict, ImageLabels, float]] = []
    for truth in labelled:
        if len(truth) and int(truth.class_id.max()) >= len(names):
            raise ValueError(
                f"{truth.image!r} has class id {int(truth.class_id.max())} but only "
                f"{len(names)} class names were given; pass the project's full class list"
            )
        for t in _tasks_for(truth, spec, rng):
            if t["type"] not in wanted:
                continue
            raw = (uncertainty or {}).get(truth.image)
            rows.append((t, truth, _raw_difficulty(truth, t["targets"]) if raw is None else raw))
    tasks = []
    for kind in TaskType:
        mine = [r for r in rows if r[0]["type"] is kind]
        if not mine:
            continue
        raw = np.array([r[2] for r in mine], dtype=np.float64)
        rank = raw.argsort(kind="stable").argsort() / max(len(raw) - 1, 1)
        for i, ((t, truth, _), d) in enumerate(zip(mine, rank.tolist(), strict=True)):
            tasks.append(
                PracticeTask(
                    f"{kind.value}:{truth.image}:{i}",
                    image=truth.image,
                    truth=truth,
                    difficulty=float(d),
                    **t,
                )
            )
    logger.debug("made %d practice tasks from %d images", len(tasks), len(labelled))
    return tasks
