"""The languages people read: which catalogues exist, a person's page language, the
catalogue of a language and numbers in its form.

The texts are English in the code and templates; ``hitl_active/locale/<lang>/LC_MESSAGES/
messages.po`` holds each other language's (read with Babel and compiled in memory: the .po is
the only file kept). ``N_`` marks a text for ``pybabel extract`` where it is defined, not
shown; it is translated where it is shown. :mod:`hitl_active.templates` renders pages with
these catalogues.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from importlib import resources
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

__all__ = [
    "LANGUAGES",
    "N_",
    "RIGHT_TO_LEFT",
    "day",
    "money",
    "number",
    "page_language",
    "percent",
    "translator",
]  # fmt: skip

#: Languages with a catalogue, English (the source) first.
LANGUAGES = ("en", "ar", "uk")
#: Languages written right to left.
RIGHT_TO_LEFT = {"ar", "fa", "he", "ur"}


def N_(text: str) -> str:
    """Marks ``text`` for the catalogue (``pybabel extract``); translated where it is shown."""
    return text


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


def number(value: Any, digits: int | None = 0, lang: str = "en") -> str:
    """``value`` in ``lang``'s form with ``digits`` decimals (``None``: up to two, as many as
    it needs); a value that is not a number (already worded: "–") as it is."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    pattern = "0.##" if digits is None else "0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale(lang))


def money(value: Any, currency: str | None, lang: str = "en") -> str:
    """An amount with two decimals in ``lang``'s form, then the currency's code."""
    if value is None:
        return "–"
    return f"{number(value, 2, lang)} {currency or ''}".strip()


def percent(value: Any, lang: str = "en") -> str:
    if not isinstance(value, (int, float)):
        return str(value)
    return format_percent(value, locale=_locale(lang))


def day(value: Any, lang: str = "en") -> str:
    """A date (ISO text, a date, or seconds since the epoch) in ``lang``'s medium form."""
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value, tz=dt.timezone.utc).date()
    elif isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return format_date(value, format="medium", locale=_locale(lang))
