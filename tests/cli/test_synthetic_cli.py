"""``hitl-active synthetic``: a dataset to try the loop on, and the next step it names."""

from __future__ import annotations

import shlex

import pytest

from hitl_active.cli import main
from hitl_active.data.synthetic import SyntheticDataset
from hitl_active.formats.yolo import read_yolo_labels


def test_synthetic_writes_dataset_and_the_printed_init_works(tmp_path, capsys) -> None:
    out = tmp_path / "data"
    assert main(["-q", "synthetic", str(out), "--images", "24", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    images = sorted((out / "images").glob("*.jpg"))
    assert len(images) == 24
    assert (out / "classes.txt").read_text().split() == ["circle", "square", "triangle", "cross"]
    data = SyntheticDataset.load(out)
    boxes = 0
    for img in images:
        label = data.label_path(img)
        assert label.is_file()
        boxes += len(read_yolo_labels(label, str(img), 100, 100, 4))
    assert boxes > 0
    assert "near-duplicate" in text
    init = next(line.strip() for line in text.splitlines() if "hitl-active init" in line)
    argv = shlex.split(init)[1:]
    argv[1] = str(tmp_path / "ws")  # the workspace folder named in the hint
    assert main(["-q", *argv]) == 0
    assert (tmp_path / "ws" / "state.db").is_file()


def test_synthetic_same_seed_same_images(tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert main(["-q", "synthetic", str(out), "--images", "5", "--seed", "7"]) == 0
    for pa, pb in zip(sorted(a.glob("*/*")), sorted(b.glob("*/*")), strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--images", "0"], "n_images"),
        (["--burst-fraction", "2"], "burst_fraction"),
        (["--retake-fraction", "-1"], "duplicate_fraction"),
    ],
)
def test_synthetic_bad_input_exit_2(tmp_path, capsys, argv, message) -> None:
    assert main(["synthetic", str(tmp_path / "x"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_synthetic_refuses_foreign_folder(tmp_path, capsys) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["synthetic", str(out), "--images", "3"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["synthetic", str(out), "--images", "3", "--overwrite"]) == 2
    assert "not a synthetic dataset" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


def test_synthetic_overwrite_replaces_earlier_set(tmp_path) -> None:
    out = tmp_path / "data"
    assert main(["-q", "synthetic", str(out), "--images", "6"]) == 0
    assert main(["-q", "synthetic", str(out), "--images", "3", "--overwrite"]) == 0
    assert len(list((out / "images").glob("*.jpg"))) == 3
    assert len(list((out / "labels").glob("*.txt"))) == 3


def test_synthetic_unknown_class_is_a_usage_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["synthetic", str(tmp_path / "x"), "--classes", "circle,zebra"])
    assert exc.value.code == 2
    assert "choose from" in capsys.readouterr().err


def test_no_bursts_and_no_retakes_make_no_near_duplicates(tmp_path, capsys) -> None:
    argv = ["synthetic", str(tmp_path / "x"), "--images", "30", "--burst-fraction", "0"]
    assert main([*argv, "--retake-fraction", "0"]) == 0
    assert "(0 near-duplicate frames)" in capsys.readouterr().out
    assert main([argv[0], str(tmp_path / "y"), *argv[2:]]) == 0  # retakes by default
    assert "(0 near-duplicate frames)" not in capsys.readouterr().out
