"""What every request passes before a route sees it: the shared secret, then the body limit.

:class:`Guard` is plain ASGI middleware around the whole app:

* every route but ``GET /health`` needs the shared secret, either in the ``X-Hitl-Secret``
  header (what ``label-studio connect`` registers for webhooks) or as the password of HTTP
  basic auth (what it registers for the ML backend; any user name). Secrets are compared
  as bytes in constant time, so a header that is not ASCII is a 401 like any wrong one;
* ``/me``, an annotator's own page, is the one exception: it opens with the person's page key
  (HTTP basic auth ``NAME:KEY``), checked by the route (:mod:`hitl_active.server.pages.keys`),
  and the shared secret does not open it;
* a body larger than ``max_body_bytes`` is a 413 naming the limit: refused up front when
  ``Content-Length`` says so, otherwise counted while it streams in, before any parsing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Iterable
from typing import Any

from hitl_active.labelstudio.webhook import SECRET_HEADER

__all__ = ["Guard", "authorized"]

_SECRET_NAME = SECRET_HEADER.lower().encode()  # ASGI gives header names in lower case
OPEN_ROUTES = {("GET", "/health"), ("HEAD", "/health")}
# A page key, not the shared secret: the person's page, and their answers to its survey.
PERSON_ROUTES = {("GET", "/me"), ("HEAD", "/me"), ("POST", "/me/wellbeing"),
                 ("POST", "/me/wellbeing/withdraw")}  # fmt: skip

Scope = dict[str, Any]


def authorized(headers: Iterable[tuple[bytes, bytes]], secret: bytes) -> bool:
    """The secret is the ``X-Hitl-Secret`` header or the basic-auth password (bytes, constant time).

    No configured secret means nobody is authorized.
    """
    if not secret:
        return False
    ok = False
    for name, value in headers:
        name = name.lower()
        if name == _SECRET_NAME:
            ok |= hmac.compare_digest(value, secret)
        elif name == b"authorization":
            scheme, _, credentials = value.strip().partition(b" ")
            if scheme.lower() != b"basic":
                continue
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True)
            except (binascii.Error, ValueError):
                continue
            _, colon, password = decoded.partition(b":")
            ok |= bool(colon) and hmac.compare_digest(password, secret)
    return ok


async def _reply(send: Any, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: authentication on all routes but ``/health``, and a body-size cap."""

    def __init__(self, app: Any, secret: str, max_body_bytes: int) -> None:
        self.app = app
        self.secret = secret.encode("utf-8")
        self.max_body_bytes = max_body_bytes
        self.too_large = (
            f"request body is larger than the limit of {max_body_bytes} bytes (HITL_MAX_BODY_BYTES)"
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (scope["method"], scope["path"]) in OPEN_ROUTES:
            await self.app(scope, receive, send)
            return
        person = (scope["method"], scope["path"]) in PERSON_ROUTES
        if not person and not authorized(scope["headers"], self.secret):
            await _reply(
                send,
                401,
                "missing or wrong shared secret: send it in the X-Hitl-Secret header or as the "
                "basic-auth password (the server reads HITL_WEBHOOK_SECRET)",
                [(b"www-authenticate", b'Basic realm="hitl-active"')],
            )
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _reply(send, 413, self.too_large)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await _reply(send, 413, self.too_large)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands the buffered body over once, then waits on the client."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
