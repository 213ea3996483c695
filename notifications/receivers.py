"""Listeners to the obligations app's signals."""

from django.dispatch import receiver

from core import clock
from obligations.signals import decisions_seen

from .models import Notification


@receiver(decisions_seen, dispatch_uid="notifications.decision_notices_read")
def decision_notices_read(sender, *, user, obligation, **kwargs) -> None:
    """The obligation's page shows its decisions: the user's notices of them are read."""
    Notification.objects.filter(
        recipient=user, obligation=obligation, kind__in=Notification.DECISION_KINDS, read_at__isnull=True
    ).update(read_at=clock.now())
