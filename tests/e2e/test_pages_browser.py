"""The people's pages in a real headless Chromium, served by a real ``hitl-active serve``.

A simulated team (``tests/server/pages_team.py``) is written into a workspace; ``serve -w``
serves it. The annotator page is opened with a person's own page key, the manager page with
the shared secret; both must show their charts (images decoded, SVG drawn, non-zero size),
fit a phone's width, and the annotator page must leak no honeypot identity (no gold image
name, no honeypot task id, no "honeypot") and nothing of another person (no other name, no
other wage). Screenshots stay in the test's tmp folder, and go to ``$HITL_SCREENSHOT_DIR``
too when it is set (``scripts/page_screenshots.py`` writes ``docs/page_*.png`` that way).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.server.pages_team import PEOPLE, TRAINEE, TeamSite, build_team
from tests.server.server_helpers import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
REPO = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1000, "height": 900}
PHONE = {"width": 390, "height": 844}

CHARTS_JS = """() => [...document.querySelectorAll('img, svg')].map(e => {
  const r = e.getBoundingClientRect();
  return {tag: e.tagName.toLowerCase(), w: r.width, h: r.height,
          decoded: e.tagName === 'IMG' ? e.complete && e.naturalWidth > 0 : true};
})"""


@contextmanager
def serve_workspace(ws: Path, secret: str, log: Path) -> Iterator[str]:
    """``hitl-active serve -w ws`` on a free port; yields its URL once /health answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "HITL_"))}
    env |= {"HITL_WEBHOOK_SECRET": secret, "YOLO_OFFLINE": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hitl_active", "serve", "-w", str(ws), "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                assert proc.poll() is None, log.read_text()[-2000:]
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "serve did not answer /health in 90 s"
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def open_page(browser, url: str, user: str, password: str, viewport: dict, shot: Path | None):
    """Open ``url`` with basic auth; returns (status, visible text, charts, overflow px)."""
    context = browser.new_context(
        viewport=viewport, http_credentials={"username": user, "password": password}
    )
    try:
        page = context.new_page()
        response = page.goto(url, timeout=120_000)
        page.wait_for_load_state("load")
        charts = page.evaluate(CHARTS_JS)
        text = page.inner_text("body")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if shot is not None:
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        return response.status, text, charts, overflow
    finally:
        context.close()


def keep(shot: Path) -> None:
    """Copy a screenshot to ``$HITL_SCREENSHOT_DIR`` when it is set."""
    target = os.environ.get("HITL_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[TeamSite, str, str, Path]]:
    root = tmp_path_factory.mktemp("pages-browser")
    site = build_team(root)
    secret = uuid.uuid4().hex
    with serve_workspace(site.ws, secret, root / "serve.log") as url:
        yield site, url, secret, root / "screenshots"


def _wages(site: TeamSite) -> dict[str, str]:
    """Each person's effective wage as the pages write it."""
    from hitl_active.team.team_work_figures import team_work
    from hitl_active.workspace.workspace import Workspace

    with Workspace.open(site.ws) as ws:
        work = team_work(ws)
    return {n: f"{p.wage:.2f} EUR" for n, p in work.people.items() if p.wage is not None}


def _drawn(charts: list[dict]) -> list[dict]:
    return [c for c in charts if c["w"] > 0 and c["h"] > 0 and c["decoded"]]


def test_annotator_page_in_a_browser(browser, served):
    site, url, _, shots = served
    name = "amina"
    status, text, charts, overflow = open_page(
        browser, f"{url}/me", name, site.keys[name], DESKTOP, shots / "page_annotator.png"
    )
    assert status == 200
    keep(shots / "page_annotator.png")
    drawn = _drawn(charts)
    assert len(drawn) == len(charts) and sum(c["tag"] == "img" for c in drawn) >= 3
    assert any(c["tag"] == "svg" for c in drawn)  # the wage and workload meters
    assert f"{name} — your page" in text
    for section in ("Your hours and pay", "Your skill per class", "Training", "Tips from"):
        assert section in text
    lowered = text.lower()
    assert "honeypot" not in lowered
    for image in site.gold_images:
        assert Path(image).stem.lower() not in lowered
    numbers = {int(n) for n in re.findall(r"\b\d+\b", text)}
    assert not numbers & set(site.honeypot_tasks), "a honeypot's task id is on the page"
    for other in [*PEOPLE, TRAINEE]:
        if other != name:
            assert not re.search(rf"\b{other}\b", text, re.IGNORECASE), f"{other} named"
    assert overflow <= 1
    for other, wage in _wages(site).items():
        if other != name and wage != _wages(site)[name]:
            assert wage not in text, f"{other}'s wage {wage} is on {name}'s page"
    _, _, phone_charts, phone_overflow = open_page(
        browser, f"{url}/me", name, site.keys[name], PHONE, shots / "page_annotator_phone.png"
    )
    assert phone_overflow <= 1, "the page is wider than a phone's screen"
    assert len(_drawn(phone_charts)) == len(phone_charts)


def test_trainee_page_shows_training(browser, served):
    site, url, _, shots = served
    status, text, charts, _ = open_page(
        browser, f"{url}/me", TRAINEE, site.keys[TRAINEE], DESKTOP, shots / "page_trainee.png"
    )
    assert status == 200
    keep(shots / "page_trainee.png")
    assert "Your next practice set" in text and "weakest open skill" in text
    assert any(c["tag"] == "img" and c["w"] > 200 for c in _drawn(charts))


def test_wrong_key_and_secret_do_not_open_a_page(browser, served):
    site, url, secret, _ = served
    assert open_page(browser, f"{url}/me", "amina", site.keys["bashir"], DESKTOP, None)[0] == 401
    assert open_page(browser, f"{url}/me", "amina", secret, DESKTOP, None)[0] == 401
    assert (
        open_page(browser, f"{url}/manager", "amina", site.keys["amina"], DESKTOP, None)[0] == 401
    )


def test_manager_page_in_a_browser(browser, served):
    _, url, secret, shots = served
    status, text, charts, overflow = open_page(
        browser, f"{url}/manager", "manager", secret, DESKTOP, shots / "page_manager.png"
    )
    assert status == 200
    keep(shots / "page_manager.png")
    drawn = _drawn(charts)
    assert len(drawn) == len(charts) and sum(c["tag"] == "img" for c in drawn) >= 2
    assert max(c["w"] for c in drawn) > 400  # the heat map
    for person in [*PEOPLE, TRAINEE]:
        assert person in text
    for section in ("Skill matrix", "Fair-work flags", "Trainees' mastery", "Gold coverage",
                    "Transparency report", "Return on the annotation hours"):  # fmt: skip
        assert section in text
    assert overflow <= 1


@pytest.mark.parametrize(
    ("lang", "direction", "heading"),
    [("ar", "rtl", "ساعاتك وأجرك"), ("uk", "ltr", "Ваші години й оплата")],
)
def test_an_annotators_page_in_their_language_on_a_phone(browser, served, lang, direction, heading):
    """Set from the annotator record; Arabic lays out right to left; nothing overflows a
    phone's width. Screenshots: docs/me_ar.png, docs/me_uk.png (HITL_SCREENSHOT_DIR=docs)."""
    from hitl_active.workspace.workspace import Workspace

    site, url, _, shots = served
    name = "chen"
    with Workspace.open(site.ws) as ws:
        person = ws.store.annotator(name)
        ws.store.update_annotator(person.id, languages=f"{lang},en")
    try:
        context = browser.new_context(
            viewport=PHONE, http_credentials={"username": name, "password": site.keys[name]}
        )
        page = context.new_page()
        assert page.goto(f"{url}/me", timeout=120_000).status == 200
        page.wait_for_load_state("load")
        html_dir, h2_dir, overflow = page.evaluate(
            "[document.documentElement.dir,"
            " getComputedStyle(document.querySelector('h2')).direction,"
            " document.documentElement.scrollWidth - window.innerWidth]"
        )
        text = page.inner_text("body")
        shot = shots / f"me_{lang}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        context.close()
    finally:
        with Workspace.open(site.ws) as ws:
            ws.store.update_annotator(person.id, languages=person.languages)
    keep(shot)
    assert (html_dir, h2_dir) == (direction, direction)
    assert heading in text and "Your hours and pay" not in text
    assert overflow <= 1, "the page is wider than a phone's screen"
