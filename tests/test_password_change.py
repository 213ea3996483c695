"""A password that changes, however it changes, ends the user's other sessions and API tokens; so
does deactivating the account. Users change their own password on a page of their own."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.services import api_token_create

PASSWORD = "pw-Secret-123"
NEW_PASSWORD = "济南数字经济-督办-2026"
PROBE_PAGE = "/accounts/security/"
PROBE_API = "/api/notifications/unread-count/"

pytestmark = pytest.mark.django_db


def logged_in(username, password=PASSWORD) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def api_client(key) -> Client:
    return Client(headers={"authorization": f"Token {key}"})


@pytest.fixture
def alice_everywhere(cast):
    """alice logged in on a laptop and a phone, with a script's API token; bob logged in too."""
    _, key = api_token_create(user=cast["alice"], name="报表脚本")
    world = {"laptop": logged_in("alice"), "phone": logged_in("alice"), "bob": logged_in("bob"), "key": key}
    assert world["phone"].get(PROBE_PAGE).status_code == 200
    assert api_client(key).get(PROBE_API).status_code == 200
    return world


def assert_access_ended(world):
    # Gone, not merely refused: a reactivated account or a password set back opens nothing again.
    phone_session = world["phone"].cookies[settings.SESSION_COOKIE_NAME].value
    assert not Session.objects.filter(session_key=phone_session).exists()
    assert not ApiToken.objects.filter(user__username="alice").exists()
    assert world["phone"].get(PROBE_PAGE).status_code == 302
    assert api_client(world["key"]).get(PROBE_API).status_code == 401
    assert world["bob"].get(PROBE_PAGE).status_code == 200  # nobody else's


def test_changing_ones_own_password_ends_other_sessions_and_tokens_and_keeps_this_one(alice_everywhere):
    laptop = alice_everywhere["laptop"]
    page = laptop.get(PROBE_PAGE).content.decode()
    assert 'href="/accounts/password/"' in page
    response = laptop.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain == [("/accounts/security/", 302)]
    assert "密码已修改" in response.content.decode()
    assert laptop.get(PROBE_PAGE).status_code == 200  # still logged in here
    assert_access_ended(alice_everywhere)
    logged_in("alice", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("old", "new1", "new2", "message"),
    [
        ("wrong-password", NEW_PASSWORD, NEW_PASSWORD, "你的旧密码不正确"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "输入的两个密码不一致"),
        (PASSWORD, "short-1", "short-1", "密码太短，至少需要 10 个字符"),
        (PASSWORD, "password123", "password123", "常见"),
        (PASSWORD, "20261130123", "20261130123", "只包含数字"),
        (PASSWORD, "alice@example.gov", "alice@example.gov", "相似"),
        (PASSWORD, " " * 12, " " * 12, "密码不能只由空格或不可见字符组成"),
        (PASSWORD, "\u3000" * 6 + "\t\u200b" * 3, "\u3000" * 6 + "\t\u200b" * 3, "密码不能只由空格"),
        (PASSWORD, " " + NEW_PASSWORD, " " + NEW_PASSWORD, "密码首尾不能有空格"),
        (PASSWORD, NEW_PASSWORD + "\u3000", NEW_PASSWORD + "\u3000", "密码首尾不能有空格"),
    ],
)
def test_a_refused_password_change_says_why_in_chinese_and_changes_nothing(alice_everywhere, old, new1, new2, message):
    response = alice_everywhere["laptop"].post(
        "/accounts/password/", {"old_password": old, "new_password1": new1, "new_password2": new2}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert alice_everywhere["phone"].get(PROBE_PAGE).status_code == 200
    assert api_client(alice_everywhere["key"]).get(PROBE_API).status_code == 200
    assert User.objects.get(username="alice").check_password(PASSWORD)


def test_the_password_page_needs_a_login(client):
    response = client.get("/accounts/password/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_administrators_reset_in_the_admin_ends_the_users_sessions_and_tokens(alice_everywhere, cast):
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.gov.cn", PASSWORD))
    url = f"/admin/accounts/user/{cast['alice'].pk}/password/"
    response = admin.post(url, {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_access_ended(alice_everywhere)
    assert admin.get("/admin/").status_code == 200


def test_deactivating_the_account_in_the_admin_ends_its_sessions_and_tokens(alice_everywhere, cast):
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.gov.cn", PASSWORD))
    alice = cast["alice"]
    now = timezone.localtime()
    form = {
        "username": "alice",
        "first_name": "",
        "last_name": "",
        "email": alice.email,
        # is_active left out: the box is unticked
        "last_login_0": now.strftime("%Y-%m-%d"),
        "last_login_1": now.strftime("%H:%M:%S"),
        "date_joined_0": now.strftime("%Y-%m-%d"),
        "date_joined_1": now.strftime("%H:%M:%S"),
        "full_name": "alice",
        "department": alice.department_id,
        "role": alice.role,
    }
    response = admin.post(f"/admin/accounts/user/{alice.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not User.objects.get(pk=alice.pk).is_active
    assert_access_ended(alice_everywhere)


def test_set_password_anywhere_ends_access(alice_everywhere, cast):
    alice = User.objects.get(pk=cast["alice"].pk)
    alice.set_password(NEW_PASSWORD)
    alice.save()
    assert_access_ended(alice_everywhere)


def test_saving_a_user_without_touching_password_or_activity_ends_nothing(alice_everywhere, cast):
    alice = User.objects.get(pk=cast["alice"].pk)
    alice.full_name = "艾丽斯"
    alice.save()
    logged_in("alice")  # a login saves last_login
    assert alice_everywhere["phone"].get(PROBE_PAGE).status_code == 200
    assert api_client(alice_everywhere["key"]).get(PROBE_API).status_code == 200


def test_spaces_inside_a_password_are_fine(cast):
    from django.contrib.auth.password_validation import validate_password

    validate_password("济南 数字经济 督办 2026", user=cast["alice"])


@pytest.mark.parametrize("password", [" " * 12, " 济南数字经济-督办-2026"])
def test_an_administrator_cannot_set_a_blank_or_padded_password_either(cast, password):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="空格"):
        validate_password(password, user=cast["alice"])
