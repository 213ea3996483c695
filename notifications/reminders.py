"""The reminder sweep: what is due, to whom, sent exactly once.

One sweep (`sweep(now=...)`):
1. plan: read the candidates in a constant number of queries (obligations due soon or overdue,
   milestones, pending extension requests, the body's staff, the leads, their preferences) and
   work out, per target, the ONE stage that applies today (the latest whose date has come: after
   days of downtime people get what is due now, not every stage they missed);
2. claim: INSERT the ledger rows ... ON CONFLICT DO NOTHING, in their own transactions. A row this
   sweep inserted is this sweep's to send; a conflict means someone sent (or is sending) it.
   Rows claimed by a sender that died (older than the lease) are taken over with one UPDATE;
3. compose: one Notification per reminder (escalations: one digest per body and recipient),
   with a Delivery row per chosen channel, committed before anything leaves the building;
4. send: email in batches over one connection, then webhooks; each delivery is marked as soon
   as its batch is done; failures get a retry time with backoff and never stop other channels;
5. mark the ledger rows sent.

Stage dates: reminders before the due date and on the day that fall on a day off go out on the
last working day before it (several stages landing on the same working day become one, named
after the earliest); overdue reminders that fall on a day off go out on the next working day
(a body cannot be told it is late before it is).
"""

import datetime as dt
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from core import clock
from core.calendar import WorkCalendar
from obligations.models import ExtensionRequest, Milestone, Obligation, days_overdue, is_overdue, obligation_url
from regulations.models import cite

from .emails import date_text, render_email
from .models import Delivery, Notification, Reminder, ReminderSettings, ReminderSweep
from .sending import Draft, choose_channels, retry_deliveries, send_deliveries, write_notifications

log = logging.getLogger(__name__)

# Overdue targets are always candidates; targets due later than this many days past the longest
# "before" interval are not (the margin covers the longest run of holidays a reminder moves across).
HOLIDAY_MARGIN_DAYS = 14
INSERT_CHUNK = 1000
DIGEST_LIST_LIMIT = 50


@dataclass
class SweepResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    # Claimed rows of other senders (all of them: the task comes back when their lease ends) and,
    # of this sweep's candidates, how many were such claims rather than sent.
    in_flight: int = 0
    claimed_elsewhere: int = 0
    retry_in: int | None = None
    details: dict = field(default_factory=dict)

    def summary(self) -> str:
        in_flight = (
            f", in flight {self.claimed_elsewhere} (claimed by another sender; taken over when its lease ends)"
            if self.claimed_elsewhere
            else ""
        )
        return f"sent {self.sent}, skipped {self.skipped} (already sent){in_flight}, failed {self.failed}"


# --------------------------------------------------------------------------- stages


def due_stage(due: dt.date, today: dt.date, cfg: ReminderSettings, cal: WorkCalendar) -> tuple[str, dt.date] | None:
    """The stage that applies `today` for something due on `due`, and the day it was scheduled for."""
    if today > due:
        repeat = max(cfg.overdue_repeat_days, 1)
        k = ((today - due).days - 1) // repeat
        while k >= 0:
            offset = 1 + k * repeat
            nominal = due + dt.timedelta(days=offset)
            effective = cal.working_day_on_or_after(nominal) if cfg.shift_to_working_day else nominal
            if effective <= today:
                return f"overdue:{offset}", effective
            k -= 1
    groups: dict[dt.date, tuple[dt.date, str]] = {}
    nominals: list[tuple[str, dt.date]] = [(f"before:{n}", due - dt.timedelta(days=n)) for n in cfg.before_days]
    if cfg.remind_on_due_day:
        nominals.append(("due", due))
    for name, nominal in nominals:
        effective = cal.working_day_on_or_before(nominal) if cfg.shift_to_working_day else nominal
        if effective > today:
            continue
        known = groups.get(effective)
        if known is None or nominal < known[0]:
            groups[effective] = (nominal, name)
    if not groups:
        return None
    latest = max(groups)
    return groups[latest][1], latest


# --------------------------------------------------------------------------- planning


@dataclass
class Candidate:
    target_type: str
    target_id: int
    stage: str
    due_date: dt.date
    recipient_id: int
    obligation_id: int | None
    scheduled_for: dt.date

    @property
    def key(self) -> tuple:
        return (self.target_type, self.target_id, self.stage, self.due_date, self.recipient_id)


@dataclass
class Plan:
    today: dt.date
    candidates: list[Candidate]
    obligations: dict[int, dict]
    milestones: dict[int, dict]
    extensions: dict[int, dict]
    overdue_by_department: dict[int, list[int]]
    users: dict[int, dict]
    digest: dict | None


def _citation(row: dict) -> str:
    return cite(row["clause__article__label"], row["clause__paragraph_number"], row["clause__regulation__title"])


OBLIGATION_FIELDS = (
    "id",
    "due_date",
    "status",
    "department_id",
    "department__short_name",
    "department__name",
    "clause__text",
    "clause__paragraph_number",
    "clause__article__label",
    "clause__regulation__title",
)


def _obligation_rows(queryset) -> dict[int, dict]:
    rows = {}
    for row in queryset.values(*OBLIGATION_FIELDS):
        row["citation"] = _citation(row)
        rows[row["id"]] = row
    return rows


def plan(today: dt.date, cfg: ReminderSettings, cal: WorkCalendar) -> Plan:
    horizon = today + dt.timedelta(days=max(cfg.before_days or [0]) + HOLIDAY_MARGIN_DAYS)
    open_obligations = Obligation.objects.active().open()
    obligations = _obligation_rows(open_obligations.filter(due_date__isnull=False, due_date__lte=horizon))

    milestones: dict[int, dict] = {}
    if cfg.remind_milestones:
        for row in Milestone.objects.filter(
            done_at__isnull=True, due_date__lte=horizon, obligation__in=open_obligations
        ).values("id", "title", "due_date", "obligation_id", "obligation__department_id"):
            milestones[row["id"]] = row

    extensions: dict[int, dict] = {}
    if cfg.remind_extensions:
        for row in ExtensionRequest.objects.filter(
            status=ExtensionRequest.Status.PENDING, obligation__superseded_at__isnull=True
        ).values("id", "obligation_id", "requested_at", "requested_date", "reason", "obligation__due_date"):
            extensions[row["id"]] = row

    # Obligations the milestones and extension requests belong to, for the messages' text.
    missing = {m["obligation_id"] for m in milestones.values()} | {e["obligation_id"] for e in extensions.values()}
    missing -= obligations.keys()
    if missing:
        obligations.update(_obligation_rows(Obligation.objects.filter(id__in=missing)))

    department_ids = {row["department_id"] for row in obligations.values()}
    users: dict[int, dict] = {}
    staff_by_department: dict[int, list[int]] = defaultdict(list)
    leads: list[int] = []
    for user in (
        User.objects.filter(is_active=True)
        .filter(Q(role=User.Role.LEAD) | Q(role=User.Role.STAFF, department_id__in=department_ids))
        .values("id", "username", "full_name", "email", "department_id", "role")
    ):
        users[user["id"]] = user
        if user["role"] == User.Role.LEAD:
            leads.append(user["id"])
        else:
            staff_by_department[user["department_id"]].append(user["id"])
    leads.sort()

    candidates: list[Candidate] = []
    overdue_by_department: dict[int, list[int]] = defaultdict(list)
    working_day = cal.is_working_day(today)
    for row in obligations.values():
        due = row["due_date"]
        if due is None or row["status"] in Obligation.OFF_DESK_STATUSES:
            continue
        if is_overdue(row["status"], due, today):
            overdue_by_department[row["department_id"]].append(row["id"])
        if due > horizon:
            continue
        stage = due_stage(due, today, cfg, cal)
        if stage and cfg.notify_responsible_staff:
            for user_id in staff_by_department.get(row["department_id"], ()):
                candidates.append(Candidate("obligation", row["id"], stage[0], due, user_id, row["id"], stage[1]))
        # Escalation: once overdue by more than M days, the lead (and the body) is told, on a working day.
        if working_day and (today - due).days > cfg.escalate_after_days:
            recipients = list(leads) if cfg.escalate_to_leads else []
            if cfg.escalation_to_staff:
                recipients += staff_by_department.get(row["department_id"], [])
            for user_id in recipients:
                candidates.append(Candidate("escalation", row["id"], "escalation", due, user_id, row["id"], today))

    for row in milestones.values():
        stage = due_stage(row["due_date"], today, cfg, cal)
        if stage:
            for user_id in staff_by_department.get(row["obligation__department_id"], ()):
                candidates.append(
                    Candidate(
                        "milestone", row["id"], stage[0], row["due_date"], user_id, row["obligation_id"], stage[1]
                    )
                )

    for row in extensions.values():
        # The leads heard of the request when it was filed (the outbox's extension_requested);
        # the sweep reminds them on the obligation's stages while it is pending.
        due = row["obligation__due_date"] or row["requested_date"]
        stage = due_stage(due, today, cfg, cal)
        if stage:
            for user_id in leads:
                candidates.append(
                    Candidate("extension", row["id"], stage[0], due, user_id, row["obligation_id"], stage[1])
                )

    digest = None
    if cfg.daily_digest_to_leads and leads and working_day:
        digest = _digest_content(today, cal)
        for user_id in leads:
            candidates.append(Candidate("digest", 0, "daily", today, user_id, None, today))

    # One order for every sweep: concurrent inserts then lock rows in the same order (no deadlock).
    candidates.sort(key=lambda c: (c.target_type, c.target_id, c.stage, c.due_date, c.recipient_id))
    return Plan(today, candidates, obligations, milestones, extensions, overdue_by_department, users, digest)


def _digest_content(today: dt.date, cal: WorkCalendar) -> dict:
    """What fell overdue since the last working day, what was submitted since, what is due this week."""
    previous = cal.add_working_days(today, -1)
    since = timezone.make_aware(dt.datetime.combine(previous, dt.time.min))
    active = Obligation.objects.active()
    fell = active.overdue(today).filter(due_date__gte=previous)
    submitted = active.filter(status=Obligation.Status.SUBMITTED, submitted_at__gte=since)
    week = active.open().filter(due_date__gte=today, due_date__lte=today + dt.timedelta(days=6))

    def listing(queryset, order):
        rows = list(_obligation_rows(queryset.order_by(*order)[: DIGEST_LIST_LIMIT + 1]).values())
        for row in rows:
            row["url"] = obligation_url(row["id"], absolute=True)
        return rows[:DIGEST_LIST_LIMIT], len(rows) > DIGEST_LIST_LIMIT

    sections = []
    for title, queryset, order in [
        ("新增逾期", fell, ["due_date", "id"]),
        ("提交待核验", submitted, ["submitted_at", "id"]),
        ("本周到期", week, ["due_date", "id"]),
    ]:
        rows, more = listing(queryset, order)
        sections.append({"title": title, "count": queryset.count() if more else len(rows), "items": rows, "more": more})
    return {"since": previous, "sections": sections}


# --------------------------------------------------------------------------- claiming


CLAIM_FIELDS = (
    "target_type",
    "target_id",
    "stage",
    "due_date",
    "recipient",
    "obligation",
    "status",
    "claim_token",
    "claimed_at",
    "scheduled_for",
)
KEY_FIELDS = ("target_type", "target_id", "stage", "due_date", "recipient")


def _insert_claims(candidates: list[Candidate], token: uuid.UUID, claimed_at: dt.datetime) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: the rows that go in are this sweep's to send.

    On PostgreSQL the rows travel as one array per column (unnest), so a statement has ten
    parameters whatever the number of rows; elsewhere (SQLite for `make run`) as VALUES lists."""
    meta = Reminder._meta
    fields = [meta.get_field(name) for name in CLAIM_FIELDS]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    conflict = ", ".join(quote(meta.get_field(n).column) for n in KEY_FIELDS)
    rows = [
        (
            c.target_type,
            c.target_id,
            c.stage,
            c.due_date,
            c.recipient_id,
            c.obligation_id,
            Reminder.Status.CLAIMED,
            token,
            claimed_at,
            c.scheduled_for,
        )
        for c in candidates
    ]
    postgres = connection.vendor == "postgresql"
    chunk_size = 20_000 if postgres else INSERT_CHUNK
    for start in range(0, len(rows), chunk_size):
        chunk = rows[start : start + chunk_size]
        if postgres:
            types = ["text", "bigint", "text", "date", "bigint", "bigint", "text", "uuid", "timestamptz", "date"]
            select = ", ".join(f"%s::{t}[]" for t in types)
            sql = (
                f"INSERT INTO {meta.db_table} ({columns}) SELECT * FROM unnest({select}) "  # noqa: S608
                f"ON CONFLICT ({conflict}) DO NOTHING"
            )
            params = [list(column) for column in zip(*chunk, strict=True)]
        else:
            row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
            sql = (
                f"INSERT INTO {meta.db_table} ({columns}) VALUES {', '.join([row_sql] * len(chunk))} "  # noqa: S608
                f"ON CONFLICT ({conflict}) DO NOTHING"
            )
            params = [f.get_db_prep_save(v, connection) for row in chunk for f, v in zip(fields, row, strict=True)]
        # Committed per chunk: the claim must be visible to other sweeps before anything is sent.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)


def _link_notifications(links: list[Reminder]) -> None:
    """Point ledger rows at their message (a taken-over claim then knows it exists)."""
    if connection.vendor != "postgresql":
        Reminder.objects.bulk_update(links, ["notification"], batch_size=500)
        return
    table = Reminder._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS r SET notification_id = v.nid "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(rid, nid) WHERE r.id = v.rid",
            [[r.id for r in links], [r.notification_id for r in links]],
        )


def claim(candidates: list[Candidate], *, lease_seconds: int) -> tuple[uuid.UUID, list[Reminder], int, int | None]:
    """Insert the ledger rows; take over stale claims.

    Returns (token, my rows, rows others are sending, seconds until the oldest of those expires)."""
    token = uuid.uuid4()
    now = clock.now()
    if candidates:
        _insert_claims(candidates, token, now)
    cutoff = now - dt.timedelta(seconds=lease_seconds)
    # One UPDATE takes over every claim whose sender died; under READ COMMITTED a concurrent
    # sweep re-checks claimed_at after we commit and leaves the rows alone.
    Reminder.objects.filter(status=Reminder.Status.CLAIMED, claimed_at__lt=cutoff).update(
        claim_token=token, claimed_at=now
    )
    mine = list(Reminder.objects.filter(claim_token=token, status=Reminder.Status.CLAIMED))
    others = Reminder.objects.filter(status=Reminder.Status.CLAIMED).exclude(claim_token=token)
    in_flight = others.count()
    oldest = others.order_by("claimed_at").values_list("claimed_at", flat=True).first()
    retry_in = None
    if oldest is not None:
        retry_in = max(1, int((oldest + dt.timedelta(seconds=lease_seconds) - now).total_seconds()) + 1)
    return token, mine, in_flight, retry_in


# --------------------------------------------------------------------------- composing


def _days_phrase(due: dt.date, today: dt.date) -> str:
    days = (due - today).days
    if days > 0:
        return f"距期限还有 {days} 天"
    if days == 0:
        return "今日到期"
    return f"已逾期 {-days} 天"


def _obligation_context(row: dict, today: dt.date) -> dict:
    return {
        "id": row["id"],
        "citation": row["citation"],
        "clause": row["clause__text"],
        "department": row["department__name"],
        "department_short": row["department__short_name"],
        "due_date": row["due_date"],
        "due_text": date_text(row["due_date"]),
        "days_phrase": _days_phrase(row["due_date"], today) if row["due_date"] else "未设定期限",
        "days_overdue": days_overdue(row["status"], row["due_date"], today),
        "url": obligation_url(row["id"], absolute=True),
    }


STAGE_LABELS = {"due": "到期当日提醒", "requested": "新延期申请", "daily": "每日汇总", "escalation": "逾期升级"}


def stage_label(stage: str) -> str:
    if stage.startswith("before:"):
        return f"到期前 {stage.split(':')[1]} 天提醒"
    if stage.startswith("overdue:"):
        return "逾期提醒"
    return STAGE_LABELS.get(stage, stage)


def compose(plan_: Plan, rows: list[Reminder], cfg: ReminderSettings) -> list[Draft]:
    """One Notification per reminder; escalations grouped per (recipient, body) into one digest."""
    fresh = [r for r in rows if r.notification_id is None]
    user_ids = {r.recipient_id for r in fresh}
    missing_users = user_ids - plan_.users.keys()
    users = dict(plan_.users)
    if missing_users:  # a stale claim taken over for someone the plan did not read
        for user in User.objects.filter(id__in=missing_users).values(
            "id", "username", "full_name", "email", "department_id", "role"
        ):
            users[user["id"]] = user
    choices = choose_channels({user_id: users[user_id] for user_id in user_ids})
    obligations = plan_.obligations
    needed = {r.obligation_id for r in fresh if r.obligation_id and r.obligation_id not in obligations}
    if needed:
        obligations = {**obligations, **_obligation_rows(Obligation.objects.filter(id__in=needed))}

    today = plan_.today
    drafts: list[Draft] = []
    escalations: dict[tuple[int, int], list[Reminder]] = defaultdict(list)
    items_by_recipient: dict[int, list[tuple[Reminder, dict, str]]] = defaultdict(list)
    for reminder in fresh:
        user = users[reminder.recipient_id]
        name = user["full_name"] or user["username"]
        if reminder.target_type == Reminder.TargetType.ESCALATION:
            department_id = obligations[reminder.obligation_id]["department_id"]
            escalations[(reminder.recipient_id, department_id)].append(reminder)
            continue
        if reminder.target_type == Reminder.TargetType.DIGEST:
            content = plan_.digest or _digest_content(today, WorkCalendar())
            email = render_email("digest", {"name": name, "today": today, **content})
            choice = choices[reminder.recipient_id]
            notification = Notification(
                recipient_id=reminder.recipient_id,
                kind=Notification.Kind.DIGEST,
                subject=email.subject[:300],
                body=email.text,
                body_html=email.html,
                url=f"{settings.SITE_URL}/",
                in_app=choice.in_app,
                payload={"target_type": "digest", "stage": reminder.stage},
            )
            drafts.append(Draft(notification, choice.channels, [reminder]))
            continue
        row = obligations.get(reminder.obligation_id)
        if row is None:
            continue
        context = {
            "stage": reminder.stage,
            "stage_label": stage_label(reminder.stage),
            "obligation": _obligation_context(row, today),
            "target_type": reminder.target_type,
        }
        if reminder.target_type == Reminder.TargetType.MILESTONE:
            milestone = (
                plan_.milestones.get(reminder.target_id)
                or Milestone.objects.filter(id=reminder.target_id).values("id", "title", "due_date").first()
            )
            if milestone is None:
                continue
            context["milestone"] = {
                **milestone,
                "due_text": date_text(milestone["due_date"]),
                "days_phrase": _days_phrase(milestone["due_date"], today),
            }
            kind = Notification.Kind.MILESTONE
        elif reminder.target_type == Reminder.TargetType.EXTENSION:
            extension = (
                plan_.extensions.get(reminder.target_id)
                or ExtensionRequest.objects.filter(id=reminder.target_id)
                .values("id", "requested_date", "reason", "requested_at")
                .first()
            )
            if extension is None:
                continue
            context["extension"] = {**extension, "requested_text": date_text(extension["requested_date"])}
            kind = Notification.Kind.EXTENSION
        else:
            kind = Notification.Kind.OVERDUE if reminder.stage.startswith("overdue") else Notification.Kind.REMINDER
        items_by_recipient[reminder.recipient_id].append((reminder, context, kind))

    for recipient_id, items in sorted(items_by_recipient.items()):
        user = users[recipient_id]
        name = user["full_name"] or user["username"]
        choice = choices[recipient_id]
        if len(items) == 1 or not cfg.group_reminders:
            for reminder, context, kind in items:
                email = render_email("reminder", {"name": name, "today": today, **context})
                notification = Notification(
                    recipient_id=recipient_id,
                    kind=kind,
                    subject=email.subject[:300],
                    body=email.text,
                    body_html=email.html,
                    url=context["obligation"]["url"],
                    obligation_id=context["obligation"]["id"],
                    department_id=obligations[reminder.obligation_id]["department_id"],
                    in_app=choice.in_app,
                    payload={
                        "target_type": reminder.target_type,
                        "target_id": reminder.target_id,
                        "stage": reminder.stage,
                    },
                )
                drafts.append(Draft(notification, choice.channels, [reminder]))
            continue
        # Several reminders for one person in one sweep: one message listing them all, so that a
        # body with forty obligations due next week gets one email per person, not forty.
        items.sort(key=lambda item: (-item[1]["obligation"]["days_overdue"], item[1]["obligation"]["due_date"]))
        overdue = sum(1 for _, c, _ in items if c["stage"].startswith("overdue"))
        email = render_email(
            "reminder-digest",
            {"name": name, "today": today, "items": [c for _, c, _ in items], "overdue": overdue},
        )
        notification = Notification(
            recipient_id=recipient_id,
            kind=Notification.Kind.OVERDUE if overdue else Notification.Kind.REMINDER,
            subject=email.subject[:300],
            body=email.text,
            body_html=email.html,
            url=f"{settings.SITE_URL}/notifications/",
            department_id=user["department_id"],
            in_app=choice.in_app,
            payload={
                "target_type": "grouped",
                "reminders": [[r.target_type, r.target_id, r.stage] for r, _, _ in items],
            },
        )
        drafts.append(Draft(notification, choice.channels, [r for r, _, _ in items]))

    for (recipient_id, department_id), reminders in sorted(escalations.items()):
        user = users[recipient_id]
        escalated = {r.obligation_id for r in reminders}
        overdue_ids = sorted(
            set(plan_.overdue_by_department.get(department_id, [])) | escalated,
            key=lambda i: (obligations[i]["due_date"], i) if i in obligations else (today, i),
        )
        items = []
        for obligation_id in overdue_ids:
            if obligation_id in obligations:
                items.append(
                    {**_obligation_context(obligations[obligation_id], today), "new": obligation_id in escalated}
                )
        first = obligations[reminders[0].obligation_id]
        is_lead = user["role"] == User.Role.LEAD
        email = render_email(
            "escalation",
            {
                "name": user["full_name"] or user["username"],
                "today": today,
                "department": first["department__name"],
                "items": items,
                "new_count": len(escalated),
                "for_lead": is_lead,
                "ack_url": f"{settings.SITE_URL}/notifications/",
            },
        )
        notification = Notification(
            recipient_id=recipient_id,
            kind=Notification.Kind.ESCALATION,
            subject=email.subject[:300],
            body=email.text,
            body_html=email.html,
            url=f"{settings.SITE_URL}/notifications/",
            obligation_id=reminders[0].obligation_id if len(reminders) == 1 else None,
            department_id=department_id,
            # An escalation is a notice that must be seen: it shows in the app whatever the preference.
            in_app=True,
            requires_ack=True,
            payload={"target_type": "escalation", "obligations": [i["id"] for i in items], "new": sorted(escalated)},
        )
        drafts.append(Draft(notification, choices[recipient_id].channels, reminders))
    return drafts


def save_drafts(drafts: list[Draft]) -> list[int]:
    """Write notifications and their deliveries, and link the ledger rows, in one transaction."""
    if not drafts:
        return []
    with transaction.atomic():
        notifications = write_notifications(drafts)
        links = []
        for draft, notification in zip(drafts, notifications, strict=True):
            for reminder in draft.reminders:
                reminder.notification_id = notification.id
                links.append(reminder)
        _link_notifications(links)
    return [n.id for n in notifications]


# --------------------------------------------------------------------------- the sweep


def sweep(*, now: dt.datetime | None = None) -> SweepResult:
    cfg = ReminderSettings.load()
    cal = WorkCalendar()
    now = now or clock.now()
    today = timezone.localdate(now)
    result = SweepResult()
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        timings[name] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()

    plan_ = plan(today, cfg, cal)
    lap("plan")
    token, mine, in_flight, retry_in = claim(plan_.candidates, lease_seconds=cfg.claim_lease_seconds)
    my_keys = {(r.target_type, r.target_id, r.stage, r.due_date, r.recipient_id) for r in mine}
    others = (
        set(Reminder.objects.filter(status=Reminder.Status.CLAIMED).exclude(claim_token=token).values_list(*KEY_FIELDS))
        if in_flight
        else set()
    )
    result.claimed_elsewhere = sum(1 for c in plan_.candidates if c.key in others)
    result.skipped = sum(1 for c in plan_.candidates if c.key not in my_keys and c.key not in others)
    result.in_flight, result.retry_in = in_flight, retry_in
    lap("claim")
    _send_mine(plan_, token, mine, cfg, result, lap, now=now)
    result.details = {
        "today": today.isoformat(),
        "candidates": len(plan_.candidates),
        "retried_sent": result.details.get("retried_sent", 0),
        "seconds": timings,
    }
    log.info("reminder sweep %s: %s", today, result.summary())
    return result


def take_over(*, now: dt.datetime | None = None) -> SweepResult:
    """Send the reminders whose sender died: its claims, once older than the lease, are taken over,
    composed and sent as its sweep would have. Run by the delivery retry beat (every few minutes),
    so a sweep whose worker was killed is finished one lease later, not when the broker hands its
    task back (the visibility timeout, an hour). A no-op (one query) when no claim is stale."""
    cfg = ReminderSettings.load()
    now = now or clock.now()
    result = SweepResult()
    cutoff = clock.now() - dt.timedelta(seconds=cfg.claim_lease_seconds)
    if not Reminder.objects.filter(status=Reminder.Status.CLAIMED, claimed_at__lt=cutoff).exists():
        return result
    today = timezone.localdate(now)
    nothing_planned = Plan(
        today=today,
        candidates=[],
        obligations={},
        milestones={},
        extensions={},
        overdue_by_department={},
        users={},
        digest=None,
    )
    token, mine, result.in_flight, result.retry_in = claim([], lease_seconds=cfg.claim_lease_seconds)
    _send_mine(nothing_planned, token, mine, cfg, result, lambda name: None, now=now)
    log.warning("reminder take-over %s: %s of a sender that died", today, result.summary())
    return result


def _send_mine(
    plan_: Plan,
    token: uuid.UUID,
    mine: list[Reminder],
    cfg: ReminderSettings,
    result: SweepResult,
    lap,
    *,
    now: dt.datetime,
):
    """Compose, save and send the rows this sender holds, then mark them sent."""
    drafts = compose(plan_, mine, cfg)
    lap("compose")
    if drafts:
        # The identity of this run: the notices page groups by it (notifications.selectors).
        run = ReminderSweep.objects.create(started_at=now)
        for draft in drafts:
            draft.notification.sweep = run
    save_drafts(drafts)
    lap("save")
    # Deliveries still pending for my rows: new ones, and those of a dead sender's rows I took over.
    notification_ids = {r.notification_id for r in mine if r.notification_id}
    pending = Delivery.objects.filter(notification_id__in=notification_ids, status=Delivery.Status.PENDING)
    _sent, failed = send_deliveries(pending, cfg)
    result.failed = failed
    lap("send")
    marked = Reminder.objects.filter(claim_token=token, status=Reminder.Status.CLAIMED).update(
        status=Reminder.Status.SENT, sent_at=clock.now()
    )
    result.sent = marked
    retried_sent, retried_failed = retry_deliveries(now=clock.now())
    result.failed += retried_failed
    result.details["retried_sent"] = retried_sent
    lap("mark_and_retry")
