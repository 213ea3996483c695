"""Login throttling (django-axes): 5 failures for one username from one address lock that pair
out for 15 minutes; the form, the API token endpoint and the test client all go through it."""

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt, AccessLog
from django.test import Client

from accounts.models import ApiToken

PASSWORD = "pw-Secret-123"
# A page that needs a login and answers 200 to any logged-in user.
PROBE_PAGE = "/accounts/security/"
LOGIN = "/accounts/login/"
TOKEN = "/api/auth/tokens/new/"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    # PBKDF2's million rounds cost ~1 s per user on the CI machine; the throttle does not care.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def fail_login(client, username, times, ip="10.1.1.1"):
    for _ in range(times):
        response = client.post(LOGIN, {"username": username, "password": "wrong"}, REMOTE_ADDR=ip)
    return response


def test_five_failures_lock_the_account_with_a_chinese_page(client, cast):
    for attempt in range(4):
        response = client.post(LOGIN, {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.1.1.1")
        assert response.status_code == 200, attempt  # the form again, with its error
    locked = client.post(LOGIN, {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.1.1.1")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "账户已暂时锁定" in page
    assert "15 分钟" in page
    attempt = AccessAttempt.objects.get(username="alice")
    assert attempt.failures_since_start == 5
    assert attempt.ip_address == "10.1.1.1"


def test_locked_out_user_cannot_log_in_even_with_the_right_password(client, cast):
    fail_login(client, "alice", 5)
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_four_failures_do_not_lock_and_a_success_resets_the_count(client, cast):
    fail_login(client, "alice", 4)
    ok = client.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    assert ok.status_code == 302
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert AccessLog.objects.filter(username="alice").exists()


def test_lockout_is_keyed_on_username_and_address(client, cast):
    fail_login(client, "alice", 5, ip="10.1.1.1")
    # The same user from another address, and another user from the same address, still get in.
    other_ip = Client().post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.2.2.2")
    assert other_ip.status_code == 302
    other_user = Client().post(LOGIN, {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    assert other_user.status_code == 302


def test_lockout_ends_after_fifteen_minutes(client, cast):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        fail_login(client, "alice", 5)
    with time_machine.travel(start + dt.timedelta(minutes=14), tick=False):
        still = client.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
        assert still.status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        again = client.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
        assert again.status_code == 302


def test_retrying_during_lockout_does_not_extend_it(client, cast):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        fail_login(client, "alice", 5)
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        assert fail_login(client, "alice", 3).status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        again = client.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
        assert again.status_code == 302


def test_test_client_login_and_force_login_still_work(cast):
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    assert client.get(PROBE_PAGE).status_code == 200
    assert not Client().login(username="alice", password="wrong")
    other = Client()
    other.force_login(cast["bob"])
    assert other.get(PROBE_PAGE).status_code == 200


def test_api_token_endpoint_is_locked_by_the_same_failures(client, cast):
    for _ in range(5):
        bad = client.post(TOKEN, {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.1.1.1")
        assert bad.status_code == 400
    locked = client.post(TOKEN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 15 * 60
    assert not ApiToken.objects.exists()
    # A lockout earned on the form holds on the API too, and the other way round.
    assert fail_login(client, "alice", 1).status_code == 429


def test_api_token_endpoint_counts_towards_form_lockout(client, cast):
    for _ in range(5):
        client.post(TOKEN, {"username": "bob", "password": "wrong"}, REMOTE_ADDR="10.3.3.3")
    form = client.post(LOGIN, {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="10.3.3.3")
    assert form.status_code == 429


@pytest.mark.django_db
def test_oversized_login_body_is_refused_not_a_server_error(client, settings):
    body = "username=alice&password=" + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(LOGIN, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 413)


@pytest.mark.django_db
def test_too_many_form_fields_are_refused_not_a_server_error(client):
    body = "&".join(f"f{i}=1" for i in range(1200))
    response = client.post(LOGIN, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


@pytest.mark.django_db
def test_admin_speaks_chinese(client):
    page = client.get("/admin/login/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "法规义务督办系统 · 管理后台" in html
    assert "用户名" in html and "密码" in html


def test_client_address_comes_from_the_trusted_proxy_hop_only(rf, settings):
    from accounts.client_ip import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.7"  # the address nginx saw; "6.6.6.6" was the client's claim
    settings.TRUSTED_PROXY_COUNT = 3  # more proxies configured than hops present: ignore the header
    assert client_ip(request) == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="not-an-ip")) == "10.0.0.5"


def test_behind_a_proxy_lockout_follows_the_real_client_not_the_proxy(client, cast, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        client.post(
            LOGIN,
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR="198.51.100.9",
        )
    assert AccessAttempt.objects.get().ip_address == "198.51.100.9"
    # alice at her own desk, through the same proxy, is not locked out by the attacker.
    mine = Client().post(
        LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="192.0.2.44"
    )
    assert mine.status_code == 302


def test_api_auth_token_endpoint_is_covered_by_the_lockout(client, cast):
    """/api/auth/token/ (obligations.api.views.TokenView) calls authenticate() with the request,
    so axes counts its failures, and its LoginLockoutThrottle refuses the right password with 429
    once the pair is locked out."""
    from accounts.models import ApiToken

    for _ in range(5):
        client.post("/api/auth/token/", {"username": "dave", "password": "wrong"}, REMOTE_ADDR="10.4.4.4")
    assert AccessAttempt.objects.get(username="dave").failures_since_start == 5
    locked = client.post("/api/auth/token/", {"username": "dave", "password": PASSWORD}, REMOTE_ADDR="10.4.4.4")
    assert locked.status_code == 429
    assert not ApiToken.objects.filter(user=cast["dave"]).exists()
    assert fail_login(client, "dave", 1, ip="10.4.4.4").status_code == 429


def test_password_spraying_from_one_address_locks_that_address_out(client, cast, settings):
    """One wrong password for each of twenty usernames (none near its own limit of five) locks the
    address: then not even a right password gets in from there, through the form or the API."""
    assert settings.LOGIN_ADDRESS_FAILURE_LIMIT == 20
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for i in range(19):
            assert fail_login(client, f"user{i:02d}", 1, ip="10.9.9.9").status_code == 200
        ok = Client().post(LOGIN, {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
        assert ok.status_code == 302  # nineteen: still open
        fail_login(client, "user19", 1, ip="10.9.9.9")
        locked = Client().post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
        assert locked.status_code == 429 and "登录失败次数过多" in locked.content.decode()
        api = Client().post(TOKEN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
        assert api.status_code == 429
        elsewhere = Client().post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.8.8.8")
        assert elsewhere.status_code == 302
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        again = Client().post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
        assert again.status_code == 302
