"""``hitl-active annotators key NAME``: issue an annotator's personal page key.

The key opens their own page (``GET /me`` on ``hitl-active serve -w WS``) as HTTP basic auth
``NAME:KEY``. It is printed once; the store keeps only its SHA-256, so a lost key is replaced
by issuing a new one (the old one stops working).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from hitl_active.cli.people import _open, _person

__all__ = ["register_pagekeys"]


def _key(args: argparse.Namespace) -> int:
    from hitl_active.server.pages.keys import hash_page_key, new_page_key

    key = new_page_key()
    with _open(args) as ws:
        person = _person(ws, args.name)
        ws.store.update_annotator(person.id, page_key_hash=hash_page_key(key))
    print(f"page key of {person.name} (shown once; issuing a new one replaces it):")
    print(key)
    print(f"their page: http://HOST:PORT/me on `hitl-active serve -w {args.workspace}`, "
          f"user name {person.name!r}, password the key")  # fmt: skip
    return 0


def register_pagekeys(action: Callable[[str, Any, str], argparse.ArgumentParser]) -> None:
    k = action("key", _key, "issue an annotator's personal page key (opens their /me page)")
    k.add_argument("name", help="name or e-mail")
