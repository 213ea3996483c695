"""下发台账: the lead sends every body that carries obligations a notice with the link to its
台账 (obligations.ledger). The link downloads the body's ledger as it stands when it is clicked,
so the versions in it are current whenever the body starts filling it in."""

import logging
import uuid

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Department, User
from core import clock
from core.errors import NotAllowed
from obligations import audit
from obligations.audit import AuditAction

from .models import Notification
from .sending import Draft, choose_channels, write_notifications

log = logging.getLogger(__name__)
# By name: notifications.tasks imports the sending machinery, not this module.
RETRY_TASK = "notifications.tasks.retry_deliveries"


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
    choices = choose_channels({u.pk: {"email": u.email, "department_id": u.department_id} for u in staff})
    download = f"{settings.SITE_URL}{reverse('ledger-download')}"
    upload = f"{settings.SITE_URL}{reverse('ledger-import')}"
    now = clock.now()
    with transaction.atomic():
        drafts = []
        when = f"{timezone.localtime(now):%Y-%m-%d}"
        for body in bodies:
            recipients = [u for u in staff if u.department_id == body.pk]
            subject = f"【台账填报】请填报本单位义务落实台账（{body.carried} 项义务）"
            text = (
                f"{body.name}：\n\n牵头部门（{actor.display_name}）于 {when} 下发义务落实台账，"
                f"请下载本单位台账（共 {body.carried} 项义务），填报本期进展、完成比例、状态申请和佐证后导入系统。\n\n"
                f"下载台账：{download}\n导入台账：{upload}\n"
            )
            for user in recipients:
                choice = choices[user.pk]
                notification = Notification(
                    recipient=user,
                    kind=Notification.Kind.LEDGER,
                    subject=subject,
                    body=text,
                    url=download,
                    department=body,
                    in_app=choice.in_app,
                    payload={"event": "ledger.issued", "department": body.code},
                )
                drafts.append(Draft(notification, choice.channels))
            audit.record(
                AuditAction.LEDGER_ISSUED,
                actor=actor,
                after={"department": body.code, "obligations": body.carried, "recipients": [u.pk for u in recipients]},
            )
        # Claimed with a lease that has already run out: the retry pass sends them, queued now
        # after the commit, or by beat within ten minutes when the broker is down.
        write_notifications(drafts, claim_token=uuid.uuid4(), lease_until=now)
        transaction.on_commit(_send_now)
    return len(bodies)


def _send_now() -> None:
    try:
        current_app.send_task(RETRY_TASK, retry=False, ignore_result=True)
    except Exception:
        log.warning("broker unavailable: ledger notices wait for retry_deliveries", exc_info=True)
