"""Notifications cannot be turned against their users: marking one read never redirects off the
site; group robots are chosen among one's own body's only and get user text as plain text."""

import pytest

from core.errors import ServiceError
from notifications.models import Notification, NotificationPreference, WebhookEndpoint
from notifications.outbox import deliver_pending
from notifications.sending import retry_deliveries
from notifications.services import preference_update
from obligations import services
from tests.factories import make_obligation
from tests.test_reminders_support import WebhookServer

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


@pytest.fixture
def robots(cast):
    """大数据局's robot (alice's body) and 发改委's (carol's)."""
    return {
        "own": WebhookEndpoint.objects.create(
            name="大数据局工作群", url="http://127.0.0.1:9/own", department=cast["alice"].department
        ),
        "other": WebhookEndpoint.objects.create(
            name="发改委工作群", url="http://127.0.0.1:9/other", department=cast["carol"].department
        ),
    }


def test_staff_cannot_choose_another_bodys_robot_through_the_api(client, cast, robots):
    client.force_login(cast["alice"])
    body = {"email": True, "in_app": True, "webhook": True, "webhook_endpoint": robots["other"].pk}
    response = client.put("/api/notifications/preferences/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "webhook_endpoint" in response.json()["details"]
    assert not NotificationPreference.objects.filter(user=cast["alice"]).exists()

    body["webhook_endpoint"] = robots["own"].pk
    response = client.put("/api/notifications/preferences/", body, content_type="application/json")
    assert response.status_code == 200
    assert NotificationPreference.objects.get(user=cast["alice"]).webhook_endpoint == robots["own"]


def test_preferences_page_lists_and_accepts_only_the_own_bodys_robots(client, cast, robots):
    client.force_login(cast["alice"])
    page = client.get("/notifications/preferences/").content.decode()
    assert "大数据局工作群" in page and "发改委工作群" not in page
    response = client.post("/notifications/preferences/", {"webhook": "on", "webhook_endpoint": robots["other"].pk})
    assert response.status_code == 200 and "field-error" in response.content.decode()
    assert not NotificationPreference.objects.filter(user=cast["alice"]).exists()


def test_the_preference_service_refuses_another_bodys_robot(cast, robots):
    with pytest.raises(ServiceError) as refused:
        preference_update(user=cast["alice"], email=True, in_app=True, webhook=True, webhook_endpoint=robots["other"])
    assert refused.value.details == {"webhook_endpoint": ["只能选择本单位的工作群机器人"]}


def test_text_people_typed_reaches_the_robot_as_plain_text_never_markdown(cast):
    typed = "已完成 [点此领取](https://evil.example/) ![x](https://evil.example/p.png)\n# 紧急通知 **加粗**"
    obligation = make_obligation("JN-DSJ", cooperating=["JN-FGW"])
    with WebhookServer() as server:
        WebhookEndpoint.objects.create(name="大数据局工作群", url=server.url, department=cast["alice"].department)
        preference_update(user=cast["alice"], email=False, in_app=True, webhook=True)
        # 发改委 cooperates: its progress is told to the responsible body (协办进展), robot included.
        services.progress_add(obligation=obligation, actor=cast["carol"], text=typed)
        deliver_pending()
        retry_deliveries()
    assert len(server.requests) == 1
    payload = server.requests[0]
    assert payload["msgtype"] == "text" and "markdown" not in payload
    assert typed[:40] in payload["text"]["content"]
