"""Resumable JSONL output: partial-line repair and the done set."""

from __future__ import annotations

import json

import pytest

from hitl_active.serving.jsonl import _repair_tail, image_key, read_done


@pytest.mark.parametrize(
    ("content", "chunk", "expected"),
    [
        (b'{"a":1}\n{"b":2}\n{"c', 4, b'{"a":1}\n{"b":2}\n'),
        (b'{"abc', 2, b""),
        (b"x\n", 2, b"x\n"),
        (b"x\n" + b"y" * 100, 7, b"x\n"),
        (b"", 4, b""),
    ],
)
def test_repair_tail_cuts_only_the_partial_line(tmp_path, content, chunk, expected) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(content)
    _repair_tail(path, chunk)
    assert path.read_bytes() == expected


def test_read_done_and_retry_errors(tmp_path) -> None:
    path = tmp_path / "p.jsonl"
    lines = [
        {"image": image_key("a.jpg"), "width": 1, "height": 1, "detections": {}},
        {"image": image_key("b.jpg"), "error": "corrupt"},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + "not json\n")
    assert read_done(path) == {image_key("a.jpg"), image_key("b.jpg")}
    assert read_done(path, retry_errors=True) == {image_key("a.jpg")}
    assert len(path.read_text().splitlines()) == 1  # the error line is gone
    assert read_done(tmp_path / "absent.jsonl") == set()
