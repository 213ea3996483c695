"""The REST API: tokens, lists and filters, one error shape, versions via If-Match, history."""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import ApiToken
from obligations.models import Obligation
from tests.factories import add_link_evidence, fast_passwords, make_obligation

pytestmark = pytest.mark.django_db
S = Obligation.Status


@pytest.fixture(autouse=True)
def _fast(settings):
    fast_passwords(settings)


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_token_is_issued_for_good_credentials_and_revoked_by_delete(cast):
    client = APIClient()
    bad = client.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_credentials"
    response = client.post("/api/auth/token/", {"username": "alice", "password": "pw-Secret-123"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/obligations/").status_code == 200
    assert ApiToken.objects.filter(user=cast["alice"]).count() == 1  # stored hashed, never in clear
    assert not ApiToken.objects.filter(digest=token).exists()
    assert client.delete("/api/auth/token/").status_code == 204
    assert not ApiToken.objects.filter(user=cast["alice"]).exists()
    denied = client.get("/api/obligations/")
    assert denied.status_code == 401 and set(denied.json()) == {"code", "message", "details"}


def test_staff_list_shows_only_their_obligations(cast):
    own = make_obligation("JN-DSJ")
    cooperating = make_obligation("JN-FGW", cooperating=["JN-DSJ"])
    other = make_obligation("JN-LIXIA")
    ids = {row["id"] for row in client_for(cast["alice"]).get("/api/obligations/").json()["results"]}
    assert ids == {own.pk, cooperating.pk}
    assert client_for(cast["alice"]).get(f"/api/obligations/{other.pk}/").status_code == 404
    assert client_for(cast["audrey"]).get(f"/api/obligations/{other.pk}/").status_code == 200


@time_machine.travel(dt.datetime(2025, 3, 10, 2, 0, tzinfo=dt.UTC), tick=False)
def test_list_filters_and_urgency_order(cast):
    late = make_obligation("JN-DSJ", due_date=dt.date(2025, 3, 1), text="应当甲")
    later = make_obligation("JN-DSJ", due_date=dt.date(2025, 2, 1), text="应当乙")
    soon = make_obligation("JN-DSJ", due_date=dt.date(2025, 3, 12), text="应当丙")
    undated = make_obligation("JN-DSJ", text="应当丁")
    handed_in = make_obligation("JN-DSJ", due_date=dt.date(2025, 1, 1), status=S.SUBMITTED, text="应当戊")
    other = make_obligation("JN-FGW", due_date=dt.date(2025, 3, 20), text="应当己")
    lena = client_for(cast["lena"])

    def ids(query=""):
        return [row["id"] for row in lena.get(f"/api/obligations/?{query}").json()["results"]]

    assert ids() == [later.pk, late.pk, handed_in.pk, soon.pk, other.pk, undated.pk]
    assert set(ids("overdue=true")) == {late.pk, later.pk}
    assert handed_in.pk in ids("overdue=false") and late.pk not in ids("overdue=false")
    assert ids("department=JN-FGW") == [other.pk]
    assert set(ids("status=submitted")) == {handed_in.pk}
    assert set(ids("due_after=2025-03-01&due_before=2025-03-12")) == {late.pk, soon.pk}
    assert ids("search=应当丙") == [soon.pk]
    assert ids(f"article={soon.clause.article.number}") == [soon.pk]
    assert ids("ordering=due_date")[0] == handed_in.pk
    row = lena.get(f"/api/obligations/{late.pk}/").json()
    assert row["is_overdue"] and row["traffic_light"] == "red" and row["days_left"] == -9


def test_validation_errors_have_one_shape_with_chinese_details(cast):
    o = make_obligation("JN-DSJ")
    response = client_for(cast["lena"]).put(f"/api/obligations/{o.pk}/due-date/", {"due_date": "明天"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["details"]) >= {"due_date", "reason"}
    assert any("日期" in message for message in body["details"]["due_date"])


def test_if_match_header_carries_the_version_and_stale_gets_409(cast):
    o = make_obligation("JN-DSJ")
    alice = client_for(cast["alice"])
    etag = alice.get(f"/api/obligations/{o.pk}/")["ETag"]
    assert etag == '"1"'
    ok = alice.post(f"/api/obligations/{o.pk}/transitions/", {"action": "start"}, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok["ETag"] == '"2"'
    add_link_evidence(o, cast["alice"])
    stale = alice.post(f"/api/obligations/{o.pk}/transitions/", {"action": "submit"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 409
    body = stale.json()
    assert body["code"] == "stale_version" and "未启动 → 推进中" in body["message"]
    assert body["details"]["current_version"] == 2


def test_illegal_transition_via_api_is_409_with_clear_message(cast):
    o = make_obligation("JN-DSJ")
    response = client_for(cast["lena"]).post(
        f"/api/obligations/{o.pk}/transitions/", {"action": "verify", "version": 1}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition" and "未启动" in response.json()["message"]


def test_history_lists_audit_entries_of_a_visible_obligation_only(cast):
    o = make_obligation("JN-DSJ")
    alice = client_for(cast["alice"])
    alice.post(f"/api/obligations/{o.pk}/transitions/", {"action": "start", "version": 1}, format="json")
    alice.post(f"/api/obligations/{o.pk}/progress/", {"text": "开始"}, format="json")
    history = client_for(cast["audrey"]).get(f"/api/obligations/{o.pk}/history/").json()
    assert [e["action"] for e in history] == ["obligation.status", "progress.added"]
    assert client_for(cast["dave"]).get(f"/api/obligations/{o.pk}/history/").status_code == 404


def test_nested_lists_and_decisions(cast):
    o = make_obligation("JN-DSJ", due_date=dt.date.today() + dt.timedelta(days=10))
    alice, lena = client_for(cast["alice"]), client_for(cast["lena"])
    new_date = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    created = alice.post(
        f"/api/obligations/{o.pk}/extension-requests/",
        {"requested_date": new_date, "reason": "等待批复"},
        format="json",
    )
    assert created.status_code == 201
    rid = created.json()["id"]
    decided = lena.post(
        f"/api/obligations/{o.pk}/extension-requests/{rid}/decide/",
        {"approve": True},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert lena.get(f"/api/obligations/{o.pk}/").json()["due_date"] == new_date
    changes = lena.get(f"/api/obligations/{o.pk}/due-date-changes/").json()
    assert changes[0]["new_date"] == new_date
    m = alice.post(f"/api/obligations/{o.pk}/milestones/", {"title": "印发", "due_date": new_date}, format="json")
    assert m.status_code == 201
    done = alice.post(f"/api/obligations/{o.pk}/milestones/{m.json()['id']}/done/")
    assert done.status_code == 200 and done.json()["done_at"]
    assert len(alice.get(f"/api/obligations/{o.pk}/milestones/").json()) == 1
    moved = alice.put(
        f"/api/obligations/{o.pk}/milestones/{m.json()['id']}/due-date/",
        {"due_date": "2030-01-01", "reason": "等待专家论证"},
        format="json",
    )
    assert moved.status_code == 200 and moved.json()["due_date"] == "2030-01-01"
    assert lena.get(f"/api/obligations/{o.pk}/due-date-changes/").json()[0]["milestone"] == m.json()["id"]


@time_machine.travel(dt.datetime(2025, 3, 10, 2, 0, tzinfo=dt.UTC), tick=False)
def test_an_obligation_reads_the_same_in_the_list_the_detail_and_drfs_generic_walk(cast):
    """ObligationSerializer writes its declared fields out by hand (speed); the declared fields are
    the contract. Every kind of row must read the same both ways, in the list and the detail."""
    from rest_framework import serializers as drf

    from accounts.models import Department
    from obligations.api.serializers import ObligationSerializer
    from obligations.selectors import cooperating_codes
    from regulations.models import Article

    rows = [
        make_obligation("JN-DSJ", due_date=dt.date(2025, 3, 1)),  # overdue
        make_obligation("JN-DSJ", due_date=dt.date(2025, 3, 12), cooperating=["JN-LIXIA", "JN-FGW"]),  # yellow
        make_obligation("JN-DSJ"),  # undated
        make_obligation("JN-DSJ", due_date=dt.date(2025, 2, 1)),
        make_obligation("JN-DSJ", due_date=dt.date(2025, 5, 1)),
    ]
    now = dt.datetime(2025, 3, 1, 1, 30, 15, 123456, tzinfo=dt.UTC)
    Obligation.objects.filter(pk=rows[3].pk).update(
        status=S.SUBMITTED, submitted_at=now, last_activity_at=now, missed_due_date=dt.date(2025, 2, 1)
    )
    Obligation.objects.filter(pk=rows[4].pk).update(status=S.VERIFIED, submitted_at=now, verified_at=now)
    Article.objects.filter(pk=rows[4].clause.article_id).update(chapter=None)  # an article outside any chapter

    alice = client_for(cast["alice"])
    listed = {row["id"]: row for row in alice.get("/api/obligations/").json()["results"]}
    assert set(listed) == {o.pk for o in rows}
    generic = ObligationSerializer()
    for obligation in Obligation.objects.filter(pk__in=listed).with_light():
        obligation.cooperating_codes = cooperating_codes([obligation.pk]).get(obligation.pk, [])  # the field's source
        expected = drf.ModelSerializer.to_representation(generic, obligation)
        assert listed[obligation.pk] == expected
        assert alice.get(f"/api/obligations/{obligation.pk}/").json() == expected
    registry = list(Department.objects.filter(code__in=["JN-LIXIA", "JN-FGW"]).values_list("code", flat=True))
    assert listed[rows[1].pk]["cooperating"] == registry  # the registry's order (sort_order, code)
    assert listed[rows[3].pk]["submitted_at"] == "2025-03-01T09:30:15.123456+08:00"
    assert listed[rows[4].pk]["chapter"] is None
    assert [listed[o.pk]["traffic_light"] for o in rows] == ["red", "yellow", "green", "green", "green"]
