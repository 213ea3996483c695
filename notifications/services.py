"""Writes a user makes on their notifications: read, acknowledge, preferences."""

from django.db import transaction

from core import clock
from core.errors import ServiceError

from . import selectors
from .models import Notification, NotificationPreference


class NotificationError(ServiceError):
    """Rendered by the API's one error handler as {"code", "message", "details"}."""


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = clock.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=clock.now())


@transaction.atomic
def notification_acknowledge(*, notification: Notification) -> Notification:
    """已知悉: only a message that asks for it can be acknowledged, once; acknowledging also reads it."""
    if not notification.requires_ack:
        raise NotificationError("该消息无需确认", code="not_acknowledgeable")
    locked = Notification.objects.select_for_update().get(pk=notification.pk)
    if locked.acknowledged_at is None:
        now = clock.now()
        locked.acknowledged_at = now
        locked.read_at = locked.read_at or now
        locked.save(update_fields=["acknowledged_at", "read_at"])
    return locked


def preference_for(user) -> NotificationPreference:
    pref = NotificationPreference.objects.filter(user=user).first()
    return pref or NotificationPreference(user=user)


@transaction.atomic
def preference_update(
    *, user, email: bool, in_app: bool, webhook: bool, webhook_endpoint=None
) -> NotificationPreference:
    if (
        webhook_endpoint is not None
        and not selectors.webhook_endpoints_for(user).filter(pk=webhook_endpoint.pk).exists()
    ):
        message = "只能选择本单位的工作群机器人"
        raise NotificationError(message, code="invalid", details={"webhook_endpoint": [message]})
    pref, _ = NotificationPreference.objects.get_or_create(user=user)
    pref.email, pref.in_app, pref.webhook, pref.webhook_endpoint = email, in_app, webhook, webhook_endpoint
    pref.save()
    return pref
