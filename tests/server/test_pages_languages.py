"""The annotator's page in their language: Arabic right to left, Ukrainian, English by
default; numbers in the locale's form; every text of the page in each catalogue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hitl_active.i18n import LANGUAGES, page_language, translator
from hitl_active.server.pages.annotator import annotator_page
from hitl_active.team.team_work_figures import team_work
from hitl_active.workspace.workspace import Workspace
from tests.server.pages_team import build_team

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "hitl_active" / "locale"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    site = build_team(tmp_path_factory.mktemp("pages-lang"))
    with Workspace.open(site.ws) as ws:
        yield ws


@pytest.fixture(scope="module")
def work(ws):
    return team_work(ws)


def test_a_persons_language_is_the_first_of_theirs_with_a_catalogue():
    assert page_language("ar,en") == "ar" and page_language("sw, uk") == "uk"
    assert page_language("uk-UA") == "uk" and page_language(None) == "en"
    assert page_language("sw") == "en"  # no catalogue yet: English


@pytest.mark.parametrize(
    ("lang", "direction", "heading", "hours"),
    [("ar", "rtl", "ساعاتك وأجرك", "ساعات هذا الأسبوع"),
     ("uk", "ltr", "Ваші години й оплата", "годин цього тижня"),
     ("en", "ltr", "Your hours and pay", "hours this week")],
)  # fmt: skip
def test_the_page_speaks_the_persons_language(ws, work, lang, direction, heading, hours):
    page = annotator_page(ws, "amina", work, lang=lang)
    assert f'<html lang="{lang}" dir="{direction}">' in page
    assert f"<h2>{heading}</h2>" in page and hours in page
    if lang != "en":
        assert "Your hours and pay" not in page and "At a glance" not in page


def test_numbers_take_the_locales_form(ws, work):
    uk, en = (annotator_page(ws, "amina", work, lang=lang) for lang in ("uk", "en"))
    wage = next(p.split("</div>")[0] for p in en.split('<div class="v">') if "EUR" in p)
    assert wage.endswith(" EUR") and "." in wage
    assert wage.replace(".", ",") in uk  # a decimal comma in Ukrainian


def test_the_language_comes_from_the_annotator_record(ws):
    ws.store.update_annotator(ws.store.annotator("bashir").id, languages="ar,en")
    try:
        assert 'dir="rtl"' in annotator_page(ws, "bashir")
    finally:
        ws.store.update_annotator(ws.store.annotator("bashir").id, languages=None)


def test_the_catalogues_hold_every_text_of_the_pages(tmp_path):
    """The template (.pot) is what the code and templates say now, and each language has
    every text translated (a new text fails here until it is extracted and translated)."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg",
         "--no-location", "--sort-output", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    fresh = {m.id for m in read_po(pot.open("rb")) if m.id}
    kept = {m.id for m in read_po((LOCALE / "messages.pot").open("rb")) if m.id}
    assert fresh == kept, "re-run pybabel extract (see README, Translations)"
    for lang in LANGUAGES[1:]:
        catalog = read_po((LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb"))
        missing = [m for m in fresh if not (catalog.get(m) and catalog.get(m).string)]
        assert not missing, f"{lang}: untranslated {missing[:3]}"
        assert translator(lang).gettext("At a glance") != "At a glance"
