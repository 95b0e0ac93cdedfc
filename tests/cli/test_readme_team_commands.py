"""The README's team sections (6–9), command by command, in order, as a new user types them.

Every ``hitl-active`` line of their fenced blocks must parse with the CLI, name the
workspace, and name only people the README added before; the ones that need no Label Studio
and no people's answers (adding and setting people, page keys, reports, ``work`` with the
README's ``work:`` block) are run for real against a fresh workspace and must succeed. The
rest (queues, loop, practice enrol/next/grade) go through a real Label Studio in
``tests/team`` and ``tests/e2e``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from PIL import Image

from hitl_active.cli import build_parser, main

README = Path(__file__).resolve().parents[2] / "README.md"
NEEDS_LABEL_STUDIO = {("annotators", "queues"), ("loop", None), ("practice", "enrol"),
                      ("practice", "next"), ("practice", "grade"),
                      ("practice", "progress")}  # fmt: skip
NAMED = {("annotators", "set"), ("annotators", "key"), ("annotators", "show"),
         ("practice", "enrol"), ("practice", "next"), ("practice", "grade"),
         ("practice", "progress"), ("practice", "tip")}  # fmt: skip


def _team_sections() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### 6. A team")
    return text[start : text.index("\n## ", start)]


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _commands() -> list[list[str]]:
    out = []
    for block in _blocks(_team_sections(), "bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("hitl-active "):
                out.append(shlex.split(line)[1:])
    return out


def _kind(argv: list[str]) -> tuple[str, str | None]:
    sub = argv[1] if len(argv) > 1 and not argv[1].startswith("-") else None
    return argv[0], sub


def test_the_readme_team_commands_run_in_order(tmp_path, monkeypatch, capsys) -> None:
    commands = _commands()
    assert len(commands) >= 15, "the README's team sections lost their commands"
    images = tmp_path / "pool" / "images"
    images.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (64, 48), (50 * i, 0, 0)).save(images / f"{i}.jpg")
    monkeypatch.chdir(tmp_path)  # the README's workspace is `ws` in the working folder
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    init = ["init", "ws", "--images", str(images), "--classes", "car,bus,bicycle"]
    assert main([*init, "--gold-size", "2"]) == 0
    (yaml_block,) = _blocks(_team_sections(), "yaml")  # the README's `work:` block, as written
    config = tmp_path / "ws" / "hitl-active.yaml"
    config.write_text(config.read_text() + "\n" + yaml_block.split("\n", 1)[1])
    (tmp_path / "ws" / "floors.csv").write_text(
        "location,currency,hourly,source,date\nBerlin,EUR,12.82,statutory minimum,2025-01-01\n"
    )
    parser = build_parser()
    added: list[str] = []
    for argv in commands:
        kind = _kind(argv)
        args = parser.parse_args(argv)  # exits (a failed test) on a command that does not parse
        assert getattr(args, "workspace", None) == "ws", f"no -w ws: hitl-active {' '.join(argv)}"
        if kind == ("annotators", "add"):
            added.append(argv[2])
        elif kind in NAMED:
            assert argv[2] in added, f"{argv[2]} is used before the README adds them: {argv}"
        if kind in NEEDS_LABEL_STUDIO:
            continue
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 0, f"hitl-active {' '.join(argv)} -> {code}\n{captured.err}"
    assert {"ana", "ben", "cai", "tia"} <= set(added)


@pytest.mark.parametrize("argv", _commands(), ids=lambda a: " ".join(a[:2]))
def test_every_readme_team_command_names_the_workspace(argv) -> None:
    assert "-w" in argv or "--workspace" in argv
