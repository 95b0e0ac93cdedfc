"""Light task images: a smaller copy on the annotator's screen, boxes in the original's pixels."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
from PIL import Image

from hitl_active.formats import ImageLabels
from hitl_active.formats.labelstudio import from_ls_results
from hitl_active.labelstudio.light import CACHE_DIR, TaskImageSpec, light_copy
from hitl_active.labelstudio.project import ProjectInfo
from hitl_active.labelstudio.push import PushItem, _task
from hitl_active.labelstudio.records import build_record
from hitl_active.workspace.config import LoopConfig

CLASSES = ["car", "person"]


def _photo(path, size, fmt="JPEG", orientation=None, quality=95):
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (size[1] // 50, size[0] // 50, 3), np.uint8)
    im = Image.fromarray(small).resize(size, Image.Resampling.BILINEAR)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    im.save(path, fmt, quality=quality, exif=exif.tobytes() if orientation else b"")
    return path


def test_a_4000_wide_original_shown_1280_wide_gives_its_boxes_back_within_half_a_pixel(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    original = _photo(root / "big.jpg", (4000, 3000))
    spec = TaskImageSpec(max_side=1280, quality=80)
    shown = light_copy(original, spec)
    assert shown != original and shown.parent == root / CACHE_DIR  # beside it
    with Image.open(shown) as im:
        assert im.size == (1280, 960)
    assert original.stat().st_size / shown.stat().st_size >= 5  # the point of it

    truth = ImageLabels(
        "big.jpg", 4000, 3000,
        xyxy=np.array([[101.3, 57.9, 1733.2, 2001.6], [3000.0, 10.0, 3999.0, 2999.0]], np.float32),
        class_id=np.array([0, 1], np.int64),
    )  # fmt: skip
    project = ProjectInfo(id=3, title="p", class_names=tuple(CLASSES))
    task = _task(PushItem("big.jpg", 4000, 3000, truth, image=original), project, "v1", root, spec)
    assert task["data"]["image"].endswith(shown.name)  # the copy is what is downloaded
    assert (task["data"]["width"], task["data"]["height"]) == (4000, 3000)
    # Label Studio stores percentages and the size of the image it showed: the copy's.
    answer = copy.deepcopy(task["predictions"][0]["result"])
    for region in answer:
        region["original_width"], region["original_height"] = 1280, 960
        region.pop("score", None)
    annotation = {"id": 9, "task": 1, "result": answer, "completed_by": 1, "lead_time": 2.0,
                  "updated_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    record = build_record(project, {"id": 1, "data": task["data"]}, annotation)
    assert (record.labels.width, record.labels.height) == (4000, 3000)
    assert np.abs(record.labels.xyxy - truth.xyxy).max() <= 0.5
    # read as the copy's pixels, the same answer would be 3.125x too small
    naive = from_ls_results(answer, CLASSES, "big.jpg")
    assert np.abs(naive.xyxy - truth.xyxy).max() > 100


def test_copies_are_cached_and_small_jpegs_go_as_they_are(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    spec = TaskImageSpec(max_side=640, quality=70)
    small = _photo(root / "small.jpg", (600, 400), quality=60)
    assert light_copy(small, spec) == small  # already light: sent as it is
    fine = _photo(root / "fine.jpg", (600, 400), quality=95)
    assert light_copy(fine, spec) != fine  # the same size, re-encoded lighter
    png = _photo(root / "small.png", (600, 400), fmt="PNG")
    first = light_copy(png, spec)
    assert first.suffix == ".jpg" and first.stat().st_size < png.stat().st_size
    stamp = first.stat().st_mtime_ns
    assert light_copy(png, spec) == first and first.stat().st_mtime_ns == stamp
    other = light_copy(png, TaskImageSpec(max_side=640, quality=50))
    assert other != first  # another setting, another copy


def test_an_exif_rotated_photo_is_copied_upright(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    rotated = _photo(root / "phone.jpg", (800, 600), orientation=6)  # shown 600 x 800
    shown = light_copy(rotated, TaskImageSpec(max_side=2000))
    assert shown != rotated
    with Image.open(shown) as im:
        assert im.size == (600, 800)


def test_a_copy_that_cannot_be_written_leaves_the_original(tmp_path, monkeypatch, caplog):
    root = tmp_path / "files"
    root.mkdir()
    big = _photo(root / "big.jpg", (2000, 1500))

    def refuse(*_args, **_kw):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    assert light_copy(big, TaskImageSpec()) == big
    assert "disk full" in caplog.text and "shows the original" in caplog.text


def test_the_setting_is_per_project_and_per_annotator():
    phone = {"ana@example.org": {"max_side": 640, "quality": 60}}
    cfg = LoopConfig(images="x", classes=["a"], task_image_for=phone)
    assert cfg.task_image_spec() == TaskImageSpec(1280, 80)
    assert cfg.task_image_spec("ana@example.org") == TaskImageSpec(640, 60)
    assert LoopConfig(images="x", classes=["a"], task_image=None).task_image_spec() is None
    with pytest.raises(ValueError, match="quality"):
        LoopConfig(images="x", classes=["a"], task_image={"quality": 0})
