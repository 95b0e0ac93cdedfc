"""Task backends: where a round's selected images go to be annotated.

* :class:`LocalBackend`: no Label Studio; tasks live only in the state database and an
  annotator object (the simulated annotator in the demo and the tests) answers them.
* :class:`LabelStudioBackend`: tasks with pre-labels in a real Label Studio project;
  annotations come back by incremental pull into the state store (which is the
  integration's annotation sink). With ``annotator`` set, that annotator submits its
  corrections through Label Studio's API first, as a person would through the UI.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Protocol

from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.formats.yolo import read_yolo_labels
from hitl_active.i18n import number, translator
from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.labelstudio.diff import diff_boxes
from hitl_active.labelstudio.project import connect_local_files, ensure_review_control
from hitl_active.labelstudio.pull import pull_annotations
from hitl_active.labelstudio.push import PushItem, answered, push_tasks, refresh_predictions
from hitl_active.loop.ls_project import bind_project, workspace_project
from hitl_active.loop.review import plan_of, review_parts, task_prelabel
from hitl_active.sampling.review import shown_items
from hitl_active.sampling.uncertainty import image_uncertainty
from hitl_active.store.rows import boxes_with_provenance
from hitl_active.store.store import ImageRow
from hitl_active.workspace.workspace import Workspace

__all__ = ["Annotator", "LabelStudioBackend", "LocalBackend", "load_truths", "provenance"]

logger = logging.getLogger(__name__)


class Annotator(Protocol):
    """Corrects the pre-labels of one image (see :class:`hitl_active.bench.annotator`)."""

    def annotate(self, key: str, prelabels: Detections | None) -> tuple[ImageLabels, Any]: ...


def load_truths(ws: Workspace, labels_dir: str | Path) -> dict[str, ImageLabels]:
    """Ground truth per image path from YOLO label files named after the images."""

    labels_dir = Path(labels_dir)
    out = {}
    for img in ws.store.images():
        path = labels_dir / (Path(img.path).stem + ".txt")
        if path.is_file():
            out[img.path] = read_yolo_labels(
                path, img.path, img.width, img.height, len(ws.config.classes)
            )
        else:
            out[img.path] = ImageLabels(img.path, img.width, img.height)
    return out


def provenance(
    shown: ImageLabels | None, final: ImageLabels, model_version: str | None
) -> list[dict[str, Any]]:
    """JSON boxes of ``final`` with each box's source, from a diff against ``shown``."""

    diff = diff_boxes(shown, final) if shown is not None and len(shown) else None
    return boxes_with_provenance(final, diff, model_version)


def _shown(ws: Workspace, image_id: int, version: str | None) -> Detections | None:
    if version is None:
        return None
    return ws.store.prediction(version, image_id)  # one chunk, not the version's whole table


def _as_labels(img: ImageRow, dets: Detections | None, threshold: float) -> ImageLabels | None:
    if dets is None:
        return None
    d = dets.above(threshold)
    return ImageLabels(img.path, img.width, img.height, d.xyxy, d.class_id, scores=d.confidence)


def why_line(rank: int | None, ranked: int | None, uncertainty: float | None,
             found: int | None, lang: str = "en") -> str:  # fmt: skip
    """One line for the person labelling: why this image was chosen, in plain words, in
    ``lang`` (:mod:`hitl_active.templates`' catalogues).

    ``found`` is the number of candidate boxes the model gave (``None``: no model yet).
    """
    _ = translator(lang).gettext
    if rank is not None and ranked:
        place = _("%(rank)s of %(ranked)s") % {"rank": rank, "ranked": ranked}
    else:
        place = _("this round")
    if found is None or uncertainty is None:
        return _("Picked at random (%(place)s): no model is trained yet, so every image "
                 "teaches it as much as any other.") % {"place": place}  # fmt: skip
    if found == 0:
        return _("Picked %(place)s: the model found nothing here. Draw every object you "
                 "see.") % {"place": place}  # fmt: skip
    values = {"place": place, "u": number(uncertainty, 2, lang)}
    if uncertainty >= 0.5:
        return _("Picked %(place)s: the model is unsure here (uncertainty %(u)s of 1). "
                 "Check every box, and draw what it missed.") % values  # fmt: skip
    return _("Picked %(place)s: the model is fairly sure here (uncertainty %(u)s of 1). "
             "Confirm its boxes or fix them.") % values  # fmt: skip


def review_line(kinds: list[str], lang: str = "en") -> str:
    """The line above a box-review task: how many marked boxes to check and regions to fix,
    and that nothing else in the image needs the person (in ``lang``)."""
    _ = translator(lang).gettext
    values = {"check": number(kinds.count("check"), 0, lang),
              "fix": number(kinds.count("fix"), 0, lang)}  # fmt: skip
    return _("Box review: %(check)s boxes marked check (keep or delete each) and %(fix)s "
             "regions marked fix (put the right box there, or delete it). Nothing else in "
             "this image needs you.") % values  # fmt: skip


def answer_task(client: Any, project: Any, task_id: int, annotator: Any, image: str,
                shown: Detections | None,
                parts: dict[str, Detections] | None = None) -> bool:  # fmt: skip
    """A simulated person answers one Label Studio task as ``client``'s user: their labels
    of ``image`` given the pre-label ``shown`` (or, for a box review, the plan's ``parts``:
    :func:`reviewed`), with the seconds their cost model gives and the prediction they
    started from. ``False`` when the task was answered or skipped before (maybe by a run
    that was killed). The one simulated submission of the loop's and the team's backends."""

    remote = client.task(task_id)
    if answered(remote):
        return False
    final, cost = (
        annotator.annotate(image, shown) if parts is None else reviewed(annotator, image, parts)
    )
    predictions = remote.get("predictions") or []
    client.add_annotation(
        task_id,
        to_ls_results(final, project.class_names, project.from_name, project.to_name),
        float(getattr(cost, "seconds", cost)),
        parent_prediction=predictions[-1].get("id") if predictions else None,
    )
    return True


def reviewed(annotator: Any, image: str, parts: dict[str, Detections]) -> tuple[ImageLabels, Any]:
    """A simulated person's box review of ``image``: the boxes they left on the items (the
    unasked ones are the plan's, not theirs: :func:`hitl_active.loop.review.unasked_boxes`)
    and its cost."""
    labels, cost, _ = annotator.review(image, parts)
    theirs = [i for i, m in enumerate(labels.box_meta) if m.get("source") != "model"]
    final = ImageLabels(
        labels.image, labels.width, labels.height, labels.xyxy[theirs], labels.class_id[theirs]
    )
    return final, cost


class LocalBackend:
    """Tasks in the state database only, answered by ``annotator``."""

    def __init__(self, annotator: Annotator | None = None) -> None:
        self.annotator = annotator

    def push(self, ws: Workspace, round_id: int, image_ids: list[int], version: str | None) -> int:
        return sum(ws.store.add_task(i, round_id, None, None, version) for i in image_ids)

    def collect(self, ws: Workspace, round_id: int, timeout_s: float | None) -> int:

        open_tasks = ws.store.tasks(round_id=round_id, open_only=True)
        if self.annotator is None:
            return len(open_tasks)
        for task in open_tasks:
            img = ws.store.image(task.image_id)
            parts = review_parts(ws, img.id)
            if parts is not None:
                final, cost = reviewed(self.annotator, img.path, parts)
                shown = _as_labels(img, shown_items(parts)[0], 0.0)
            else:
                dets = _shown(ws, img.id, task.prediction_model_version)
                final, cost = self.annotator.annotate(img.path, dets)
                shown = _as_labels(img, dets, ws.config.conf_threshold)
            # the diff against the pre-label is kept, as for Label Studio's annotations, so
            # the cost model can be fitted to these times (no pre-label: no diff)
            diff = None if shown is None else diff_boxes(shown, final)
            ws.store.add_annotation(
                img.id,
                external_id=f"local:{img.id}",
                revision="1",
                boxes=provenance(shown, final, task.prediction_model_version),
                source="simulated",
                annotator="simulated",
                lead_time=float(getattr(cost, "seconds", cost)),
                diff=None if diff is None else diff.to_dict(),
            )
        return 0

    def refresh_prelabels(self, ws: Workspace, version: str) -> int:
        n = 0
        for task in ws.store.tasks(open_only=True):
            if plan_of(ws, task.image_id) is None:  # a box-review task keeps its items
                ws.store.set_task_prediction_version(task.image_id, version)
                n += 1
        return n


class WaitingLog:
    """Says how many tasks are still open when that number changes, otherwise once every
    ``every_s`` seconds: a loop polling every few seconds for hours stays readable."""

    def __init__(self, what: str, every_s: float = 60.0) -> None:
        self.what = what
        self.every_s = every_s
        self._last: tuple[int, int] | None = None
        self._at = 0.0

    def __call__(self, round_id: int, pending: int) -> None:
        now = time.monotonic()
        if (round_id, pending) != self._last or now - self._at >= self.every_s:
            logger.info("round %d: waiting for %d %s in Label Studio", round_id, pending, self.what)
            self._last, self._at = (round_id, pending), now


class LabelStudioBackend:
    """Tasks in a Label Studio project; annotations pulled into the state store.

    The project is the workspace's (``label_studio_project`` in its config); a workspace
    without one is bound to the project titled ``project_title`` (default
    ``"hitl-active <workspace folder>"``, created when missing) on first use. A title or URL
    that differs from the workspace's is an error naming both.
    """

    def __init__(
        self,
        url: str,
        token: str,
        project_title: str | None,
        files_root: str | Path | None,
        annotator: Annotator | None = None,
        poll_s: float = 5.0,
        progress: bool = False,
    ) -> None:
        self.url, self.token, self.title = url, token, project_title
        self.files_root = None if files_root is None else Path(files_root)
        self.annotator = annotator
        self.poll_s = poll_s
        self.progress = progress
        self._client: Any = None
        self._project: Any = None

    # ------------------------------------------------------------------ connection
    def connect(self, ws: Workspace) -> Any:
        if self._project is None:
            attach = self.files_root is not None
            self._client = LabelStudioClient(self.url, self.token)
            if ws.config.label_studio_project is None:
                self._project = bind_project(ws, self._client, self.url, self.title, attach=attach)
            else:
                self._project = workspace_project(ws, self._client, self.url, self.title)
                if attach:
                    connect_local_files(self._client, self._project.id, ws.images_dir)
        return self._project

    @property
    def client(self) -> Any:
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _item(
        self, ws: Workspace, image_id: int, version: str | None, rank: int | None = None,
        ranked: int | None = None, score: float | None = None, lang: str = "en",
        round_id: int | None = None,
    ) -> Any:  # fmt: skip
        """One image as a task: its pre-label, the model's uncertainty about it, its place
        among the ``ranked`` images pushed together and the line telling people why (in
        ``lang``)."""

        img = ws.store.image(image_id)
        dets = _shown(ws, image_id, version)
        u = None if dets is None else image_uncertainty(dets.class_probs)
        prelabel = None if dets is None else dets.above(ws.config.conf_threshold)
        why = why_line(rank, ranked, u, None if dets is None else len(dets), lang)
        items = task_prelabel(ws, image_id, round_id) if dets is not None else None
        if items is not None:  # a box review: only the items, each marked check or fix
            prelabel = items[0]
            why = review_line(items[1], lang)
        return PushItem(
            image_key=ws.image_key(img.path),
            width=img.width,
            height=img.height,
            prelabel=prelabel,
            image=img.path,
            rank=rank,
            ranked=ranked,
            uncertainty=u,
            selection_score=score,
            why=why,
            review=None if items is None else items[1],
        )

    # ------------------------------------------------------------------ TaskBackend
    def push(self, ws: Workspace, round_id: int, image_ids: list[int], version: str | None) -> int:

        project = self.connect(ws)
        if ws.config.review == "boxes":
            ensure_review_control(self._client, project)
        ranks = ws.store.selection_scores(round_id)
        items = []
        for i in image_ids:
            rank, score = ranks.get(i, (None, None))
            items.append(self._item(ws, i, version, rank, len(image_ids), score, round_id=round_id))
        ws.store.push_context = (round_id, version)
        try:
            report = push_tasks(
                self._client, project, items, ws.store, version or "none", self.files_root,
                progress=self.progress, task_image=ws.config.task_image_spec(),
            )  # fmt: skip
        finally:
            ws.store.push_context = (None, None)
        return report.created

    def submit(self, ws: Workspace, round_id: int, image_ids: set[int] | None = None) -> int:
        """Let ``annotator`` answer the round's open tasks through Label Studio's API."""
        project = self.connect(ws)
        done = 0
        for task in ws.store.tasks(round_id=round_id):
            if task.ls_task_id is None or (
                image_ids is not None and task.image_id not in image_ids
            ):
                continue
            shown = _shown(ws, task.image_id, task.prediction_model_version)
            done += answer_task(self._client, project, task.ls_task_id, self.annotator,
                                ws.store.image(task.image_id).path, shown,
                                review_parts(ws, task.image_id))  # fmt: skip
        return done

    def pull(self, ws: Workspace) -> int:

        return pull_annotations(self._client, self.connect(ws), ws.store).recorded

    def collect(self, ws: Workspace, round_id: int, timeout_s: float | None) -> int:
        self.connect(ws)
        if self.annotator is not None:
            self.submit(ws, round_id)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        waiting = WaitingLog("tasks")
        while True:
            self.pull(ws)
            pending = len(ws.store.tasks(round_id=round_id, open_only=True))
            if pending == 0 or (deadline is not None and time.monotonic() >= deadline):
                return pending
            waiting(round_id, pending)
            time.sleep(self.poll_s)

    def refresh_prelabels(self, ws: Workspace, version: str) -> int:

        project = self.connect(ws)
        open_tasks = ws.store.tasks(open_only=True)
        ranks: dict[int, tuple[int, float]] = {}
        ranked: dict[int, int] = {}  # image -> size of the selection it was ranked in
        for round_id in {t.round_id for t in open_tasks if t.round_id is not None}:
            scores = ws.store.selection_scores(round_id)
            ranks.update(scores)
            ranked.update(dict.fromkeys(scores, len(scores)))
        # a box-review task keeps its items: they are rows of the version that planned them
        open_tasks = [t for t in open_tasks if plan_of(ws, t.image_id) is None]
        items = []
        for t in open_tasks:
            rank, score = ranks.get(t.image_id, (None, None))
            items.append(self._item(ws, t.image_id, version, rank, ranked.get(t.image_id), score))
        report = refresh_predictions(self._client, project, items, version)
        for t in open_tasks:
            ws.store.set_task_prediction_version(t.image_id, version)
        return report.replaced
