"""The transactional outbox: notifications that a change triggers survive a broker outage.

Triggers (each is the audit entry a service writes, inside the service's transaction):
- a cooperating body logs progress ("progress.added" whose department is not the responsible
  body): the responsible body's staff are told (协办进展);
- staff submit an obligation for verification ("obligation.status" → submitted): the leads are
  told (待核验).

How it travels:
1. `outbox_write` inserts an OutboxMessage in the caller's transaction: the event and the change
   commit or roll back together; the database is the source of truth.
2. After the commit (`transaction.on_commit`) the Celery task `deliver_outbox_message` is queued.
   A broker error there is logged and swallowed: the user's save has succeeded and stays so.
3. `deliver(message_id)` claims the row with `filter(id=…, delivered_at=None).update(...)` in the
   transaction that writes the Notification and Delivery rows, so two workers never both deliver
   it and a worker dying half-way delivers nothing (the claim rolls back with it). The email /
   webhook deliveries are then sent through the reminders' delivery machinery; a sender that dies
   before recording them leaves them to `retry_deliveries` after the claim lease.
4. The beat task `deliver_outbox` (every minute) and the reminder sweep call `deliver_pending()`,
   which picks up whatever the queued tasks did not deliver (broker down, worker lost).
"""

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User

from .models import (
    Delivery,
    Notification,
    NotificationPreference,
    OutboxMessage,
    ReminderSettings,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10  # a message that failed this often (a bug, not an outage) is left for a person
PENDING_BATCH = 500
TEXT_EXCERPT = 200
QUEUE_TIMEOUT = 2  # seconds a save may spend handing the message to the broker
# Queued by name: the task module imports this one, not the other way round.
OUTBOX_MESSAGE_TASK = "notifications.tasks.deliver_outbox_message"


# --------------------------------------------------------------------------- writing


def outbox_write(*, event: str, obligation_id: int, actor_id: int | None, payload: dict) -> OutboxMessage:
    """Record an event in the caller's transaction and queue its delivery for after the commit."""
    message = OutboxMessage.objects.create(event=event, obligation_id=obligation_id, actor_id=actor_id, payload=payload)
    transaction.on_commit(lambda: queue_delivery(message.id))
    return message


def queue_delivery(message_id: int) -> bool:
    """Hand the message to a worker. Never raises: the outbox row is already committed and
    `deliver_outbox` picks it up when the broker is back."""
    app = current_app
    try:
        # A web request must not wait for a broker that is down: one connection attempt, no
        # publish retries (Celery's defaults retry for about 6 s before giving up).
        with app.pool.acquire(block=True, timeout=QUEUE_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=QUEUE_TIMEOUT)
            app.send_task(OUTBOX_MESSAGE_TASK, args=[message_id], retry=False, connection=conn)
    except Exception:
        log.warning("broker unavailable: outbox message %s waits for deliver_outbox", message_id, exc_info=True)
        return False
    return True


def on_audit_entry(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save of AuditEntry: turn the events people must hear about into outbox rows."""
    if not created or raw or instance.obligation_id is None:
        return
    after = instance.after or {}
    if instance.action == "progress.added":
        from obligations.models import Obligation

        code = after.get("department")
        # Only a body cooperating on the obligation (not the responsible body, nor anyone else).
        if (
            code
            and Obligation.cooperating.through.objects.filter(
                obligation_id=instance.obligation_id, department__code=code
            )
            .exclude(obligation__department__code=code)
            .exists()
        ):
            outbox_write(
                event=OutboxMessage.Event.PROGRESS,
                obligation_id=instance.obligation_id,
                actor_id=instance.actor_id,
                payload={
                    "audit_entry_id": instance.pk,
                    "progress_id": after.get("progress_id"),
                    "department": after.get("department"),
                    "percent": after.get("percent"),
                    "text": (after.get("text") or "")[:TEXT_EXCERPT],
                },
            )
    elif instance.action == "obligation.status" and after.get("status") == "submitted":
        outbox_write(
            event=OutboxMessage.Event.SUBMITTED,
            obligation_id=instance.obligation_id,
            actor_id=instance.actor_id,
            payload={"audit_entry_id": instance.pk},
        )


# --------------------------------------------------------------------------- composing


@dataclass
class Draft:
    notification: Notification
    channels: list[tuple[str, int | None]]


def _recipients(message: OutboxMessage) -> list[User]:
    users = User.objects.filter(is_active=True)
    if message.event == OutboxMessage.Event.PROGRESS:
        users = users.filter(role=User.Role.STAFF, department_id=message.obligation.department_id)
    else:
        users = users.filter(role=User.Role.LEAD)
    if message.actor_id:
        users = users.exclude(pk=message.actor_id)
    return list(users.order_by("id"))


def _text(message: OutboxMessage) -> tuple[str, str, Notification.Kind]:
    obligation = message.obligation
    citation = obligation.clause.citation
    url = f"{settings.SITE_URL}/obligations/{obligation.pk}/"
    actor = message.actor
    who = (actor.full_name or actor.get_username()) if actor else "（已删除用户）"
    if message.event == OutboxMessage.Event.PROGRESS:
        from accounts.models import Department

        code = message.payload.get("department")
        body_name = Department.objects.filter(code=code).values_list("name", flat=True).first() or code
        percent = message.payload.get("percent")
        subject = f"【协办进展】{body_name}报送了{citation}的工作进展"
        lines = [
            f"协办单位{body_name}（{who}）报送了工作进展：",
            "",
            message.payload.get("text", ""),
        ]
        if percent is not None:
            lines += ["", f"完成比例：{percent}%"]
        kind = Notification.Kind.PROGRESS
    else:
        subject = f"【待核验】{obligation.department.name}已提交{citation}，请核验"
        lines = [f"{obligation.department.name}（{who}）已提交该项义务，等待核验。"]
        kind = Notification.Kind.SUBMITTED
    lines += ["", f"条款：{citation}", f"查看：{url}"]
    return subject[:300], "\n".join(lines) + "\n", kind


def compose(message: OutboxMessage) -> list[Draft]:
    recipients = _recipients(message)
    if not recipients:
        return []
    subject, body, kind = _text(message)
    prefs = {p.user_id: p for p in NotificationPreference.objects.filter(user__in=recipients)}
    endpoints = dict(
        WebhookEndpoint.objects.filter(active=True, department__isnull=False)
        .order_by("id")
        .values_list("department_id", "id")
    )
    drafts = []
    for user in recipients:
        pref = prefs.get(user.pk)
        channels: list[tuple[str, int | None]] = []
        if (pref.email if pref else True) and user.email:
            channels.append((Delivery.Channel.EMAIL, None))
        if pref and pref.webhook:
            endpoint = pref.webhook_endpoint_id or endpoints.get(user.department_id)
            if endpoint:
                channels.append((Delivery.Channel.WEBHOOK, endpoint))
        notification = Notification(
            recipient=user,
            kind=kind,
            subject=subject,
            body=body,
            url=f"{settings.SITE_URL}/obligations/{message.obligation_id}/",
            obligation_id=message.obligation_id,
            department_id=message.obligation.department_id,
            in_app=pref.in_app if pref else True,
            payload={"outbox_id": message.pk, "event": message.event, **message.payload},
        )
        drafts.append(Draft(notification, channels))
    return drafts


# --------------------------------------------------------------------------- delivering


def deliver(message_id: int) -> int:
    """Deliver one outbox message. Returns the number of notifications written (0 when another
    deliverer has it, or it has no recipients)."""
    from .reminders import send_deliveries

    cfg = ReminderSettings.load()
    token = uuid.uuid4()
    now = timezone.now()
    try:
        with transaction.atomic():
            # The claim: a concurrent deliverer blocks on the row until we commit, then finds
            # delivered_at set and updates nothing. If we fail, the claim rolls back with the rest.
            if not OutboxMessage.objects.filter(id=message_id, delivered_at=None).update(delivered_at=now):
                return 0
            message = OutboxMessage.objects.select_related(
                "obligation__clause__article", "obligation__department", "actor"
            ).get(id=message_id)
            drafts = compose(message)
            notifications = Notification.objects.bulk_create([d.notification for d in drafts])
            # Deliveries start claimed by this process (retry_token) with the lease as their next
            # attempt: if we die before sending, retry_deliveries() sends them after the lease.
            lease = now + dt.timedelta(seconds=cfg.claim_lease_seconds)
            Delivery.objects.bulk_create(
                [
                    Delivery(
                        notification=notification,
                        channel=channel,
                        endpoint_id=endpoint_id,
                        status=Delivery.Status.RETRYING,
                        retry_token=token,
                        next_attempt_at=lease,
                    )
                    for draft, notification in zip(drafts, notifications, strict=True)
                    for channel, endpoint_id in draft.channels
                ]
            )
    except Exception as exc:
        log.exception("outbox message %s could not be delivered", message_id)
        OutboxMessage.objects.filter(id=message_id, delivered_at=None).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        return 0
    send_deliveries(Delivery.objects.filter(retry_token=token, status=Delivery.Status.RETRYING), cfg)
    return len(notifications)


def deliver_pending(*, limit: int = PENDING_BATCH) -> int:
    """Deliver what is still undelivered (the sweep after an outage). Returns messages delivered."""
    ids = list(
        OutboxMessage.objects.filter(delivered_at=None, attempts__lt=MAX_ATTEMPTS)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    delivered = 0
    for message_id in ids:
        if deliver(message_id):
            delivered += 1
    return delivered
