"""``hitl-active prelabel`` / ``export`` / ``train`` through the real command line."""

from __future__ import annotations

import json
import shutil

import pytest

from hitl_active.cli import main
from hitl_active.detections import Detections


@pytest.fixture
def image_dir(tiny_model, tmp_path):
    folder = tmp_path / "pool"
    folder.mkdir()
    for path in tiny_model.dataset.image_paths()[:6]:
        shutil.copy(path, folder / path.name)
    (folder / "zz_corrupt.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    return folder


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_prelabel_writes_jsonl_and_resumes(tiny_model, image_dir, tmp_path, capsys) -> None:
    out = tmp_path / "pred.jsonl"
    argv = [
        "prelabel",
        str(image_dir),
        "--model",
        str(tiny_model.onnx),
        "--out",
        str(out),
        "--no-progress",
        "--conf-floor",
        "0.01",
        "--infer-batch",
        "4",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["written"] == 6 and summary["errors"] == 1
    records = _lines(out)
    assert len(records) == 7
    errors = [r for r in records if "error" in r]
    assert len(errors) == 1 and errors[0]["image"].endswith("zz_corrupt.jpg")
    good = [r for r in records if "error" not in r]
    for record in good:
        det = Detections.from_dict(record["detections"])
        assert det.image_size == (record["width"], record["height"])
        assert record["model_version"] == "tiny-v1"
        assert det.embedding is not None and det.num_classes == 4
    assert sum(len(r["detections"]["xyxy"]) for r in good) > 0

    # simulate a crash in the middle of writing the last two lines
    text = out.read_text().splitlines(keepends=True)
    out.write_text("".join(text[:-2]) + text[-2][: len(text[-2]) // 2])
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["skipped_already_done"] == 5
    assert summary["written"] + summary["errors"] == 2
    records = _lines(out)  # every line parses: the partial one was dropped
    assert sorted(r["image"] for r in records) == sorted({r["image"] for r in records})
    assert len(records) == 7

    assert main(argv) == 0  # nothing left to do
    assert json.loads(capsys.readouterr().out)["skipped_already_done"] == 7
    assert main([*argv, "--retry-errors"]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == 1
    assert len(_lines(out)) == 7


def test_prelabel_user_errors(tiny_model, tmp_path, capsys) -> None:
    assert (
        main(
            [
                "prelabel",
                str(tmp_path / "nope"),
                "--model",
                str(tiny_model.onnx),
                "--out",
                str(tmp_path / "o.jsonl"),
            ]
        )
        == 2
    )
    assert "not found" in capsys.readouterr().err
    assert (
        main(
            [
                "prelabel",
                str(tmp_path),
                "--model",
                str(tmp_path / "m.onnx"),
                "--out",
                str(tmp_path / "o.jsonl"),
            ]
        )
        == 2
    )
    assert "hitl-active export" in capsys.readouterr().err


def test_export_cli(tiny_model, tmp_path, capsys) -> None:
    out = tmp_path / "plain.onnx"
    argv = ["export", "--weights", str(tiny_model.weights), "--out", str(out), "--no-embedding"]
    assert main(argv) == 0
    assert "embedding False" in capsys.readouterr().out
    assert main(["export", "--format", "tfrecord", "--out", str(tmp_path / "x")]) == 2
    assert "tfrecord" in capsys.readouterr().err
    assert main(["export", "--out", str(out)]) == 2
    assert "--weights" in capsys.readouterr().err


def test_train_cli_reports_missing_inputs(tmp_path, capsys) -> None:
    assert main(["train", str(tmp_path / "data.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert "data.yaml" in capsys.readouterr().err
    (tmp_path / "data.yaml").write_text("names: [a]\n")
    argv = ["train", str(tmp_path / "data.yaml"), "--out", str(tmp_path), "--model", "w.pt"]
    assert main(argv) == 2
    assert "w.pt not found" in capsys.readouterr().err


def test_prelabel_reports_hostile_pool_entries(tiny_model, tmp_path, capsys, caplog) -> None:
    """A pixel bomb is refused from its header, a JPEG missing its last bytes is pre-labelled
    with a warning, and a symlink loop or broken link is listed with its reason."""
    from PIL import Image

    pool = tmp_path / "pool"
    pool.mkdir()
    good = tiny_model.dataset.image_paths()[0]
    shutil.copy(good, pool / "a_good.jpg")
    data = (pool / "a_good.jpg").read_bytes()
    (pool / "b_cut.jpg").write_bytes(data[:-20])
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # only while writing the bomb
    try:
        Image.new("1", (20000, 20000)).save(pool / "c_bomb.png")
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    (pool / "loop").symlink_to(".")
    (pool / "gone.jpg").symlink_to("nowhere.jpg")
    out = tmp_path / "pred.jsonl"
    argv = ["prelabel", str(pool), "--model", str(tiny_model.onnx), "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["written"] == 2 and summary["errors"] == 1
    assert summary["skipped_pool_entries"] == 2
    assert "symlink loop" in caplog.text and "broken symlink" in caplog.text
    records = {r["image"].rsplit("/", 1)[-1]: r for r in _lines(out)}
    assert "limit" in records["c_bomb.png"]["error"]
    assert "truncated JPEG" in records["b_cut.jpg"]["warning"]
    assert "warning" not in records["a_good.jpg"]
