"""The pages' HTML: one layout, a stylesheet readable on a phone, and small builders.

Everything is rendered on the server: plain HTML and CSS, charts as inline PNG
(``<img src="data:image/png;base64,...">``) or inline SVG. No script runs in the browser.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["card", "cards", "esc", "meter", "page", "png_img", "section", "table"]

CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:#1d2430;background:#f4f6f9}
header{background:#243b55;color:#fff;padding:14px 18px}
header h1{margin:0;font-size:1.35rem} header p{margin:4px 0 0;opacity:.85;font-size:.95rem}
main{max-width:1100px;margin:0 auto;padding:12px}
section{background:#fff;border-radius:10px;padding:14px 16px;margin:12px 0;
  box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:1.15rem;margin:0 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.card{background:#eef3f9;border-radius:8px;padding:10px 12px}
.card .v{font-size:1.5rem;font-weight:600} .card .k{font-size:.85rem;color:#4a5566}
.card.bad{background:#fde8e6} .card.ok{background:#e6f5ea}
img.chart{max-width:100%;height:auto;display:block;margin:6px 0}
.scroll{overflow-x:auto} table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e7ee;vertical-align:top}
th{background:#f0f3f7} .note{color:#4a5566;font-size:.9rem}
.flag{border-left:4px solid #d9822b;padding:4px 10px;margin:6px 0;background:#fff8ef}
.tip{border-left:4px solid #3c8dbc;padding:4px 10px;margin:6px 0;background:#f1f8fd}
a{color:#1f5fa8}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, subtitle: str, sections: Iterable[str]) -> str:
    """A whole page: header, then the sections in order."""
    body = "\n".join(sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{CSS}</style></head>
<body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>
<main>
{body}
</main></body></html>
"""


def section(title: str, *parts: str, id: str = "") -> str:
    anchor = f' id="{esc(id)}"' if id else ""
    return (
        f"<section{anchor}><h2>{esc(title)}</h2>\n"
        + "\n".join(p for p in parts if p)
        + "</section>"
    )


def card(key: str, value: str, state: str = "") -> str:
    """A figure in a box; ``state`` ``"ok"`` or ``"bad"`` colours it."""
    cls = f"card {state}".strip()
    return (
        f'<div class="{cls}"><div class="v">{esc(value)}</div><div class="k">{esc(key)}</div></div>'
    )


def cards(items: Sequence[str]) -> str:
    return '<div class="cards">' + "".join(items) + "</div>"


def table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    ths = "".join(f"<th>{esc(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><tr>{ths}</tr>{trs}</table></div>'


def png_img(data: str, alt: str) -> str:
    """An inline PNG chart from its base64 text."""
    return f'<img class="chart" alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def meter(value: float, limit: float, label: str, good_above: bool = True) -> str:
    """An inline SVG bar: ``value`` against a marked ``limit`` (green on the good side)."""
    top = max(value, limit, 1e-9) * 1.15
    w = 100.0 * value / top
    x = 100.0 * limit / top
    good = value >= limit if good_above else value <= limit
    colour = "#3f9d5a" if good else "#d05a4a"
    return (
        f'<svg class="meter" role="img" aria-label="{esc(label)}" viewBox="0 0 100 14" '
        f'width="100%" height="28" preserveAspectRatio="none">'
        f'<rect x="0" y="2" width="100" height="10" fill="#e3e7ee"/>'
        f'<rect x="0" y="2" width="{w:.2f}" height="10" fill="{colour}"/>'
        f'<rect x="{x:.2f}" y="0" width="0.8" height="14" fill="#1d2430"/></svg>'
        f'<div class="note">{esc(label)}</div>'
    )
