"""Reads: a user's notifications and the escalation acknowledgements the lead follows."""

import dataclasses
import datetime as dt

from django.core.paginator import Page, Paginator
from django.db.models import Case, F, Max, Prefetch, Q, QuerySet, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .models import Notification, Reminder, WebhookEndpoint

CITED = ("obligation__clause__article", "obligation__clause__regulation")
SWEEP_DAYS_PER_PAGE = 7


def notifications_for(user) -> QuerySet[Notification]:
    """A user sees their own messages only; other people's do not exist for them."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user, in_app=True)


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).count()


def attention_count(user) -> int:
    """The nav badge: what needs the person (`NotificationQuerySet.needing_attention`)."""
    if not user.is_authenticated:
        return 0
    return notifications_for(user).needing_attention().count()


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


def with_citations(queryset: QuerySet[Notification]) -> QuerySet[Notification]:
    """Newest first, with what each line's citation (`Clause.citation`) reads."""
    return queryset.select_related(*CITED).order_by("-created_at", "-id")


@dataclasses.dataclass
class Sweep:
    """One run of the reminder sweep as one person got it (or, for notices sent before sweeps had
    an identity, one day's reminders): one entry on the page, its notices inside.

    `same_as_previous`: its items are exactly the previous entry's, so the page says "与上次提醒
    相同的 N 项仍未完成" instead of listing them again; `repeated` counts the items the previous
    entry listed too."""

    day: dt.date
    notices: list[Notification]
    started_at: dt.datetime | None = None  # the run's moment; None for a day's group
    repeated: int = 0
    same_as_previous: bool = False

    @property
    def unread(self) -> int:
        return sum(1 for n in self.notices if n.read_at is None)

    @property
    def item_ids(self) -> list[int]:
        return list(dict.fromkeys(o.pk for n in self.notices for o in n.items))

    @property
    def items(self) -> int:
        return len(self.item_ids)

    @property
    def new(self) -> int:
        return self.items - self.repeated


def reminder_sweeps(queryset: QuerySet[Notification], *, page=None) -> Page:
    """The reminders of `queryset`, one entry per sweep (notifications.models.ReminderSweep), newest
    first; notices without a sweep (sent before sweeps had an identity) one entry per day sent
    (Asia/Shanghai). Each notice's `items` are the obligations it names (a grouped one, through
    its ledger rows); each entry is compared with the one before it in time, on the next page
    too, so that a weekly list that has not changed is said once."""
    reminders = queryset.reminders().annotate(
        day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()),
        unswept_day=Case(When(sweep__isnull=True, then=F("day")), default=None),
    )
    groups = (
        reminders.order_by()
        .values("sweep_id", "unswept_day")
        .annotate(latest=Coalesce(Max("sweep__started_at"), Max("created_at")))
        .order_by("-latest", "-sweep_id", "-unswept_day")
    )
    groups_page = Paginator(groups, SWEEP_DAYS_PER_PAGE).get_page(page)
    keys = [(g["sweep_id"], g["unswept_day"]) for g in groups_page.object_list]
    # The entry just before this page's last one, to compare that one with.
    older = list(groups[groups_page.end_index() : groups_page.end_index() + 1]) if keys else []
    wanted = keys + [(g["sweep_id"], g["unswept_day"]) for g in older]
    sweep_ids = [s for s, _ in wanted if s is not None]
    days = [d for s, d in wanted if s is None]
    ledger = Reminder.objects.select_related(*CITED).order_by("id")
    notices = (
        with_citations(reminders.filter(Q(sweep_id__in=sweep_ids) | Q(sweep__isnull=True, day__in=days)))
        .select_related("sweep")
        .prefetch_related(Prefetch("reminders", queryset=ledger))
    )
    by_key: dict[tuple, list[Notification]] = {}
    for notice in notices:
        if notice.obligation_id is not None:
            notice.items = [notice.obligation]
        else:
            seen = {}
            for row in notice.reminders.all():
                if row.obligation_id is not None:
                    seen.setdefault(row.obligation_id, row.obligation)
            notice.items = list(seen.values())
        key = (notice.sweep_id, None if notice.sweep_id else notice.day)
        by_key.setdefault(key, []).append(notice)
    entries = []
    for sweep_id, day in wanted:
        found = by_key.get((sweep_id, day), [])
        run = found[0].sweep if sweep_id is not None and found else None
        if run is not None:
            entries.append(Sweep(day=timezone.localdate(run.started_at), notices=found, started_at=run.started_at))
        else:
            entries.append(Sweep(day=day, notices=found))
    for entry, previous in zip(entries, entries[1:], strict=False):
        before = set(previous.item_ids)
        entry.repeated = sum(1 for i in entry.item_ids if i in before)
        entry.same_as_previous = bool(entry.item_ids) and set(entry.item_ids) == before
    groups_page.object_list = entries[: len(keys)]
    return groups_page
