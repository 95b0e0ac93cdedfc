"""The HTML templates of the people's pages (``pages/``) and of the workspace report
(``report/``), and the one Jinja environment that renders them.

Every value a template prints is escaped (autoescape is on for every template): a person's
name, a class name or a tip can hold ``<``, ``&``, quotes or ``{{`` and still reads as the
text it is (:func:`markupsafe.escape`, quotes included); only a :class:`markupsafe.Markup`
value, HTML this project built itself, passes as it is. A name a template does not know is
an error, never an empty string (``StrictUndefined``).

Pages speak the reader's language: ``render(..., lang="ar")`` renders with that language's
catalogue (``hitl_active/locale/<lang>/LC_MESSAGES/messages.po``, read with Babel; a text it
lacks stays English), sets ``lang`` and ``dir`` on ``<html>`` (right to left for Arabic,
Persian, Hebrew and Urdu) and formats numbers, money and dates for the locale (the
``number``, ``money`` and ``day`` filters). :func:`translator` gives the same catalogue to
code that words a text before a template shows it. Languages with a catalogue:
:data:`LANGUAGES`.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
from importlib import resources
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

__all__ = ["LANGUAGES", "environment", "page_language", "render", "translator"]

logger = logging.getLogger(__name__)

#: Languages with a catalogue, English (the source) first.
LANGUAGES = ("en", "ar", "uk")
RIGHT_TO_LEFT = {"ar", "fa", "he", "ur"}


def page_language(languages: str | None) -> str:
    """The first of a person's languages (``"ar,en"``) that has a catalogue, else English."""
    for code in (languages or "").replace(";", ",").split(","):
        code = code.strip().lower().replace("_", "-").split("-")[0]
        if code in LANGUAGES:
            return code
    return "en"


@functools.cache
def translator(lang: str = "en") -> NullTranslations:
    """``lang``'s catalogue (``gettext``/``ngettext``); English, or a language without one,
    gives the texts as they are written."""
    if lang == "en" or lang not in LANGUAGES:
        return NullTranslations()
    po = resources.files("hitl_active") / "locale" / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)  # compiled in memory: the .po is the only file kept
    buf.seek(0)
    return Translations(fp=buf)


def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


@functools.cache
def environment(lang: str = "en") -> jinja2.Environment:
    """The templates' environment for ``lang``, made on first use."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hitl_active", "templates"),
        autoescape=jinja2.select_autoescape(default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translator(lang), newstyle=True)  # type: ignore[attr-defined]
    locale = _locale(lang)
    env.globals.update(lang=lang, dir="rtl" if lang in RIGHT_TO_LEFT else "ltr")
    env.filters["number"] = lambda x, digits=0: _number(x, digits, locale)
    env.filters["money"] = lambda x, currency: _money(x, currency, locale)
    env.filters["percent"] = lambda x: _percent(x, locale)
    env.filters["day"] = lambda x: format_date(_date(x), format="medium", locale=locale)
    return env


def _number(value: Any, digits: int | None, locale: Locale) -> str:
    """``digits`` decimals (``None``: up to two, as many as the value needs)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)  # already worded ("not enough data yet", "–")
    pattern = "0.##" if digits is None else "0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale)


def _money(value: Any, currency: str | None, locale: Locale) -> str:
    """An amount with two decimals in the locale's digits, then the currency's code."""
    if value is None:
        return "–"
    return f"{_number(value, 2, locale)} {currency or ''}".strip()


def _percent(value: Any, locale: Locale) -> str:
    if not isinstance(value, (int, float)):
        return str(value)
    return format_percent(value, locale=locale)


def _date(value: Any) -> dt.date:
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc).date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def render(name: str, lang: str = "en", **context: Any) -> str:
    """Template ``name`` (e.g. ``pages/manager.html``) rendered in ``lang`` with ``context``."""
    return environment(lang).get_template(name).render(**context)
