"""The webhook channel against a real HTTP server on 127.0.0.1; retries; one channel failing
never holds up another."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import Delivery, ReminderSettings, WebhookEndpoint
from notifications.sending import retry_deliveries
from notifications.services import preference_update
from tests.factories import make_obligation
from tests.test_reminders_support import WebhookServer, sweep_on

D = dt.date.fromisoformat
pytestmark = pytest.mark.django_db


def later(minutes=30):
    """A retry pass run after the backoff has passed."""
    return retry_deliveries(now=timezone.now() + dt.timedelta(minutes=minutes))


@pytest.fixture(autouse=True)
def quick_settings(settings, db):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cfg = ReminderSettings.load()
    cfg.daily_digest_to_leads = False
    cfg.webhook_timeout_seconds = 0.5
    cfg.save()
    return cfg


def robot_for(cast, url):
    endpoint = WebhookEndpoint.objects.create(name="大数据局工作群", url=url, department=cast["alice"].department)
    preference_update(user=cast["alice"], email=True, in_app=True, webhook=True)
    return endpoint


def test_webhook_posts_a_json_message_to_the_bodys_robot(cast):
    with WebhookServer() as server:
        robot_for(cast, server.url)
        obligation = make_obligation(cast["alice"].department, D("2025-06-20"))
        result = sweep_on("2025-06-13")
    assert (result.sent, result.failed) == (2, 0)
    assert len(server.requests) == 1  # bob did not choose the webhook
    payload = server.requests[0]
    assert payload["msgtype"] == "markdown"
    assert obligation.clause.citation in payload["markdown"]["title"]
    assert "距期限还有 7 天" in payload["markdown"]["text"]
    assert payload["recipient"] == "alice" and payload["obligation_id"] == obligation.id
    delivery = Delivery.objects.get(channel="webhook")
    assert (delivery.status, delivery.attempts, str(delivery.key)) == ("sent", 1, payload["key"])


def test_a_failing_webhook_is_retried_and_does_not_hold_up_email(cast):
    script = [(500, 0, b"oops"), (200, 0, b'{"errcode": 0}')]
    with WebhookServer(script) as server:
        robot_for(cast, server.url)
        make_obligation(cast["alice"].department, D("2025-06-20"))
        result = sweep_on("2025-06-13")
        assert (result.sent, result.failed) == (2, 1)
        assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.gov.cn", "bob@example.gov.cn"]
        delivery = Delivery.objects.get(channel="webhook")
        assert (delivery.status, delivery.attempts) == ("retrying", 1)
        assert "HTTP 500" in delivery.last_error
        assert retry_deliveries() == (0, 0)  # still backing off
        assert later() == (1, 0)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    # The retry carries the same idempotency key: the receiver can tell it is the same message.
    assert [p["key"] for p in server.requests] == [str(delivery.key)] * 2


def test_a_slow_webhook_times_out_is_recorded_and_gives_up_after_the_last_attempt(cast, quick_settings):
    quick_settings.max_delivery_attempts = 2
    quick_settings.save()
    with WebhookServer([(200, 3, b"{}")]) as server:
        robot_for(cast, server.url)
        make_obligation(cast["alice"].department, D("2025-06-20"))
        result = sweep_on("2025-06-13")
        assert result.failed == 1 and len(mail.outbox) == 2
        assert later() == (0, 1)
        assert later(minutes=600) == (0, 0)
    delivery = Delivery.objects.get(channel="webhook")
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "无法送达" in delivery.last_error


def test_a_robot_that_answers_with_an_error_code_counts_as_a_failure(cast):
    with WebhookServer([(200, 0, '{"errcode": 310000, "errmsg": "关键词不匹配"}'.encode())]) as server:
        robot_for(cast, server.url)
        make_obligation(cast["alice"].department, D("2025-06-20"))
        assert sweep_on("2025-06-13").failed == 1
    assert "关键词不匹配" in Delivery.objects.get(channel="webhook").last_error


def test_a_user_can_choose_a_specific_robot(cast):
    with WebhookServer() as body_robot, WebhookServer() as own_robot:
        robot_for(cast, body_robot.url)
        mine = WebhookEndpoint.objects.create(name="我的群", url=own_robot.url)
        preference_update(user=cast["bob"], email=False, in_app=True, webhook=True, webhook_endpoint=mine)
        make_obligation(cast["alice"].department, D("2025-06-20"))
        sweep_on("2025-06-13")
    assert [p["recipient"] for p in body_robot.requests] == ["alice"]
    assert [p["recipient"] for p in own_robot.requests] == ["bob"]
    assert [m.to for m in mail.outbox] == [["alice@example.gov.cn"]]
