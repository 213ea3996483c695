"""下发台账: the lead sends every body that carries obligations a notice with the link to its
台账 (obligations.ledger). The link downloads the body's ledger as it stands when it is clicked,
so the versions in it are current whenever the body starts filling it in."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Department, User
from core.errors import NotAllowed
from obligations import audit

from .models import Delivery, Notification, NotificationPreference, WebhookEndpoint
from .outbox import queue_task
from .reminders import _channels_for
from .tasks import RETRY_TASK


def ledger_issue(*, actor: User) -> int:
    """Notify the staff of every body that carries active obligations. Returns the bodies notified.
    Each body's notice is an event in the audit trail ("ledger.issued")."""
    if actor is None or not (actor.is_lead or actor.is_admin_role):
        raise NotAllowed("只有牵头部门可以下发台账")
    bodies = list(
        Department.objects.filter(active=True)
        .annotate(carried=Count("obligations", filter=Q(obligations__superseded_at__isnull=True)))
        .filter(carried__gt=0)
        .order_by("sort_order", "code")
    )
    staff = list(User.objects.filter(is_active=True, role=User.Role.STAFF, department__in=bodies).order_by("id"))
    users = {u.pk: {"email": u.email, "department_id": u.department_id} for u in staff}
    prefs = {p.user_id: p for p in NotificationPreference.objects.filter(user__in=staff)}
    endpoints = dict(
        WebhookEndpoint.objects.filter(active=True, department__isnull=False)
        .order_by("id")
        .values_list("department_id", "id")
    )
    download = f"{settings.SITE_URL}{reverse('ledger-download')}"
    upload = f"{settings.SITE_URL}{reverse('ledger-import')}"
    now = timezone.now()
    who = actor.display_name
    with transaction.atomic():
        for body in bodies:
            recipients = [u for u in staff if u.department_id == body.pk]
            subject = f"【台账填报】请填报本单位义务落实台账（{body.carried} 项义务）"
            text = (
                f"{body.name}：\n\n牵头部门（{who}）于 {timezone.localtime(now):%Y-%m-%d} 下发义务落实台账，"
                f"请下载本单位台账（共 {body.carried} 项义务），填报本期进展、完成比例、状态申请和佐证后导入系统。\n\n"
                f"下载台账：{download}\n导入台账：{upload}\n"
            )
            for user in recipients:
                in_app, channels = _channels_for(user.pk, prefs, endpoints, users)
                notification = Notification.objects.create(
                    recipient=user,
                    kind=Notification.Kind.LEDGER,
                    subject=subject,
                    body=text,
                    url=download,
                    department=body,
                    in_app=in_app,
                    payload={"event": "ledger.issued", "department": body.code},
                )
                Delivery.objects.bulk_create(
                    Delivery(
                        notification=notification,
                        channel=channel,
                        endpoint_id=endpoint_id,
                        status=Delivery.Status.RETRYING,
                        next_attempt_at=now - dt.timedelta(seconds=1),
                    )
                    for channel, endpoint_id in channels
                )
            audit.record(
                "ledger.issued",
                actor=actor,
                after={"department": body.code, "obligations": body.carried, "recipients": [u.pk for u in recipients]},
            )
        # Sent at once by a worker; with the broker down, by the beat's retry pass within 10 minutes.
        transaction.on_commit(lambda: queue_task(RETRY_TASK))
    return len(bodies)
