"""Failures a user can fix print one line and exit 2; a bug prints one line and exits 1.

The commands run as real ``hitl-active`` processes against real failures: a closed port,
a server that refuses the token, a server that is not Label Studio, a state database that
cannot be written (an immutable file), and a full disk (a file-size limit).
"""

from __future__ import annotations

import http.server
import json
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading

import pytest
from PIL import Image

from hitl_active.cli import main

CLI = [sys.executable, "-m", "hitl_active"]


@pytest.fixture
def workspace(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(12):
        Image.new("RGB", (32, 32), (20 * i, 0, 0)).save(images / f"{i}.png")
    ws = tmp_path / "ws"
    args = ["init", str(ws), "--images", str(images), "--classes", "a,b", "--gold-size", "2"]
    assert main([*args, "--round-size", "4"]) == 0
    return ws


def _run(*args: str, preexec=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, preexec_fn=preexec
    )


def _error_line(proc: subprocess.CompletedProcess) -> str:
    """The one ``error:`` line, checking it is the only one and no traceback came with it."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_server():
    """A local HTTP server answering every request with a fixed status, type and body."""
    servers = []

    def start(status: int, content_type: str, body: bytes) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = _answer

            def log_message(self, *args: object) -> None:
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_label_studio_down_during_round(workspace):
    url = f"http://127.0.0.1:{_closed_port()}"
    proc = _run("round", "-w", str(workspace), "--label-studio", url, "--token", "abc")
    assert proc.returncode == 2
    line = _error_line(proc)
    assert url in line and "did not answer" in line and "label-studio status" in line


def test_wrong_token_during_round(workspace, fake_server):
    url = fake_server(401, "application/json", json.dumps({"detail": "Invalid token."}).encode())
    proc = _run("round", "-w", str(workspace), "--label-studio", url, "--token", "wrong")
    assert proc.returncode == 2
    assert "refused the API token (HTTP 401" in _error_line(proc)


@pytest.mark.parametrize(
    ("content_type", "body", "got"),
    [
        ("text/html; charset=utf-8", b"<html>router login</html>", "HTTP 200 text/html: "),
        ("application/json", b'{"hello": "world"}', "a JSON dict without 'results'"),
    ],
)
def test_setup_against_a_server_that_is_not_label_studio(fake_server, content_type, body, got):
    url = fake_server(200, content_type, body)
    proc = _run(
        "label-studio", "setup", "--url", url, "--token", "abc", "--project", "cars", "--classes",
        "a,b",
    )  # fmt: skip
    assert proc.returncode == 2
    line = _error_line(proc)
    assert f"URL {url} did not answer like Label Studio (got {got}" in line


@pytest.mark.skipif(shutil.which("chattr") is None, reason="chattr is needed to lock a file")
def test_read_only_state_database(workspace):
    db = workspace / "state.db"
    locked = subprocess.run(["chattr", "+i", str(db)], capture_output=True)
    if locked.returncode:
        pytest.skip(f"this filesystem has no immutable files: {locked.stderr.decode().strip()}")
    try:
        proc = _run("round", "-w", str(workspace))
        proc_v = _run("-v", "round", "-w", str(workspace))
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    assert proc.returncode == 2
    assert "state database cannot be written (attempt to write a readonly database)" in (
        _error_line(proc)
    )
    assert proc_v.returncode == 2 and "Traceback" in proc_v.stderr  # only with -v
    done = _run("round", "-w", str(workspace))  # writable again: the same command resumes
    assert done.returncode == 0, done.stderr
    assert "round 1: 2 images selected; their tasks wait in" in done.stdout


def test_disk_full_during_round(workspace):
    def small_files() -> None:  # writes past 8 KiB fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    proc = _run("round", "-w", str(workspace), preexec=small_files)
    assert proc.returncode == 2
    line = _error_line(proc)
    assert "could not be written" in line and "free space" in line
    done = _run("round", "-w", str(workspace))
    assert done.returncode == 0 and "round 1: 2 images selected; their tasks wait in" in done.stdout


def test_an_unexpected_error_is_one_line_pointing_at_verbose(workspace, monkeypatch, capsys):
    import hitl_active.cli.loop as loop_cli

    def broken(args: object) -> int:
        raise KeyError("boom")

    monkeypatch.setattr(loop_cli, "_status", broken)
    assert main(["status", "-w", str(workspace)]) == 1
    err = capsys.readouterr().err
    assert err == "error: KeyError: 'boom' (a bug? run with -v for the traceback)\n"
    assert main(["-v", "status", "-w", str(workspace)]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_help_lists_commands_in_the_order_a_user_meets_them() -> None:
    from hitl_active.cli import HELP_ORDER, build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    shown = [a.dest for a in action._choices_actions]
    assert shown[:3] == ["init", "round", "loop"]
    assert set(shown) == set(HELP_ORDER)  # a new command gets its place in the order


def test_init_takes_the_workspace_as_w_like_every_command(tmp_path, capsys) -> None:
    from PIL import Image

    from hitl_active.cli import main

    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(3):
        Image.new("RGB", (32, 24), (60 * i, 0, 0)).save(pool / f"{i}.jpg")
    base = ["init", "--images", str(pool), "--classes", "a", "--gold-size", "1"]
    assert main([*base, "-w", str(tmp_path / "ws")]) == 0
    assert (tmp_path / "ws" / "hitl-active.yaml").is_file()
    capsys.readouterr()
    assert main([*base, str(tmp_path / "a"), "-w", str(tmp_path / "b")]) == 2
    assert "name the workspace to create once" in capsys.readouterr().err


def _commands(parser=None, path=()):
    """Every command of the CLI (``path``: its words) with its parser."""
    from hitl_active.cli import build_parser

    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def test_every_command_that_talks_to_label_studio_takes_the_same_url_flag() -> None:
    takes_url = {}
    for path, parser in _commands():
        flags = {s for a in parser._actions for s in a.option_strings}
        if flags & {"--url", "--ls-url", "--label-studio"}:
            takes_url[" ".join(path)] = flags
    assert {"init", "round", "loop", "label-studio connect", "practice next"} <= set(takes_url)
    takes_url.pop("demo")  # the demo's --label-studio starts a Label Studio of its own
    for command, flags in takes_url.items():
        assert "--label-studio" in flags, f"hitl-active {command} spells the URL flag otherwise"
        assert "--token" in flags, f"hitl-active {command} has a URL but no --token"


def test_images_per_round_per_training_step_and_per_inference_call_have_distinct_names() -> None:
    """ "batch" meant three things; each has its own flag now (the old spelling is an alias)."""
    meaning = {"round_size": "--round-size", "train_batch": "--train-batch",
               "infer_batch": "--infer-batch"}  # fmt: skip
    seen = set()
    for path, parser in _commands():
        for action in parser._actions:
            if not any("batch" in s or "round-size" in s for s in action.option_strings):
                continue
            command = " ".join(path)
            assert action.dest in meaning, f"hitl-active {command}: {action.option_strings}"
            assert action.option_strings[0] == meaning[action.dest], command
            seen.add(action.dest)
    assert seen == set(meaning)
