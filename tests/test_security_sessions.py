"""Sessions expire after a working day; "logout everywhere" ends every session and token;
API tokens are stored hashed, shown once and revocable."""

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import ApiToken
from accounts.services import api_token_create
from accounts.tokens import key_digest

PASSWORD = "pw-Secret-123"
# DRF answers 403 rather than 401 when the first authentication class (session) has no challenge.
REFUSED = (401, 403)


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def logged_in(username) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_session_lasts_eight_hours(cast, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    start = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        client = logged_in("alice")
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        assert cookie["httponly"] is True
        assert int(cookie["max-age"]) == 8 * 60 * 60
    with time_machine.travel(start + dt.timedelta(hours=7, minutes=59), tick=False):
        assert Client(headers={"cookie": f"sessionid={cookie.value}"}).get("/tasks/").status_code == 200
    with time_machine.travel(start + dt.timedelta(hours=8, minutes=1), tick=False):
        response = Client(headers={"cookie": f"sessionid={cookie.value}"}).get("/tasks/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_logout_all_ends_every_session_and_token_of_the_user_only(cast):
    laptop, phone, colleague = logged_in("alice"), logged_in("alice"), logged_in("bob")
    api_token_create(user=cast["alice"], name="脚本")
    Token.objects.create(user=cast["alice"])
    bob_token, _ = api_token_create(user=cast["bob"])

    response = laptop.post("/accounts/logout-all/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"

    for client in (laptop, phone):
        assert client.get("/tasks/").status_code == 302
    assert colleague.get("/tasks/").status_code == 200
    assert not ApiToken.objects.filter(user=cast["alice"]).exists()
    assert not Token.objects.filter(user=cast["alice"]).exists()
    assert ApiToken.objects.filter(pk=bob_token.pk).exists()
    assert Session.objects.count() >= 1  # bob's


def test_logout_all_is_post_only(cast):
    client = logged_in("alice")
    assert client.get("/accounts/logout-all/").status_code == 405
    assert client.get("/tasks/").status_code == 200


def test_logout_all_requires_the_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast["alice"])
    assert client.post("/accounts/logout-all/").status_code == 403
    assert client.get("/tasks/").status_code == 200


def test_token_is_shown_once_and_stored_only_as_a_digest(client, cast):
    created = client.post("/api/auth/tokens/new/", {"username": "alice", "password": PASSWORD, "name": "报表脚本"})
    assert created.status_code == 201
    key = created.json()["token"]
    assert key.startswith("jt_") and len(key) > 40
    token = ApiToken.objects.get()
    assert token.digest == key_digest(key)
    assert key not in {token.digest, token.prefix, token.name}
    assert key.startswith(token.prefix)

    api = Client(headers={"authorization": f"Token {key}"})
    listing = api.get("/api/auth/tokens/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert key not in body
    assert listing.json()["results"][0]["prefix"] == token.prefix
    assert "token" not in listing.json()["results"][0]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_no_longer_authenticates(cast):
    token, key = api_token_create(user=cast["alice"])
    api = Client(headers={"authorization": f"Token {key}"})
    assert api.get("/api/auth/tokens/").status_code == 200
    assert api.delete(f"/api/auth/tokens/{token.pk}/").status_code == 204
    assert api.get("/api/auth/tokens/").status_code in REFUSED


def test_user_cannot_revoke_another_users_token(cast):
    bobs, _ = api_token_create(user=cast["bob"])
    _, alices_key = api_token_create(user=cast["alice"])
    api = Client(headers={"authorization": f"Token {alices_key}"})
    assert api.delete(f"/api/auth/tokens/{bobs.pk}/").status_code == 404
    assert ApiToken.objects.filter(pk=bobs.pk).exists()


def test_unknown_or_inactive_tokens_are_refused(cast):
    assert Client(headers={"authorization": "Token jt_not-a-real-key"}).get("/api/auth/tokens/").status_code in REFUSED
    _, key = api_token_create(user=cast["carol"])
    cast["carol"].is_active = False
    cast["carol"].save()
    assert Client(headers={"authorization": f"Token {key}"}).get("/api/auth/tokens/").status_code in REFUSED


def test_plain_drf_tokens_keep_working_until_retired(cast):
    legacy = Token.objects.create(user=cast["dave"])
    assert Client(headers={"authorization": f"Token {legacy.key}"}).get("/api/auth/tokens/").status_code == 200
