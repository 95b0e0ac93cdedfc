"""Labelled datasets in the layouts they come in, and images checked before anything trains."""

from __future__ import annotations

import logging
import shutil

import pytest

from hitl_active.cli import main
from hitl_active.data.labelled import load_labelled_dataset


def _voc_copy(raccoon_dir, root, n: int, annotations: str, images: str):
    """The first ``n`` raccoon images and their XML, in ``root/annotations`` + ``root/images``."""
    (root / annotations).mkdir(parents=True)
    (root / images).mkdir()
    xmls = sorted((raccoon_dir / "annotations").glob("*.xml"))[:n]
    for xml in xmls:
        shutil.copy(xml, root / annotations / xml.name)
        shutil.copy(raccoon_dir / "images" / f"{xml.stem}.jpg", root / images / f"{xml.stem}.jpg")
    return [root / images / f"{x.stem}.jpg" for x in xmls]


@pytest.mark.parametrize(
    ("annotations", "images"), [("Annotations", "JPEGImages"), ("annots", "images")]
)
def test_voc_layouts_are_read_as_they_are(raccoon_dir, tmp_path, annotations, images) -> None:
    paths = _voc_copy(raccoon_dir, tmp_path, 5, annotations, images)
    items, names = load_labelled_dataset(tmp_path)
    assert names == ["raccoon"]
    assert [p for p, _ in items] == paths
    assert all(len(lab) >= 1 and lab.width > 0 for _, lab in items)


def test_an_unknown_layout_lists_what_was_looked_for_and_found(tmp_path) -> None:
    (tmp_path / "pics").mkdir()
    (tmp_path / "boxes.csv").write_text("x\n")
    with pytest.raises(FileNotFoundError) as info:
        load_labelled_dataset(tmp_path)
    message = str(info.value)
    for expected in ("Annotations/", "JPEGImages/", "annots/", "classes.txt", "boxes.csv, pics/"):
        assert expected in message
    (tmp_path / "Annotations").mkdir()
    with pytest.raises(FileNotFoundError, match="Annotations/ holds no"):
        load_labelled_dataset(tmp_path)


def test_images_are_checked_before_training(raccoon_dir, tmp_path, caplog) -> None:
    """A third-party JPEG missing its last 20 bytes is kept, restored; a corrupt one is left
    out with its reason; the original files are never rewritten."""
    from hitl_active.models.dataset import prepare_yolo_dataset

    paths = _voc_copy(raccoon_dir, tmp_path / "voc", 6, "Annotations", "JPEGImages")
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[:-20])
    paths[2].write_bytes(b"\xff\xd8 not a picture at all")
    with caplog.at_level(logging.WARNING):
        items, _ = load_labelled_dataset(tmp_path / "voc")
    assert [p for p, _ in items] == [paths[0], paths[1], *paths[3:]]
    assert f"{paths[2]}: corrupt or not an image" in caplog.text
    assert f"{paths[1]}: truncated JPEG" in caplog.text
    data_yaml = prepare_yolo_dataset(items, [], ["raccoon"], tmp_path / "yolo")
    restored = data_yaml.parent / "train" / "images" / paths[1].name
    assert not restored.is_symlink() and restored.read_bytes().endswith(b"\xff\xd9")
    assert paths[1].read_bytes() == data[:-20], "the client's file must stay as it was"


@pytest.mark.slow
def test_simulate_on_a_third_party_voc_dataset_with_damaged_images(raccoon_dir, tmp_path):
    paths = _voc_copy(raccoon_dir, tmp_path / "voc", 24, "Annotations", "JPEGImages")
    paths[3].write_bytes(paths[3].read_bytes()[:-20])
    paths[7].write_bytes(b"")
    out = tmp_path / "sim"
    argv = [
        "-q", "simulate", str(tmp_path / "voc"), "--strategies", "random", "--seeds", "1",
        "--rounds", "1", "--initial", "8", "--round-size", "4", "--test-size", "6", "--imgsz", "64",
        "--initial-epochs", "1", "--epochs", "1", "--train-batch", "8", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    assert (out / "results.csv").is_file()
