"""Helpers for probing a real `hitl-active serve` process: free ports, a recording HTTP server
(standing in for Label Studio's file routes, or for some other service on this host), and the
serve process itself."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Recorder:
    """A real HTTP server on 127.0.0.1 that records every request it gets.

    ``files`` maps paths to bodies; ``redirects`` maps paths to ``Location`` values;
    ``unsized`` paths are sent without ``Content-Length`` (read until the connection closes).
    """

    files: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    unsized: set[str] = field(default_factory=set)
    hits: list[tuple[str, str]] = field(default_factory=list)  # (path, Authorization)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def recording_server(recorder: Recorder) -> Iterator[Recorder]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            recorder.hits.append((path, self.headers.get("Authorization", "")))
            if path in recorder.redirects:
                self.send_response(302)
                self.send_header("Location", recorder.redirects[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = recorder.files.get(path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            if path in recorder.unsized:
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_process(model: Path, files_root: Path, env: dict[str, str]) -> Iterator[str]:
    """`python -m hitl_active serve` on a free port; yields its base URL once /health answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "hitl_active", "serve", "--model", str(model)]
    cmd += ["--port", str(port), "--files-root", str(files_root)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "HITL_"))}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd, env={**clean, **env}, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield _wait_healthy(proc, f"http://127.0.0.1:{port}", log)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)


def _wait_healthy(proc: subprocess.Popen, url: str, log: IO[bytes]) -> str:
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"serve exited: {log.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("serve did not answer /health within 90 s")
        time.sleep(0.2)


def basic(name: str, password: str) -> dict[str, str]:
    """HTTP basic auth headers (a person's page key, or the shared secret as password)."""
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
