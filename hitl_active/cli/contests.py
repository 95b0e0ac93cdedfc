"""``hitl-active annotators contest | contests | review``: gold items an annotator contests.

A contested item leaves that annotator's gold scores until a reviewer decides: upheld (it
counts again) or corrected (the corrected boxes replace the gold for everyone). The
corrected labels are a JSON list of boxes in original-image pixels, each
``{"xyxy": [x1, y1, x2, y2], "class_id": 0}`` (or ``"class": "name"``); ``[]`` means the
image holds no object.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hitl_active.cli.people import _error, _open, _person

__all__ = ["read_corrected", "register_contests"]


def _gold_image(ws: Any, key: str) -> Any:
    """A gold image by its path or file name."""
    img = ws.store.image_by_path(key) or ws.store.image_by_path(str(Path(key).resolve()))
    if img is None:
        named = [i for i in ws.store.images("gold") if Path(i.path).name == Path(key).name]
        if len(named) > 1:
            raise _error(f"{len(named)} gold images are named {key!r}; give the path")
        img = named[0] if named else None
    if img is None:
        raise _error(f"no image {key!r} in the workspace; give a gold image's path or name")
    return img


def _contest(args: argparse.Namespace) -> int:
    from hitl_active.team.team_skill import answers_from_store, gold_by_path
    from hitl_active.workforce.contest import contest

    with _open(args) as ws:
        who = _person(ws, args.name)
        img = _gold_image(ws, args.image)
        try:
            contest(who.name, img.path, args.reason, gold_by_path(ws))
        except ValueError as exc:
            raise _error(str(exc)) from None
        if not any(a.annotator == who.name and a.image == img.path for a in answers_from_store(ws)):
            raise _error(f"{who.name} has no answer on {args.image}; only items they answered")
        if any(
            c.annotator_id == who.id and c.image_id == img.id for c in ws.store.contests("open")
        ):
            raise _error(f"{who.name} contests {args.image} already; a reviewer decides it")
        cid = ws.store.add_contest(who.id, img.id, args.reason.strip())
    print(f"contest {cid}: {who.name} on {Path(img.path).name}, left out of their scores until "
          f"reviewed (`hitl-active annotators review {cid} --reviewer NAME`)")  # fmt: skip
    return 0


def _contests(args: argparse.Namespace) -> int:
    with _open(args) as ws:
        names = {a.id: a.name for a in ws.store.annotators()}
        contests = ws.store.contests(args.status)
        images = ws.store.images_by_id(c.image_id for c in contests)
        rows = [(c, images[c.image_id]) for c in contests]
    if args.json:
        doc = [
            {"id": c.id, "annotator": names[c.annotator_id], "image": img.path,
             "status": c.status, "reason": c.reason, "reviewer": c.reviewer}
            for c, img in rows
        ]  # fmt: skip
        print(json.dumps(doc, indent=2))
        return 0
    if not rows:
        print("no gold contests")
        return 0
    print(f"{'id':>4} {'annotator':<16} {'status':<9} {'reviewer':<12} image: reason")
    for c, img in rows:
        print(f"{c.id:>4} {names[c.annotator_id][:16]:<16} {c.status:<9} "
              f"{(c.reviewer or '-')[:12]:<12} {Path(img.path).name}: {c.reason}")  # fmt: skip
    return 0


def read_corrected(path: str | Path, classes: list[str]) -> list[dict]:
    """The corrected boxes of a review, checked; raises ValueError saying what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read corrected labels {path}: {exc}") from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of boxes, got {type(data).__name__}")
    boxes = []
    for k, b in enumerate(data):
        where = f"{path}: box {k}"
        xyxy = b.get("xyxy") if isinstance(b, dict) else None
        if not (isinstance(xyxy, list) and len(xyxy) == 4):
            raise ValueError(f"{where}: needs 'xyxy': [x1, y1, x2, y2] in pixels")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in xyxy):
            raise ValueError(f"{where}: xyxy must be 4 finite numbers, got {xyxy}")
        if not (xyxy[0] < xyxy[2] and xyxy[1] < xyxy[3]):
            raise ValueError(f"{where}: need x1 < x2 and y1 < y2, got {xyxy}")
        cls = b.get("class_id", classes.index(b["class"]) if b.get("class") in classes else None)
        if not isinstance(cls, int) or not 0 <= cls < len(classes):
            raise ValueError(
                f"{where}: needs 'class_id' (0-{len(classes) - 1}) or 'class' "
                f"(one of {', '.join(classes)})"
            )
        boxes.append({"xyxy": [float(v) for v in xyxy], "class_id": cls, "source": "human"})
    return boxes


def _review(args: argparse.Namespace) -> int:
    from hitl_active.store.rows import boxes_to_labels
    from hitl_active.team.team_skill import gold_contests
    from hitl_active.workforce.contest import review

    with _open(args) as ws:
        rows = {c.id: (c, g) for c, g in zip(ws.store.contests(), gold_contests(ws), strict=True)}
        if args.id not in rows:
            raise _error(f"no gold contest {args.id}; `hitl-active annotators contests` lists them")
        row, gc = rows[args.id]
        img = ws.store.image(row.image_id)
        boxes, labels = None, None
        try:
            if args.corrected:
                boxes = read_corrected(args.corrected, list(ws.config.classes))
                labels = boxes_to_labels(img.path, img.width, img.height, boxes)
            review(gc, args.reviewer, labels)  # refuses a contest decided already
        except ValueError as exc:
            raise _error(str(exc)) from None
        ws.store.review_contest(args.id, args.reviewer, boxes)
    what = "upheld" if boxes is None else f"corrected ({len(boxes)} boxes replace the gold)"
    print(f"contest {args.id}: {what} by {args.reviewer}")
    return 0


def register_contests(action: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``contest``, ``contests`` and ``review`` through ``annotators``' action maker."""
    c = action("contest", _contest, "an annotator contests a gold item they answered")
    c.add_argument("name", help="the annotator (name or e-mail)")
    c.add_argument("image", help="the gold image's path or file name")
    c.add_argument("--reason", required=True, help="why the gold answer looks wrong")
    ls = action("contests", _contests, "the gold contests and their state")
    ls.add_argument("--status", choices=("open", "upheld", "corrected"))
    ls.add_argument("--json", action="store_true")
    r = action("review", _review, "decide a contest: uphold the gold, or correct it")
    r.add_argument("id", type=int, help="the contest's id (see `annotators contests`)")
    r.add_argument("--reviewer", required=True, help="who decides")
    r.add_argument(
        "--corrected", metavar="LABELS.json", help="the corrected boxes; without it: upheld"
    )
