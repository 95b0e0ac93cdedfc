"""The HTML templates of the people's pages (``pages/``) and of the workspace report
(``report/``), and the one Jinja environment that renders them.

Every value a template prints is escaped (autoescape is on for every template): a person's
name, a class name or a tip can hold ``<``, ``&``, quotes or ``{{`` and still reads as the
text it is (:func:`markupsafe.escape`, quotes included); only a :class:`markupsafe.Markup`
value, HTML this project built itself, passes as it is. A name a template does not know is
an error, never an empty string (``StrictUndefined``).

``lang`` and ``dir`` are the page's language and writing direction (``en``, ``ltr`` unless a
render passes others); the layout puts them on ``<html>``.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2

__all__ = ["environment", "render"]

GLOBALS = {"lang": "en", "dir": "ltr"}


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment, made on first use."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hitl_active", "templates"),
        autoescape=jinja2.select_autoescape(default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(GLOBALS)
    return env


def render(name: str, **context: Any) -> str:
    """Template ``name`` (e.g. ``pages/manager.html``) rendered with ``context``."""
    return environment().get_template(name).render(**context)
