"""Permission is checked before input on every write: a user who may not act gets 403 whatever
they sent (nothing, "{}", broken JSON), never a 400 about their input. Every write operation of
the API is taken from the OpenAPI schema, so a new one is covered the day it is added."""

import datetime as dt

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from obligations import services
from obligations.permissions import WRITES
from obligations.views import ACTION_FORMS
from tests.factories import make_obligation
from tests.test_hostile_input import everything

pytestmark = pytest.mark.django_db

WRITE_METHODS = {"post", "put", "patch", "delete"}
# Writes every role may make: their own tokens, notifications and preferences; auditors export reports.
OPEN_TO_EVERY_ROLE = {
    ("POST", "/api/auth/token/"),
    ("DELETE", "/api/auth/token/"),
    ("DELETE", "/api/auth/tokens/{id}/"),
    ("POST", "/api/auth/tokens/new/"),
    ("POST", "/api/notifications/{id}/acknowledge/"),
    ("POST", "/api/notifications/{id}/read/"),
    ("PUT", "/api/notifications/preferences/"),
    ("POST", "/api/notifications/read-all/"),
    ("POST", "/api/reports/exports/"),
}
LEAD_ONLY = {
    "/api/obligations/{id}/cooperating/",
    "/api/obligations/{id}/due-date/",
    "/api/obligations/{id}/extension-requests/{rid}/decide/",
    "/api/obligations/{id}/objections/{oid}/decide/",
    "/api/obligations/{id}/reassign/",
    "/api/obligations/{id}/reporting/",
}
BODIES = [
    {},  # none at all
    {"data": "{}", "content_type": "application/json"},
    {"data": "{", "content_type": "application/json"},  # not even JSON
    {"data": {}, "format": "multipart"},
]


def write_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, methods in schema["paths"].items()
        for method in methods
        if method in WRITE_METHODS
    )


WRITE_OPERATIONS = write_operations()
# Writes for the lead, auditors and admins only (the 修订对照表, like the Word report): staff learn
# that before their input is read.
NOT_FOR_STAFF = {("POST", "/api/reports/amendment-table/")}
GUARDED = [op for op in WRITE_OPERATIONS if op not in OPEN_TO_EVERY_ROLE | NOT_FOR_STAFF]


@pytest.fixture
def world(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "evidence"
    future = dt.date.today() + dt.timedelta(days=30)
    own = make_obligation("JN-DSJ", cooperating=["JN-FGW"], due_date=future)
    alice = cast["alice"]
    milestone = services.milestone_add(obligation=own, actor=alice, title="征求意见", due_date=future)
    extension = services.extension_request(
        obligation=own, actor=alice, requested_date=future + dt.timedelta(days=30), reason="等待批复"
    )
    objection = services.objection_raise(obligation=own, actor=alice, reason="该职责属于科技部门")
    return {"id": own.pk, "mid": milestone.pk, "rid": extension.pk, "oid": objection.pk}


def call(user, method: str, template: str, ids: dict, body: dict):
    client = APIClient()
    client.force_authenticate(user)
    return getattr(client, method.lower())(template.format(**ids), **body)


def test_every_write_operation_is_either_guarded_or_open_to_every_role_on_purpose():
    assert set(OPEN_TO_EVERY_ROLE) <= set(WRITE_OPERATIONS)  # the list names real operations
    assert set(NOT_FOR_STAFF) <= set(WRITE_OPERATIONS)
    assert all(path.startswith("/api/obligations/{id}/") for _, path in GUARDED), GUARDED
    assert len(GUARDED) == 14


@pytest.mark.parametrize(("method", "path"), sorted(NOT_FOR_STAFF))
def test_staffs_write_that_is_not_theirs_is_refused_before_its_input_is_read(cast, settings, world, method, path):
    before = everything(settings)
    for body in BODIES:
        response = call(cast["alice"], method, path, world, body)
        assert response.status_code == 403, (body, response.content[:300])
        assert response.json()["code"] == "permission_denied"
    assert everything(settings) == before


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_an_auditors_write_is_refused_before_its_input_is_read(cast, settings, world, method, path):
    before = everything(settings)
    for body in BODIES:
        response = call(cast["audrey"], method, path, world, body)
        assert response.status_code == 403, (body, response.content[:300])
        assert response.json()["code"] == "permission_denied"
    assert everything(settings) == before


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_staff_and_the_lead_are_refused_the_others_writes_before_their_input(cast, settings, world, method, path):
    """The responsible body's staff may not do the lead's writes and the lead not the body's; with an
    empty body each of them learns that first. Transitions are shared (start/submit vs verify/return)."""
    if path.endswith("/transitions/"):
        return
    refused = cast["alice"] if path in LEAD_ONLY else cast["lena"]
    before = everything(settings)
    response = call(refused, method, path, world, {})
    assert response.status_code == 403, (refused.username, response.content[:300])
    assert everything(settings) == before


def test_the_web_forms_are_the_same_writes_as_the_api():
    assert set(ACTION_FORMS) == set(WRITES)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_an_auditors_empty_web_form_is_refused_before_it_is_read(cast, settings, world, name):
    client = APIClient()
    client.force_login(cast["audrey"])
    before = everything(settings)
    response = client.post(f"/obligations/{world['id']}/act/{name}/", {})
    assert response.status_code == 403
    assert "无权访问" in response.content.decode() and "您无权执行此操作" in response.content.decode()
    assert everything(settings) == before
    done = client.post(f"/obligations/{world['id']}/milestones/{world['mid']}/done/")
    assert done.status_code == 403
