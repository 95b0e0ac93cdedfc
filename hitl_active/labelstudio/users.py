"""Label Studio users: signing a person up, as they would on its sign-up page.

Label Studio Community has no API call that creates a user *with* a way to act as them: the
admin's ``POST /api/users`` makes a user without a password, and only that user may read
their token. So a team member signs up on the server's own page with the organization's
invite link (``scripts/label-studio`` starts the server with sign-up by invite only; the
admin reads the link with :func:`invite_link`), and their API token is read with their
session. hitl-active uses this for the simulated annotators of its tests and benchmarks; real
people open the invite link in their browser.
"""

from __future__ import annotations

import logging
import re

import httpx

from hitl_active.labelstudio.client import LabelStudioClient, LabelStudioError

__all__ = ["invite_link", "signup"]

logger = logging.getLogger(__name__)

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def invite_link(client: LabelStudioClient) -> str:
    """The organization's invite link (``/user/signup/?token=...``), read with an admin token."""
    return str(client.request("GET", "/api/invite")["invite_url"])


def signup(url: str, invite: str, email: str, password: str, timeout: float = 30.0) -> str:
    """Sign ``email`` up on the Label Studio at ``url`` through the ``invite`` link (or log
    them in, when they already have an account with this password); their legacy API token.

    Raises:
        LabelStudioError: the page refused the sign-up (the one-line reason says which).
    """
    base = url.rstrip("/")
    with httpx.Client(base_url=base, timeout=timeout, follow_redirects=True) as http:
        for page in (invite, "/user/login/"):
            form = http.get(page)
            token = _CSRF.search(form.text)
            if token is None:
                raise LabelStudioError(f"{base}{page} shows no form; is this a Label Studio?")
            fields = {"csrfmiddlewaretoken": token.group(1), "email": email, "password": password}
            http.post(page, data=fields, headers={"Referer": f"{base}{page.split('?')[0]}"})
            me = http.get("/api/current-user/token")
            if me.status_code == 200:
                logger.info("Label Studio user %s is signed in", email)
                return str(me.json()["token"])
        raise LabelStudioError(
            f"Label Studio at {base} refused to sign up or log in {email} "
            f"(HTTP {me.status_code}); check the password (8+ characters) or sign them up "
            "in the browser"
        )
