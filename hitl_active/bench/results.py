"""The benchmark's results.csv: which rows are done, appending rows, and a round's columns."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from hitl_active.formats.core import ImageLabels

__all__ = [
    "COST_FIELDS",
    "ResultWriter",
    "checked_by_round",
    "finished_rows",
    "labels_from_json",
    "labels_to_json",
    "state_row",
]

COST_FIELDS = ("verified", "fixed", "relabelled", "deleted", "drawn")


def finished_rows(csv_path: Path, columns: list[str]) -> set[tuple[str, int, int]]:
    """``(strategy, seed, round)`` of the rows already in ``csv_path`` (none if it is absent).

    Raises ValueError when the file has other columns: resuming into it would mix runs.
    """
    if not csv_path.exists():
        return set()
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != columns:
            raise ValueError(
                f"{csv_path} was written with other columns (another dataset or version); "
                "choose a new output folder or delete it"
            )
        return {(r["strategy"], int(r["seed"]), int(r["round"])) for r in reader}


class ResultWriter:
    """Appends one row per finished round, so an interrupted benchmark keeps what it did."""

    def __init__(self, csv_path: Path, columns: list[str]) -> None:
        self.path, self.columns = csv_path, columns
        if not csv_path.exists():
            with open(csv_path, "w", newline="") as f:
                csv.DictWriter(f, columns).writeheader()

    def write(self, row: dict) -> None:
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow({k: row.get(k, "") for k in self.columns})


def state_row(state: dict) -> dict:
    """The cumulative columns of a round's saved state: labels, annotator cost, timings."""
    cost = state["cost"]
    return {
        "labelled_images": len(state["labelled"]),
        "annotator_seconds": round(cost["seconds"], 1),
        "annotator_hours": round(cost["seconds"] / 3600, 4),
        **{k: cost[k] for k in COST_FIELDS},
        **state.get("timing", {}),
    }


def labels_to_json(labels: ImageLabels) -> dict:
    """A reviewed image's training labels as kept in a round's ``state.json``."""
    return {
        "xyxy": np.round(labels.xyxy.astype(np.float64), 2).tolist(),
        "class_id": labels.class_id.tolist(),
        "box_meta": list(labels.box_meta),
    }


def labels_from_json(data: dict, like: ImageLabels) -> ImageLabels:
    """:func:`labels_to_json` back, on the image (path, size) of ``like``."""
    return ImageLabels(
        like.image, like.width, like.height,
        np.asarray(data["xyxy"], np.float32).reshape(-1, 4),
        np.asarray(data["class_id"], np.int64), box_meta=list(data["box_meta"]),
    )  # fmt: skip


def checked_by_round(reviewed: dict[str, dict]) -> dict[int, tuple[int, int]]:
    """Per round (one model), the check items of its box reviews people found right, and
    how many there were, from a state's ``reviewed`` labels."""
    out: dict[int, tuple[int, int]] = {}
    for data in reviewed.values():
        r = int(data.get("round", 0))
        right, total = data.get("checked", [0, 0])
        had = out.get(r, (0, 0))
        out[r] = (had[0] + int(right), had[1] + int(total))
    return out
