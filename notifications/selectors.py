"""Reads: a user's notifications and the escalation acknowledgements the lead follows."""

import dataclasses
import datetime as dt

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.db.models.functions import TruncDate
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
    """One day's reminders to one person: one entry on the page, its items inside."""

    day: dt.date
    notices: list[Notification]

    @property
    def unread(self) -> int:
        return sum(1 for n in self.notices if n.read_at is None)

    @property
    def items(self) -> int:
        return sum(len(n.items) for n in self.notices)


def reminder_sweeps(queryset: QuerySet[Notification], *, page=None) -> Page:
    """The reminders of `queryset` grouped by the day (Asia/Shanghai) they were sent, newest day
    first: the sweep runs once a day, and a grouped reminder is already one message per sweep.
    Each notice's `items` are the obligations it names (a grouped one, through its ledger rows)."""
    reminders = queryset.reminders().annotate(day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()))
    days = Paginator(reminders.order_by("-day").values_list("day", flat=True).distinct(), SWEEP_DAYS_PER_PAGE)
    days_page = days.get_page(page)
    ledger = Reminder.objects.select_related(*CITED).order_by("id")
    notices = with_citations(reminders.filter(day__in=list(days_page.object_list))).prefetch_related(
        Prefetch("reminders", queryset=ledger)
    )
    by_day: dict[dt.date, list[Notification]] = {}
    for notice in notices:
        if notice.obligation_id is not None:
            notice.items = [notice.obligation]
        else:
            seen = {}
            for row in notice.reminders.all():
                if row.obligation_id is not None:
                    seen.setdefault(row.obligation_id, row.obligation)
            notice.items = list(seen.values())
        by_day.setdefault(notice.day, []).append(notice)
    days_page.object_list = [Sweep(day, by_day.get(day, [])) for day in days_page.object_list]
    return days_page
