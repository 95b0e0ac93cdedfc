"""Hostile names through the templates: an annotator's page, the manager's page and the
``hitl-active report`` page, for a team whose names, class names and tips are markup,
template syntax, ampersands and quotes, or Arabic.

The simulated team of ``tests/server/pages_team.py`` is written with such names; each page
must show every one of them as text: escaped in the source, never as live markup, never read
as template code (``{{7*7}}`` stays ``{{7*7}}``, not ``49``).
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

import jinja2
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

import tests.server.pages_team as team
from hitl_active.labelstudio import SECRET_HEADER
from hitl_active.reports.report import write_report
from hitl_active.server import AppSettings, create_app
from hitl_active.templates import render
from hitl_active.workspace.workspace import Workspace
from tests.server.test_pages import basic

SECRET = "templates-hostile-secret"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SUM = "{{7*7}}"
RAW = "{% raw %}"
QUOTES = "Tom & 'Jerry' \"Q\""
ARABIC = "مريم"
# amina and chen give the team's peer tips; the last person is the weak one, flagged on recall.
PEOPLE = ("amina", SCRIPT, "chen", SUM, RAW, QUOTES, IMG)
CLASSES = ("<b>circle</b>", SUM, "A&B \"sq\" 'x'", "صندوق")
TIP = "<script>tip()</script> & {{7*7}}"
PAYLOADS = (SCRIPT, IMG, SUM, RAW, QUOTES, ARABIC, *CLASSES, TIP)


class _Markup(HTMLParser):
    """The tags, attributes and text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        self.text += [value for _, value in attrs if value]  # alt and aria-label are read too

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _read(page: str) -> _Markup:
    parsed = _Markup()
    parsed.feed(page)
    parsed.close()
    return parsed


def _escaped(value: str) -> set[str]:
    """``value`` as HTML text, in either usual spelling of the quotes."""
    return {html.escape(value, quote=True), str(escape(value))}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The pages' simulated team under hostile names, with hostile class names and a tip."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(team, "PEOPLE", PEOPLE)
        mp.setattr(team, "TRAINEE", ARABIC)
        built = team.build_team(tmp_path_factory.mktemp("hostile-pages"))
    with Workspace.open(built.ws) as ws:
        n = len(ws.config.classes)
        assert n >= len(CLASSES)
        ws.config.classes = [*CLASSES, *(f"class {i}" for i in range(len(CLASSES), n))]
        ws.save_config()
        ws.store.add_peer_tip(ws.store.annotator("amina").id, "<i>recall</i>", "draw_one", TIP)
    return built


@pytest.fixture(scope="module")
def pages(site, tmp_path_factory):
    """Every person's page, the manager's page and the report page."""
    app = create_app(AppSettings(workspace=site.ws, webhook_secret=SECRET))
    out = {}
    with TestClient(app) as client:
        for name in [*site.people, site.trainee]:
            r = client.get("/me", headers=basic(name, site.keys[name]))
            assert r.status_code == 200, r.text[-500:]
            out[name] = r.text
        r = client.get("/manager", headers={SECRET_HEADER: SECRET})
        assert r.status_code == 200, r.text[-500:]
        out["manager"] = r.text
    with Workspace.open(site.ws) as ws:
        _, report = write_report(ws, tmp_path_factory.mktemp("hostile-report"))
    out["report"] = report.read_text(encoding="utf-8")
    return out


def _no_live_markup(page: str) -> None:
    parsed = _read(page)
    assert "script" not in parsed.tags and "i" not in parsed.tags
    assert not [a for a in parsed.attrs if a.startswith("on")], "an event handler got in"
    assert "<script" not in page.lower() and "<img src=x" not in page


def _shows(page: str, value: str) -> None:
    """``value`` is on the page as text, escaped, and nowhere raw."""
    if value != html.escape(value, quote=False):  # holds markup characters
        assert value not in page, f"{value!r} is on the page unescaped"
    assert any(e in page for e in _escaped(value)), f"{value!r} is not on the page"
    assert any(value in t for t in _read(page).text), f"{value!r} does not read as text"


@pytest.mark.parametrize("name", [SCRIPT, IMG, SUM, RAW, QUOTES, ARABIC])
def test_an_annotator_page_shows_a_hostile_name_as_text(pages, name):
    page = pages[name]
    _no_live_markup(page)
    _shows(page, name)
    assert any(f"<h1>{e} — your page</h1>" in page for e in _escaped(name))
    assert any(f"<title>{e} — your page</title>" in page for e in _escaped(name))
    for c in CLASSES:  # the skill table has a row per class
        _shows(page, c)


def test_the_template_syntax_in_a_name_is_never_run(pages):
    assert "<h1>{{7*7}} — your page</h1>" in pages[SUM]
    assert "<h1>{% raw %} — your page</h1>" in pages[RAW]
    assert "<td>{{7*7}}</td>" in pages["manager"] and "<td>{{7*7}}</td>" in pages["report"]
    assert "<h1>49 — your page</h1>" not in pages[SUM]


def test_a_hostile_tip_and_skill_read_as_text(pages):
    for page in (pages[ARABIC], pages[SCRIPT], pages["manager"]):
        _no_live_markup(page)
        _shows(page, TIP)
        _shows(page, "<i>recall</i>")


def test_the_manager_page_shows_every_hostile_name_and_class_as_text(pages):
    page = pages["manager"]
    _no_live_markup(page)
    for value in PAYLOADS:
        _shows(page, value)
    # the weak annotator's flag names them, escaped
    assert any(f'<div class="flag">{e}: recall of' in page for e in _escaped(IMG))


def test_the_report_page_shows_every_hostile_name_and_class_as_text(pages):
    page = pages["report"]
    _no_live_markup(page)
    for value in (SCRIPT, IMG, SUM, RAW, QUOTES, ARABIC, *CLASSES):
        _shows(page, value)
    assert any(f"<th>{e}</th>" in page for e in _escaped(CLASSES[0]))  # the AP column's head
    assert any(f"<td>{e}</td>" in page for e in _escaped(QUOTES))  # the team table's row


def test_a_value_a_template_lacks_is_an_error_not_an_empty_string():
    with pytest.raises(jinja2.UndefinedError, match="rows"):
        render("pages/transparency.html", workspace="ws", skipped="", floors=[])


def test_a_page_takes_its_language_and_direction():
    page = render("pages/transparency.html", workspace=ARABIC, skipped="", rows=[], floors=[],
                  lang="ar", dir="rtl")  # fmt: skip
    assert page.startswith('<!doctype html>\n<html lang="ar" dir="rtl">')
    assert f"<h1>Transparency report — {ARABIC}</h1>" in page
    default = render("pages/transparency.html", workspace="ws", skipped="", rows=[], floors=[])
    assert '<html lang="en" dir="ltr">' in default
