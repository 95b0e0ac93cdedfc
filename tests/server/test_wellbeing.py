"""The optional well-being survey on a person's page while they are in a pilot: consented,
kept under a pseudonym, theirs to see and delete, never shown per person to a manager; and
a pilot's report."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hitl_active.cli import main
from hitl_active.server import AppSettings, create_app
from hitl_active.store import schema as t
from hitl_active.workspace.workspace import Workspace
from tests.server.pages_team import TRAINEE, build_team
from tests.server.server_helpers import basic

SECRET = "manager-secret-wb"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = build_team(tmp_path_factory.mktemp("wellbeing"))
    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86400))
    argv = ["pilot", "define", "breaks", "--change", "paid breaks", "--group", "amina,bashir",
            "--control", "chen,dalia", "--start", start, "-w", str(site.ws)]  # fmt: skip
    assert main(argv) == 0
    return site


@pytest.fixture(scope="module")
def client(site):
    app = create_app(AppSettings(workspace=site.ws, webhook_secret=SECRET, max_body_bytes=4096))
    with TestClient(app) as c:
        yield c


def _token(page: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)


def test_the_survey_is_offered_in_a_pilot_and_kept_under_a_pseudonym(site, client):
    me = basic("amina", site.keys["amina"])
    page = client.get("/me", headers=me)
    assert page.status_code == 200 and 'action="me/wellbeing"' in page.text
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert (
        'action="me/wellbeing"'
        not in client.get("/me", headers=basic(TRAINEE, site.keys[TRAINEE])).text
    )
    token = _token(page.text)
    answers = {f"q{i}": str(v) for i, v in enumerate([4, 3, 5, 2, 4], start=1)}
    assert client.post("/me/wellbeing", data={**answers, "consent": "yes", "token": "0" * 64},
                       headers=me).status_code == 403  # fmt: skip
    assert client.post("/me/wellbeing", data={**answers, "token": token},
                       headers=me).status_code == 422  # no consent  # fmt: skip
    done = client.post("/me/wellbeing", data={**answers, "consent": "yes", "token": token},
                       headers=me)  # fmt: skip
    assert done.status_code == 200 and "Thank you" in done.text
    assert "<td>72</td>" in done.text  # 4 * (4+3+5+2+4): their own score, theirs to see
    with Workspace.open(site.ws) as ws:
        amina = ws.store.annotator("amina")
        assert [r["score"] for r in ws.store.wellbeing(amina.id)] == [72]
        columns = set(t.wellbeing.c.keys())
        assert columns == {"id", "respondent", "answers", "score", "answered_at"}  # no name
        with ws.store._connection() as c:
            (respondent,) = c.execute(sa.select(t.wellbeing.c.respondent)).one()
        assert "amina" not in respondent and str(amina.id) != respondent
    manager = client.get("/manager", headers=basic("x", SECRET)).text
    assert "who-5" not in manager.lower() and "how have you been" not in manager.lower()
    assert client.post("/me/wellbeing", data={**answers, "consent": "yes", "token": token},
                       headers=basic("bashir", site.keys["bashir"])).status_code == 403  # fmt: skip
    gone = client.post("/me/wellbeing/withdraw", data={"token": token}, headers=me)
    assert gone.status_code == 200 and "deleted" in gone.text
    with Workspace.open(site.ws) as ws:
        assert ws.store.wellbeing(ws.store.annotator("amina").id) == []


def test_a_pilot_of_two_and_two_is_too_small_to_conclude(site, capsys):
    assert main(["pilot", "report", "breaks", "-w", str(site.ws)]) == 0
    out = capsys.readouterr().out
    assert "WHO-5 well-being (0-100): groups too small to conclude (0 in the pilot" in out
    assert main(["pilot", "report", "nothing", "-w", str(site.ws)]) == 2
    assert "no pilot named 'nothing'" in capsys.readouterr().err
    both = ["--group", "amina", "--control", "amina", "--start", "2026-01-01"]
    assert main(["pilot", "define", "again", "--change", "x", *both, "-w", str(site.ws)]) == 2
    assert "cannot be in the pilot and the control group" in capsys.readouterr().err
