"""The README's annotators' path in a real browser: a real Label Studio, a real ``serve``.

Set up a workspace whose first model is a trained tiny YOLO, create and connect the Label
Studio project, run ``round``, then in headless Chromium log in, open the Data Manager and
the top-ranked task, see its pre-label regions, submit, and find the annotation in
``hitl-active status``. Screenshots stay in the test's tmp folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.fixtures.labelstudio import free_port

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "hitl_active", *args], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, f"hitl-active {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out


def _status(ws: Path, env: dict) -> dict:
    return json.loads(_cli("status", "-w", str(ws), "--json", env=env).stdout)


@pytest.fixture(scope="module")
def playwright_browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


def test_annotators_path_in_a_browser(label_studio, tiny_model, playwright_browser, tmp_path):
    run = uuid.uuid4().hex[:8]
    data = label_studio.files_root / f"browser-{run}"
    shutil.copytree(tiny_model.dataset.root, data)
    ws, shots = tmp_path / "ws", tmp_path / "screenshots"
    shots.mkdir()
    secret = uuid.uuid4().hex
    env = dict(os.environ, LABEL_STUDIO_URL=label_studio.url,
               LABEL_STUDIO_API_KEY=label_studio.token, HITL_WEBHOOK_SECRET=secret,
               LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(label_studio.files_root))  # fmt: skip
    classes = ",".join(tiny_model.class_names)
    _cli("init", str(ws), "--images", str(data / "images"), "--classes", classes,
         "--gold-size", "4", "--gold-labels", str(data / "labels"), "--model",
         str(tiny_model.weights), "--imgsz", str(tiny_model.imgsz), "--round-size", "5",
         env=env)  # fmt: skip
    title = f"browser-{run}"
    _cli("label-studio", "setup", "-w", str(ws), "--project", title,
         "--images", str(data / "images"), env=env)  # fmt: skip
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "hitl_active", "serve", "-w", str(ws), "--port", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        _cli("label-studio", "connect", "-w", str(ws), "--project", title,
             "--serve-url", f"http://127.0.0.1:{port}", env=env)  # fmt: skip
        _cli("round", "-w", str(ws), "--project", title, env=env)
        before = _status(ws, env)
        assert before["pending_tasks"] == 5

        headers = label_studio.headers()
        projects = httpx.get(f"{label_studio.url}/api/projects", headers=headers,
                             params={"title": title}).json()  # fmt: skip
        project = next(p for p in projects.get("results", projects) if p["title"] == title)
        query = {"project": project["id"], "fields": "all"}
        tasks = httpx.get(f"{label_studio.url}/api/tasks", headers=headers, params=query).json()
        tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
        top = min(tasks, key=lambda t: t["id"])  # pushed in ranked order
        n_regions = len(top["predictions"][0]["result"]) if top["predictions"] else 0
        assert top["data"]["name"] == f"{data.name}/images/{Path(top['data']['image_key']).name}"
        assert isinstance(top["data"]["width"], int) and isinstance(top["data"]["height"], int)

        page = playwright_browser.new_page(viewport={"width": 2200, "height": 900})
        page.goto(f"{label_studio.url}/user/login/")
        page.fill("input[name=email]", label_studio.username)
        page.fill("input[name=password]", label_studio.password)
        with page.expect_navigation(timeout=60_000):
            page.click("button[type=submit]")
        assert "/user/login" not in page.url, "Label Studio refused the fixture's login"
        page.goto(f"{label_studio.url}/projects/{project['id']}/data")
        page.wait_for_selector("text=" + top["data"]["name"], timeout=60_000)
        page.wait_for_timeout(2000)  # thumbnails
        page.screenshot(path=str(shots / "data_manager.png"))
        page.goto(f"{label_studio.url}/projects/{project['id']}/data?task={top['id']}")
        submit = page.locator("button:has-text('Submit')").first
        submit.wait_for(timeout=60_000)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(shots / "labelling.png"))
        why = top["data"]["why"]  # one line above the image: why this image was chosen
        assert why.startswith("Picked 1 of ") and page.get_by_text(why, exact=True).count() == 1
        if n_regions:  # the regions panel lists the pre-label's boxes by class name
            names = [r["value"]["rectanglelabels"][0] for r in top["predictions"][0]["result"]]
            most = max(set(names), key=names.count)
            assert page.get_by_text(most, exact=True).count() >= 2  # label button + regions
        submit.click()
        page.wait_for_timeout(3000)
        page.screenshot(path=str(shots / "submitted.png"))

        deadline = time.monotonic() + 60
        after = _status(ws, env)
        while after["pending_tasks"] == before["pending_tasks"] and time.monotonic() < deadline:
            time.sleep(1)
            after = _status(ws, env)
        assert after["pending_tasks"] == before["pending_tasks"] - 1, tmp_path / "serve.log"
    finally:
        serve.terminate()
        serve.wait(timeout=20)
        log.close()
