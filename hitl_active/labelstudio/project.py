"""Project set-up: a RectangleLabels project per class list, local-files storage, image URLs."""

from __future__ import annotations

import logging
import os
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from hitl_active.labelstudio.client import LabelStudioClient, LabelStudioError

__all__ = [
    "REVIEW_CONTROL",
    "LabelMismatchError",
    "ProjectInfo",
    "ProjectMismatchError",
    "check_labels",
    "connect_local_files",
    "ensure_project",
    "ensure_review_control",
    "find_project",
    "image_url",
    "label_config",
    "parse_label_config",
    "project_by_id",
    "resolve_project",
    "review_control",
]

logger = logging.getLogger(__name__)

LOCAL_FILES_PREFIX = "/data/local-files/?d="
#: name of the per-region check / fix choice of a box-review project
REVIEW_CONTROL = "review"


class LabelMismatchError(ValueError):
    """The project's labels and the model's classes differ."""


class ProjectMismatchError(ValueError):
    """The project asked for is not the one the workspace is bound to."""


@dataclass(frozen=True)
class ProjectInfo:
    """A Label Studio project as the integration uses it."""

    id: int
    title: str
    class_names: tuple[str, ...]
    from_name: str = "label"
    to_name: str = "image"
    value_key: str = "image"


def review_control(to_name: str = "image") -> str:
    """The per-region ``review`` choice of a box-review project: each pre-label region is
    marked ``check`` (a sure box: keep or delete it) or ``fix`` (an uncertain region: put
    the right box there, or delete it)."""
    return (
        f'  <Choices name="{REVIEW_CONTROL}" toName="{to_name}" perRegion="true" '
        'choice="single" showInline="true">\n'
        '    <Choice value="check" hint="a sure box: keep it or delete it"/>\n'
        '    <Choice value="fix" hint="an uncertain region: put the right box there, or '
        'delete it"/>\n'
        "  </Choices>\n"
    )


def ensure_review_control(client: LabelStudioClient, project: ProjectInfo) -> bool:
    """Add the ``review`` control to ``project``'s labeling config when it lacks it (a
    project made before box review was switched on); ``True`` when it was added."""
    config = client.request("GET", f"/api/projects/{project.id}").get("label_config") or ""
    if f'name="{REVIEW_CONTROL}"' in config:
        return False
    at = config.rfind("</View>")
    if at < 0:
        raise ValueError(f"project {project.id}'s labeling config has no closing </View>")
    updated = config[:at] + review_control(project.to_name) + config[at:]
    client.request("PATCH", f"/api/projects/{project.id}", json={"label_config": updated})
    logger.info("project %d: added the per-region review choice (check / fix)", project.id)
    return True


def label_config(
    class_names: Sequence[str],
    from_name: str = "label",
    to_name: str = "image",
    practice: bool = False,
    review: bool = False,
) -> str:
    """A RectangleLabels labeling config with one ``<Label>`` per class, in class order.

    Above the image a client project shows why the task's image was chosen (``$why``,
    see :mod:`hitl_active.labelstudio.push`; empty for tasks without one). ``practice``: a
    practice project's config, which shows the task's instruction (``$prompt``) there
    instead and, once the answer is graded, its feedback (``$feedback``) below the image.
    ``review``: with the per-region check / fix choice of box review (:func:`review_control`).
    """
    if not class_names:
        raise ValueError("a project needs at least one class name")
    labels = "\n".join(f"    <Label value={quoteattr(str(name))}/>" for name in class_names)
    head = '  <Header value="$prompt"/>\n' if practice else '  <Header value="$why" size="6"/>\n'
    tail = '  <Text name="feedback" value="$feedback"/>\n' if practice else ""
    if review:
        tail += review_control(to_name)
    return (
        f'<View>\n{head}  <Image name="{to_name}" value="$image" zoom="true"/>\n'
        f'  <RectangleLabels name="{from_name}" toName="{to_name}">\n{labels}\n'
        f"  </RectangleLabels>\n{tail}</View>"
    )


def parse_label_config(xml: str) -> tuple[str, str, str, list[str]]:
    """``(from_name, to_name, value_key, labels)`` of the first RectangleLabels control."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise LabelMismatchError(f"the project's labeling config is not valid XML: {exc}") from exc
    control = root.find(".//RectangleLabels")
    if control is None:
        raise LabelMismatchError(
            "the project's labeling config has no <RectangleLabels> control; hitl-active "
            "needs bounding boxes (create the project with `hitl-active label-studio setup`)"
        )
    to_name = control.get("toName", "image")
    image = next((el for el in root.iter("Image") if el.get("name") == to_name), None)
    value_key = (image.get("value", "$image") if image is not None else "$image").lstrip("$")
    labels = [el.get("value", "") for el in control.iter("Label")]
    return control.get("name", "label"), to_name, value_key, labels


def check_labels(project_labels: Sequence[str], class_names: Sequence[str]) -> None:
    """Raise :class:`LabelMismatchError` listing both when the label sets differ."""
    if list(project_labels) == list(class_names):
        return
    missing = [c for c in class_names if c not in project_labels]
    extra = [c for c in project_labels if c not in class_names]
    detail = (
        f"missing in project: {missing}; not model classes: {extra}"
        if (missing or extra)
        else "same names in a different order"
    )
    raise LabelMismatchError(
        f"the Label Studio project's labels {list(project_labels)} do not match the model's "
        f"classes {list(class_names)} ({detail}). Edit the project's labeling config to list "
        "exactly the model's classes in order, or use a project made for this class list."
    )


def find_project(
    client: LabelStudioClient, title: str, class_names: Sequence[str]
) -> ProjectInfo | None:
    """The project with this title (its labels checked against ``class_names``), or ``None``."""
    for project in client.projects():
        if project.get("title") == title:
            return _info(project, class_names)
    return None


def _info(project: dict, class_names: Sequence[str]) -> ProjectInfo:
    from_name, to_name, value_key, labels = parse_label_config(project["label_config"])
    check_labels(labels, class_names)
    return ProjectInfo(
        int(project["id"]), str(project["title"]), tuple(class_names), from_name, to_name, value_key
    )


def project_by_id(
    client: LabelStudioClient, project_id: int, class_names: Sequence[str]
) -> ProjectInfo:
    """The project with this id (its labels checked against ``class_names``)."""
    try:
        project = client.request("GET", f"/api/projects/{int(project_id)}")
    except LabelStudioError as exc:
        if "HTTP 404" not in str(exc):
            raise
        raise ProjectMismatchError(
            f"Label Studio at {client.url} has no project with id {project_id}; the workspace "
            "was set up against another Label Studio (or the project was deleted): run "
            "`hitl-active label-studio setup -w WS --project TITLE` to bind it to a project here"
        ) from None
    return _info(project, class_names)


def resolve_project(
    client: LabelStudioClient,
    class_names: Sequence[str],
    project_id: int | None = None,
    title: str | None = None,
    default_title: str | None = None,
) -> ProjectInfo:
    """The project a workspace works with.

    With ``project_id`` (the workspace's bound project) that project, and a ``title`` that
    names another project is an error naming both; without it the project titled
    ``title`` (or ``default_title``) is reused or created.
    """
    if project_id is not None:
        info = project_by_id(client, project_id, class_names)
        if title is not None and title != info.title:
            raise ProjectMismatchError(
                f"--project {title!r} is not the workspace's Label Studio project "
                f"{info.title!r} (id {info.id}); drop --project, or rebind the workspace with "
                f"`hitl-active label-studio setup -w WS --project {title!r}`"
            )
        return info
    name = title or default_title
    if name is None:
        raise ValueError("no Label Studio project: pass --project TITLE")
    return ensure_project(client, name, class_names)


def ensure_project(
    client: LabelStudioClient,
    title: str,
    class_names: Sequence[str],
    description: str = "",
    practice: bool = False,
) -> ProjectInfo:
    """Reuse the project with this title (checking its labels) or create it."""
    if len(title.strip()) < 3:
        raise ValueError(f"Label Studio project titles need at least 3 characters, got {title!r}")
    existing = find_project(client, title, class_names)
    if existing is not None:
        logger.info("reusing Label Studio project %r (id %s)", title, existing.id)
        return existing
    created = client.request(
        "POST",
        "/api/projects",
        json={
            "title": title,
            "description": description,
            "label_config": label_config(class_names, practice=practice),
            "sampling": "Sequential sampling",  # tasks arrive in ranked order
            # A skipped task is answered for the loop: its image goes back to the pool and
            # may return as a new task, so Label Studio need not offer the old one again.
            "skip_queue": "IGNORE_SKIPPED",
            "show_collab_predictions": True,
        },
    )
    logger.info("created Label Studio project %r (id %s)", title, created["id"])
    return ProjectInfo(int(created["id"]), title, tuple(class_names))


def connect_local_files(
    client: LabelStudioClient,
    project_id: int,
    folder: str | Path,
    title: str = "hitl-active images",
) -> int:
    """Attach ``folder`` as local-files storage (reused when already attached); its id.

    The server must run with ``LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true`` and a
    ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` that contains ``folder``. Tasks are not synced
    from the storage: it only grants the project access to the files the pushed tasks name.
    """
    path = str(Path(folder).resolve())
    existing = client.request("GET", "/api/storages/localfiles", params={"project": project_id})
    for storage in existing:
        if os.path.normpath(storage.get("path", "")) == os.path.normpath(path):
            return int(storage["id"])
    try:
        created = client.request(
            "POST",
            "/api/storages/localfiles",
            json={
                "project": project_id,
                "path": path,
                "title": title,
                "use_blob_urls": True,
                "regex_filter": "",
            },
        )
    except LabelStudioError as exc:
        raise LabelStudioError(
            f"could not attach {path} as local-files storage: {exc}. Start Label Studio with "
            "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and "
            "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT set to a folder containing it "
            "(scripts/label-studio start --images DIR)."
        ) from exc
    return int(created["id"])


def is_url(image: str | Path) -> bool:
    """Whether ``image`` is already a URL a task can show (``http(s)://``, ``s3://``,
    ``gs://``, or a path under Label Studio's ``/data/``), not a local file."""
    text = str(image)
    return "://" in text or text.startswith("/data/")


def image_url(image: str | Path, files_root: str | Path | None) -> str:
    """What a task's ``data.image`` should say for an image.

    ``http(s)://``, ``s3://``, ``gs://`` URLs and paths already under ``/data/`` pass through;
    a local path under ``files_root`` becomes a ``/data/local-files/?d=<relative path>`` URL.
    """
    text = str(image)
    if is_url(text):
        return text
    if files_root is None:
        raise ValueError(
            f"{text!r} is a local file but no local-files root is set; pass files_root (the "
            "server's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT) or use http(s) URLs"
        )
    root = Path(files_root).resolve()
    path = Path(text)
    path = (path if path.is_absolute() else root / path).resolve()
    try:
        rel = path.relative_to(root)
    except ValueError as exc:
        raise ValueError(
            f"image {path} is outside the local-files root {root}; Label Studio can only "
            "serve files under LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"
        ) from exc
    return LOCAL_FILES_PREFIX + urllib.parse.quote(rel.as_posix())


def local_path(url: str, files_root: str | Path) -> Path | None:
    """The file behind a ``/data/local-files/?d=...`` URL, or ``None`` for other URLs."""
    parsed = urllib.parse.urlparse(url)
    if not parsed.path.endswith("/data/local-files/"):
        return None
    rel = urllib.parse.parse_qs(parsed.query).get("d", [""])[0]
    root = Path(files_root).resolve()
    path = (root / rel).resolve()
    if root != path and root not in path.parents:
        raise ValueError(f"local-files path {rel!r} escapes the root {root}")
    return path
