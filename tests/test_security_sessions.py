"""Sessions expire after a working day; "logout everywhere" ends every session and token;
API tokens are stored hashed, shown once and revocable."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import ApiToken
from accounts.services import api_token_create
from accounts.tokens import key_digest

PASSWORD = "pw-Secret-123"
# A page that needs a login and answers 200 to any logged-in user.
PROBE_PAGE = "/accounts/security/"
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
        assert Client(headers={"cookie": f"sessionid={cookie.value}"}).get(PROBE_PAGE).status_code == 200
    with time_machine.travel(start + dt.timedelta(hours=8, minutes=1), tick=False):
        response = Client(headers={"cookie": f"sessionid={cookie.value}"}).get(PROBE_PAGE)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_logout_all_ends_every_session_and_token_of_the_user_only(cast):
    laptop, phone, colleague = logged_in("alice"), logged_in("alice"), logged_in("bob")
    api_token_create(user=cast["alice"], name="脚本")
    api_token_create(user=cast["alice"], name="报表")
    bob_token, _ = api_token_create(user=cast["bob"])

    response = laptop.post("/accounts/logout-all/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"

    for client in (laptop, phone):
        assert client.get(PROBE_PAGE).status_code == 302
    assert colleague.get(PROBE_PAGE).status_code == 200
    assert not ApiToken.objects.filter(user=cast["alice"]).exists()
    assert ApiToken.objects.filter(pk=bob_token.pk).exists()
    assert Session.objects.count() >= 1  # bob's


def test_logout_all_is_post_only(cast):
    client = logged_in("alice")
    assert client.get("/accounts/logout-all/").status_code == 405
    assert client.get(PROBE_PAGE).status_code == 200


def test_logout_all_requires_the_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast["alice"])
    assert client.post("/accounts/logout-all/").status_code == 403
    assert client.get(PROBE_PAGE).status_code == 200


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


def test_a_plain_drf_style_key_is_refused(cast):
    # DRF's plain tokens were 40 hex characters stored in clear; migration 0004 ended them.
    plain = "0123456789abcdef0123456789abcdef01234567"
    response = Client(headers={"authorization": f"Token {plain}"}).get("/api/auth/tokens/")
    assert response.status_code == 401


def test_the_migration_ends_plain_tokens_left_in_the_database(cast):
    import importlib

    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id bigint, created timestamp)")
        cursor.execute(
            "INSERT INTO authtoken_token VALUES ('0123456789abcdef0123456789abcdef01234567', %s, now())",
            [cast["dave"].pk],
        )
    ContentType.objects.get_or_create(app_label="authtoken", model="token")
    migration = importlib.import_module("accounts.migrations.0004_end_plain_drf_tokens")
    with connection.schema_editor() as editor:
        migration.end_plain_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    assert not ContentType.objects.filter(app_label="authtoken").exists()


def test_security_page_shows_a_new_key_once_and_then_only_its_prefix(cast):
    client = Client()
    client.force_login(cast["alice"])
    created = client.post("/accounts/tokens/new/", {"name": "季度报表脚本"})
    assert created.status_code == 200
    assert "no-store" in created.headers["Cache-Control"]
    token = ApiToken.objects.get(user=cast["alice"])
    html = created.content.decode()
    keys = re.findall(r"jt_[A-Za-z0-9_-]{40,}", html)
    assert len(keys) == 1 and key_digest(keys[0]) == token.digest
    assert "只显示这一次" in html

    page = client.get("/accounts/security/").content.decode()
    assert keys[0] not in page
    assert token.prefix in page and "季度报表脚本" in page
    assert Client(headers={"authorization": f"Token {keys[0]}"}).get("/api/auth/tokens/").status_code == 200


def test_security_page_revokes_own_tokens_only(cast):
    mine, _ = api_token_create(user=cast["alice"])
    bobs, _ = api_token_create(user=cast["bob"])
    client = Client()
    client.force_login(cast["alice"])
    assert client.post(f"/accounts/tokens/{bobs.pk}/revoke/").status_code == 404
    assert client.post(f"/accounts/tokens/{mine.pk}/revoke/").status_code == 302
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [bobs.pk]


def test_security_page_needs_login_and_counts_sessions(cast):
    assert Client().get("/accounts/security/").status_code == 302
    logged_in("alice")
    client = logged_in("alice")
    page = client.get("/accounts/security/")
    assert page.status_code == 200
    assert "当前共有 2 个有效登录会话" in page.content.decode()


def test_admin_lists_no_token_keys(cast):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser(username="root", password="x-Secret-12345")
    _, key = api_token_create(user=cast["alice"], name="脚本")
    client = Client()
    client.force_login(root)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200
    assert key not in listing.content.decode()
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
