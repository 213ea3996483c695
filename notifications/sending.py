"""The one sending path of the sweep (notifications.reminders) and the outbox
(notifications.outbox): which channels a person gets, which group robot speaks for a body, how
notifications and their deliveries are written, and how deliveries are sent and retried.

Channels: in-app unless the person switched it off (callers may insist: escalations and events
always show in the app); email unless switched off, when the person has an address; the group
robot when chosen: their own endpoint, else their body's robot (`department_robots`: the OLDEST
active robot of the body, so that adding a second robot never silently moves a body's messages).
"""

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from django.db.models import F

from core import clock

from .channels import ChannelError, EmailChannel, WebhookChannel
from .models import Delivery, Notification, NotificationPreference, ReminderSettings, WebhookEndpoint, backoff_delay

log = logging.getLogger(__name__)

Channels = list[tuple[str, int | None]]


@dataclass
class Choice:
    in_app: bool
    channels: Channels


@dataclass
class Draft:
    notification: Notification
    channels: Channels
    reminders: list = field(default_factory=list)  # the sweep's ledger rows this message sends


def department_robots(department_ids) -> dict[int, int]:
    """The group robot of each body: its oldest active one."""
    robots: dict[int, int] = {}
    for endpoint_id, department_id in (
        WebhookEndpoint.objects.filter(active=True, department_id__in=set(department_ids))
        .order_by("id")
        .values_list("id", "department_id")
    ):
        robots.setdefault(department_id, endpoint_id)
    return robots


def choose_channels(users: dict[int, dict]) -> dict[int, Choice]:
    """Each user's channels. `users` maps id to a row with "email" and "department_id"."""
    prefs = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=users.keys())}
    robots = department_robots(u["department_id"] for u in users.values() if u["department_id"])
    choices = {}
    for user_id, user in users.items():
        pref = prefs.get(user_id)
        channels: Channels = []
        if (pref.email if pref else True) and user["email"]:
            channels.append((Delivery.Channel.EMAIL, None))
        if pref and pref.webhook:
            endpoint = pref.webhook_endpoint_id or robots.get(user["department_id"])
            if endpoint:
                channels.append((Delivery.Channel.WEBHOOK, endpoint))
        choices[user_id] = Choice(pref.in_app if pref else True, channels)
    return choices


def write_notifications(
    drafts: list[Draft], *, claim_token: uuid.UUID | None = None, lease_until: dt.datetime | None = None
) -> list[Notification]:
    """Write the notifications and one delivery per chosen channel, in the caller's transaction.

    With a claim token the deliveries start claimed by the caller (status retrying, next attempt
    at the end of the lease): if the caller dies before sending, `retry_deliveries` sends them."""
    notifications = Notification.objects.bulk_create([d.notification for d in drafts])
    claimed = {}
    if claim_token is not None:
        claimed = {"status": Delivery.Status.RETRYING, "retry_token": claim_token, "next_attempt_at": lease_until}
    Delivery.objects.bulk_create(
        [
            Delivery(notification=notification, channel=channel, endpoint_id=endpoint_id, **claimed)
            for draft, notification in zip(drafts, notifications, strict=True)
            for channel, endpoint_id in draft.channels
        ]
    )
    return notifications


def _record(ok: list[int], failures: dict[int, str], deliveries: dict[int, Delivery], cfg: ReminderSettings) -> None:
    now = clock.now()
    if ok:
        Delivery.objects.filter(id__in=ok).update(
            status=Delivery.Status.SENT, attempts=F("attempts") + 1, sent_at=now, last_error="", next_attempt_at=None
        )
    if failures:
        changed = []
        for delivery_id, error in failures.items():
            delivery = deliveries[delivery_id]
            delivery.attempts += 1
            delivery.last_error = error[:2000]
            if delivery.attempts >= cfg.max_delivery_attempts:
                delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
            else:
                delivery.status = Delivery.Status.RETRYING
                delivery.next_attempt_at = now + backoff_delay(delivery.attempts, cfg.retry_backoff_seconds)
            changed.append(delivery)
        Delivery.objects.bulk_update(changed, ["attempts", "last_error", "status", "next_attempt_at"], batch_size=1000)


def send_deliveries(queryset, cfg: ReminderSettings) -> tuple[int, int]:
    """Send the given deliveries: email in batches over one connection, then webhooks one by one.

    Returns (sent, failed)."""
    sent = failed = 0
    deliveries = list(queryset.select_related("notification__recipient", "endpoint").order_by("id"))
    emails = [d for d in deliveries if d.channel == Delivery.Channel.EMAIL]
    hooks = [d for d in deliveries if d.channel == Delivery.Channel.WEBHOOK]
    batch = max(cfg.send_batch_size, 1)
    for start in range(0, len(emails), batch):
        chunk = emails[start : start + batch]
        ok, failures = [], {}
        with EmailChannel() as channel:
            for delivery in chunk:
                try:
                    channel.send(delivery.notification, delivery)
                except ChannelError as exc:
                    failures[delivery.id] = str(exc)
                else:
                    ok.append(delivery.id)
        _record(ok, failures, {d.id: d for d in chunk}, cfg)
        sent, failed = sent + len(ok), failed + len(failures)
    webhook = WebhookChannel(timeout=cfg.webhook_timeout_seconds)
    for delivery in hooks:
        try:
            webhook.send(delivery.notification, delivery)
        except ChannelError as exc:
            log.warning("webhook delivery %s failed: %s", delivery.id, exc)
            _record([], {delivery.id: str(exc)}, {delivery.id: delivery}, cfg)
            failed += 1
        else:
            # Marked at once: a slow endpoint later in the loop must not leave this one unrecorded.
            _record([delivery.id], {}, {}, cfg)
            sent += 1
    return sent, failed


def retry_deliveries(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Try again the deliveries whose backoff has passed."""
    cfg = ReminderSettings.load()
    now = now or clock.now()
    token = uuid.uuid4()
    # Claim by conditional UPDATE: a concurrent pass re-checks next_attempt_at after we commit
    # and finds it in the future. If this process dies, the delivery is retried after the lease.
    Delivery.objects.filter(status=Delivery.Status.RETRYING, next_attempt_at__lte=now).update(
        retry_token=token, next_attempt_at=now + dt.timedelta(seconds=cfg.claim_lease_seconds)
    )
    return send_deliveries(Delivery.objects.filter(retry_token=token, status=Delivery.Status.RETRYING), cfg)
