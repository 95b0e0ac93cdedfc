"""Personal page keys: how an annotator opens their own page, and only theirs.

A key is issued once (``hitl-active annotators key NAME``) and shown once; the store keeps
only its SHA-256 (``annotators.page_key_hash``). A request to ``/me`` sends HTTP basic auth
``NAME:KEY``; the key's hash is compared with the stored one in constant time. The server's
shared secret is not a page key: it opens ``/manager``, never anyone's ``/me``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

__all__ = ["basic_credentials", "hash_page_key", "new_page_key", "page_person"]

KEY_BYTES = 24


def new_page_key() -> str:
    """A fresh random key (URL-safe text, 192 bits)."""
    return secrets.token_urlsafe(KEY_BYTES)


def hash_page_key(key: str) -> str:
    """The hex SHA-256 that the store keeps instead of the key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def basic_credentials(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    """``(name, key)`` from an HTTP basic ``Authorization`` header, or ``None``."""
    for name, value in headers:
        if name.lower() != b"authorization":
            continue
        scheme, _, encoded = value.strip().partition(b" ")
        if scheme.lower() != b"basic":
            continue
        try:
            user, colon, password = (
                base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, ValueError):
            return None
        return (user, password) if colon and user and password else None
    return None


def page_person(store: Any, headers: Iterable[tuple[bytes, bytes]]) -> Any:
    """The annotator record whose name (or e-mail) and page key the request sends; ``None``
    when there is none, the person has no key yet, or the key is wrong."""
    found = basic_credentials(headers)
    if found is None:
        return None
    name, key = found
    person = store.annotator(name)
    # Hash whatever came, so an unknown name costs the same as a wrong key.
    given = hash_page_key(key).encode()
    stored = (person.page_key_hash if person is not None else None) or ""
    ok = hmac.compare_digest(given, stored.encode() or b"-" * len(given))
    return person if ok and person is not None and person.page_key_hash else None
