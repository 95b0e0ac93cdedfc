"""Shared fixtures. Heavy ones (a trained tiny model) are session-scoped and built once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")
# Training in the tests runs on one CPU thread, as the suite's small trained models and the
# figures their tests expect were made: a model trained on more threads sums in another order
# and ends elsewhere. (Training elsewhere takes every core; tests/models/test_device.py.)
os.environ.setdefault("OMP_NUM_THREADS", "1")

RACCOON = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "raccoon-voc"


@pytest.fixture(scope="session")
def raccoon_dir() -> Path:
    """The real VOC dataset beside the checkout; tests using it skip when it is absent."""
    if not (RACCOON / "annotations").is_dir():
        pytest.skip(f"raccoon-voc dataset not found at {RACCOON} (it lives beside the checkout)")
    return RACCOON


# Heavy shared fixtures live in their own modules:
#   tests/fixtures/models.py       tiny synthetic dataset, a trained tiny YOLO and its ONNX export
#   tests/fixtures/labelstudio.py  a real Label Studio server for the session
#   tests/fixtures/postgres.py     a throw-away PostgreSQL cluster; store tests use both backends
pytest_plugins = ["tests.fixtures.models", "tests.fixtures.labelstudio", "tests.fixtures.postgres"]
