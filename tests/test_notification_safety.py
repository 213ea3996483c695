"""Notifications cannot be turned against their users: marking one read never redirects off the
site; group robots are chosen among one's own body's only and get user text as plain text."""

import pytest

from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def unread(cast):
    return Notification.objects.create(
        recipient=cast["alice"], kind=Notification.Kind.REMINDER, subject="提醒", body="请处理"
    )


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
        "tasks",  # a URL name, not a path
        "\x00",
    ],
)
def test_marking_read_never_follows_next_off_the_site(client, cast, unread, target):
    client.force_login(cast["alice"])
    response = client.post(f"/notifications/{unread.pk}/read/", {"next": target})
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    unread.refresh_from_db()
    assert unread.read_at is not None


def test_marking_read_follows_a_path_on_the_site(client, cast, unread):
    client.force_login(cast["alice"])
    response = client.post(f"/notifications/{unread.pk}/read/", {"next": "/tasks/?status=overdue"})
    assert (response.status_code, response["Location"]) == (302, "/tasks/?status=overdue")
