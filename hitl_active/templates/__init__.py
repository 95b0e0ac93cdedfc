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
``number``, ``money``, ``percent`` and ``day`` filters), all from :mod:`hitl_active.i18n`,
which code that words a text before a template shows it uses too.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2

from hitl_active.i18n import RIGHT_TO_LEFT, day, money, number, percent, translator

__all__ = ["environment", "render"]


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
    env.globals.update(lang=lang, dir="rtl" if lang in RIGHT_TO_LEFT else "ltr")
    env.filters["number"] = lambda x, digits=0: number(x, digits, lang)
    env.filters["money"] = lambda x, currency: money(x, currency, lang)
    env.filters["percent"] = lambda x: percent(x, lang)
    env.filters["day"] = lambda x: day(x, lang)
    return env


def render(name: str, lang: str = "en", **context: Any) -> str:
    """Template ``name`` (e.g. ``pages/manager.html``) rendered in ``lang`` with ``context``."""
    return environment(lang).get_template(name).render(**context)
