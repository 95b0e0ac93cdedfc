"""Model files the engine cannot use are refused at load, with one line naming the file."""

from __future__ import annotations

import pytest

from hitl_active.cli import main
from hitl_active.serving import Engine
from hitl_active.serving.engine import ModelLoadError
from hitl_active.serving.metadata import read_model_metadata


def _with_names(src, dst, names: str):
    """A copy of the ONNX model ``src`` whose ``names`` metadata is ``names``."""
    import onnx

    model = onnx.load(str(src))
    for prop in model.metadata_props:
        if prop.key == "names":
            prop.value = names
    onnx.save(model, str(dst))
    return dst


def _not_yolo(path):
    """A valid ONNX classifier-like graph: (1, 3, 64, 64) -> (1, 3, 1, 1), with names."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["images"], ["pooled"])],
        "not-yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [1, 3, 1, 1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.metadata_props.append(onnx.StringStringEntryProto(key="names", value="{0: 'a'}"))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_a_text_file_is_not_a_model(tmp_path) -> None:
    text = tmp_path / "model.onnx"
    text.write_text("this is a README, not a model\n" * 20)
    with pytest.raises(ModelLoadError, match="not an ONNX model") as info:
        Engine(text)
    assert str(text) in str(info.value) and isinstance(info.value, ValueError)


def test_an_onnx_model_without_a_yolo_head_is_refused(tmp_path) -> None:
    path = _not_yolo(tmp_path / "classifier.onnx")
    with pytest.raises(ModelLoadError, match=r"not a YOLO detection model.*\[1, 3, 1, 1\]"):
        Engine(path)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("{0: 'a', 1: ", "cannot be read"),
        ("__import__('os').system('touch pwned')", "cannot be read"),
        ("[1, 2, 3, 4]", "list of class names"),
        ("{5: 'a', 6: 'b', 7: 'c', 8: 'd'}", "class ids 0..n-1"),
        ("[]", "list of class names"),
    ],
)
def test_garbage_names_metadata_is_refused(tiny_model, tmp_path, names, message) -> None:
    path = _with_names(tiny_model.onnx, tmp_path / "m.onnx", names)
    with pytest.raises(ModelLoadError, match=message) as info:
        read_model_metadata(path)
    assert str(path) in str(info.value)
    assert not (tmp_path / "pwned").exists()


def test_names_must_match_the_heads_class_count(tiny_model, tmp_path) -> None:
    path = _with_names(tiny_model.onnx, tmp_path / "m.onnx", "['cat', 'dog']")
    with pytest.raises(ModelLoadError) as info:
        Engine(path)
    message = str(info.value)
    assert str(path) in message and "2 classes" in message and "4 classes" in message
    ok = _with_names(tiny_model.onnx, tmp_path / "ok.onnx", "{'0': 'a', '1': 'b', 2: 'c', 3: 'd'}")
    assert Engine(ok).class_names == ["a", "b", "c", "d"]


def test_prelabel_says_one_line_and_exits_2(tmp_path, capsys) -> None:
    text = tmp_path / "notes.onnx"
    text.write_text("not a model")
    image_dir = tmp_path / "pool"
    image_dir.mkdir()
    argv = ["prelabel", str(image_dir), "--model", str(text), "--out", str(tmp_path / "p.jsonl")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(text) in err and "not an ONNX model" in err
    assert "Traceback" not in err
