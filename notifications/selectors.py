"""Reads: a user's notifications and the escalation acknowledgements the lead follows."""

from django.db.models import QuerySet

from .models import Notification, WebhookEndpoint


def notifications_for(user) -> QuerySet[Notification]:
    """A user sees their own messages only; other people's do not exist for them."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user, in_app=True)


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).count()


def can_see_acknowledgements(user) -> bool:
    return user.is_authenticated and user.sees_everything


def acknowledgements(user) -> QuerySet[Notification]:
    """Escalations (which ask for 已知悉): who was asked, who acknowledged, and when."""
    if not can_see_acknowledgements(user):
        return Notification.objects.none()
    return (
        Notification.objects.filter(requires_ack=True)
        .select_related("recipient", "recipient__department", "department")
        .order_by("-created_at", "-id")
    )


def webhook_endpoints_for(user) -> QuerySet[WebhookEndpoint]:
    """The group robots a user may send their reminders to: their own body's, active ones. Another
    body's robot would post this user's obligations into a group they are no member of."""
    if not user.is_authenticated or user.department_id is None:
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.filter(active=True, department_id=user.department_id)
