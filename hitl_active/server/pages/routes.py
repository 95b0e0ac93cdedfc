"""The pages' routes on the server app.

* ``GET /manager``, ``/manager/transparency.csv``, ``/manager/transparency.html``: behind the
  shared secret like every route (:mod:`hitl_active.server.guard`);
* ``GET /me``: the annotator's own page, opened by their personal page key as HTTP basic auth
  ``NAME:KEY`` (:mod:`.keys`). The guard lets ``/me`` through without the shared secret, and
  the shared secret does not open it: a manager has ``/manager``;
* ``POST /me/wellbeing``, ``/me/wellbeing/withdraw``: the person's answers to the optional
  WHO-5 survey on their page (with their consent), and their withdrawal; the same key, and
  a token from it in the form, so another site's form cannot post in their name.

Pages need a workspace (``hitl-active serve -w WS``); every answer is marked private and
no-store, and its content security policy allows no script and no outside fetch.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hitl_active.delivery.export import HUMAN_SOURCES, collect_labels, dataset_card
from hitl_active.i18n import page_language, translator
from hitl_active.server.pages.annotator import annotator_page, survey_token
from hitl_active.server.pages.keys import page_person
from hitl_active.server.pages.manager import manager_page
from hitl_active.server.pages.report import transparency_csv, transparency_html
from hitl_active.team.team_work_figures import team_work
from hitl_active.workforce.pilot import WHO5_ITEMS, who5_score
from hitl_active.workspace.config import WorkspaceError

__all__ = ["add_page_routes"]

logger = logging.getLogger(__name__)

HEADERS = {
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
NO_KEY = (
    "this page opens with your own page key: user name = your annotator name, password = the "
    "key from `hitl-active annotators key NAME` (ask your manager for one)"
)


def _workspace(state: Any) -> Any:
    """The served workspace, its config read again when edited since (pages show today's
    settings, not those of the server's start)."""

    if state.workspace is None:
        raise HTTPException(404, "the people's pages need a workspace: `hitl-active serve -w WS`")
    try:
        state.workspace.refresh_config()
    except (WorkspaceError, OSError) as exc:
        raise HTTPException(500, f"{exc}") from None
    return state.workspace


def _work(ws: Any, delivered: bool = True) -> Any:
    """The workspace's fair-work figures, the ROI's with the dataset a delivery would hold; a
    config they cannot be read with is a 500 that says what to fix (floors, a pay model)."""

    try:
        if not delivered:  # the annotator's page shows no ROI
            return team_work(ws)
        # the delivered boxes per source: the ROI's cost per accepted box and human share
        boxes = dataset_card(ws, collect_labels(ws))["boxes_per_source"]
        return team_work(ws, provenance=boxes, human_sources=HUMAN_SOURCES)
    except WorkspaceError as exc:
        raise HTTPException(500, str(exc)) from None


def _html(text: str, forms: bool = False) -> HTMLResponse:
    """A page's answer; ``forms``: its own forms may post back (the survey on ``/me``)."""
    headers = HEADERS
    if forms:
        csp = HEADERS["Content-Security-Policy"].replace("form-action 'none'", "form-action 'self'")
        headers = {**HEADERS, "Content-Security-Policy": csp}
    return HTMLResponse(text, headers=headers)


def _person(ws: Any, request: Request) -> Any:
    person = page_person(ws.store, request.headers.raw)
    if person is None:
        raise HTTPException(
            401, NO_KEY, headers={"WWW-Authenticate": 'Basic realm="hitl-active: your page"'}
        )
    return person


async def _form(request: Request, person: Any) -> dict[str, str]:
    """The posted form's fields (URL-encoded), its token checked against the person's."""
    body = (await request.body()).decode("utf-8", errors="replace")
    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    if not hmac.compare_digest(fields.get("token", ""), survey_token(person)):
        raise HTTPException(403, "this form is not from your page; open /me and send it again")
    return fields


def add_page_routes(app: FastAPI, state: Any) -> None:
    """Add ``/me`` and ``/manager`` (and the transparency exports) to ``app``."""

    @app.get("/me", response_class=HTMLResponse)
    def me(request: Request) -> HTMLResponse:
        ws = _workspace(state)
        person = _person(ws, request)
        logger.info("page of %s", person.name)
        return _html(annotator_page(ws, person.name, _work(ws, delivered=False)), forms=True)

    @app.post("/me/wellbeing", response_class=HTMLResponse)
    async def wellbeing(request: Request) -> HTMLResponse:
        ws = _workspace(state)
        person = _person(ws, request)
        fields = await _form(request, person)
        if fields.get("consent") != "yes":
            raise HTTPException(422, "tick the box that you agree before sending the answers")
        try:
            answers = [int(fields.get(f"q{i}", "")) for i in range(1, len(WHO5_ITEMS) + 1)]
            score = who5_score(answers)
        except ValueError:
            raise HTTPException(422, "answer each of the five questions (0 to 5)") from None
        ws.store.add_wellbeing(person.id, answers, score)
        note = translator(page_language(person.languages)).gettext(
            "Thank you: your answers are kept."
        )
        page = annotator_page(ws, person.name, _work(ws, delivered=False), note=note)
        return _html(page, forms=True)

    @app.post("/me/wellbeing/withdraw", response_class=HTMLResponse)
    async def withdraw(request: Request) -> HTMLResponse:
        ws = _workspace(state)
        person = _person(ws, request)
        await _form(request, person)
        n = ws.store.withdraw_wellbeing(person.id)
        logger.info("%s withdrew %d survey answers", person.name, n)
        note = translator(page_language(person.languages)).gettext("Your answers are deleted.")
        page = annotator_page(ws, person.name, _work(ws, delivered=False), note=note)
        return _html(page, forms=True)

    @app.get("/manager", response_class=HTMLResponse)
    def manager() -> HTMLResponse:
        ws = _workspace(state)
        return _html(manager_page(ws, _work(ws)))

    @app.get("/manager/transparency.html", response_class=HTMLResponse)
    def transparency_page() -> HTMLResponse:
        ws = _workspace(state)
        return _html(transparency_html(ws, _work(ws, delivered=False)))

    @app.get("/manager/transparency.csv")
    def transparency_table() -> Response:
        ws = _workspace(state)
        headers = {**HEADERS, "Content-Disposition": 'attachment; filename="transparency.csv"'}
        csv = transparency_csv(_work(ws, delivered=False))
        return Response(csv, media_type="text/csv", headers=headers)
