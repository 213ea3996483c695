"""Every answer to a logged-in person carries Cache-Control: private, no-store: pages, API lists,
API errors, file downloads, for each role, by session and by API token."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from accounts.services import api_token_create
from obligations import services
from tests.factories import PDF, fast_passwords, make_obligation

pytestmark = pytest.mark.django_db

ROLES = ["alice", "lena", "audrey", "adam"]


@pytest.fixture
def world(cast, settings, tmp_path):
    fast_passwords(settings)
    settings.MEDIA_ROOT = tmp_path / "evidence"
    o = make_obligation("JN-DSJ", due_date=dt.date.today() + dt.timedelta(days=30))
    evidence = services.evidence_add(
        obligation=o, actor=cast["alice"], kind="file", description="方案", file=ContentFile(PDF, name="方案.pdf")
    )
    return {"o": o, "evidence": evidence}


def pages(world) -> list[str]:
    o = world["o"]
    return [
        "/",
        "/tasks/",
        "/dashboard/",
        "/reports/",
        "/notifications/",
        "/accounts/security/",
        "/accounts/password/",
        "/regulation/",
        "/tasks/ledger/import/",
        f"/obligations/{o.pk}/",
        f"/obligations/{o.pk}/evidence/{world['evidence'].pk}/download/",
        "/admin/",
        "/no-such-page/",
    ]


API = ["/api/obligations/", "/api/progress/", "/api/history/", "/api/notifications/", "/api/obligations/99999999/"]


@pytest.mark.parametrize("username", ROLES)
def test_every_page_and_api_answer_to_a_logged_in_person_is_private_and_not_stored(cast, world, username):
    session = Client()
    session.force_login(cast[username])
    _, key = api_token_create(user=cast[username], name="脚本")
    token = Client(headers={"authorization": f"Token {key}"})
    answers = [(url, session.get(url)) for url in pages(world) + API]
    answers += [(f"{url} (token)", token.get(url)) for url in API]
    wrong = {
        url: (r.status_code, r.get("Cache-Control"))
        for url, r in answers
        if r.get("Cache-Control") != "private, no-store"
    }
    assert not wrong
    # Every kind of answer was seen: pages, downloads or refusals of them, API errors.
    statuses = {r.status_code for _, r in answers}
    assert 200 in statuses and 404 in statuses


def test_static_files_for_nobody_in_particular_are_left_alone(client):
    # The rule is about people: a static file (anonymous) keeps what WhiteNoise says.
    response = client.get("/favicon.ico")
    assert "private" not in response.get("Cache-Control", "")
