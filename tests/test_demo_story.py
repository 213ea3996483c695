"""seed_demo: a year of implementation told through the services, so the dashboard, the trend and
the reports have something to show; told once, and the audit chain holds."""

import datetime as dt
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Min
from django.utils import timezone

from accounts.models import User
from core.clock import today
from dashboard.selectors import dashboard_scope, dashboard_summary, dashboard_trend
from notifications.models import Delivery, Notification, Reminder
from obligations.audit import AuditAction, verify_chain
from obligations.models import (
    AuditEntry,
    DueDateChange,
    Evidence,
    ExtensionRequest,
    Objection,
    Obligation,
    OutboxMessage,
    ProgressEntry,
)
from regulations.models import forget_many_regulations

S = Obligation.Status


@pytest.fixture
def story(db, settings, django_capture_on_commit_callbacks):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = StringIO()
    with django_capture_on_commit_callbacks() as after_commit:
        call_command("seed_demo", stdout=out)
    # The story delivers every event when it happens: it leaves the worker nothing to do (a
    # queued delivery per event was a backlog of hundreds of no-ops in front of real work). What
    # may run after the commit is the process forgetting what it kept of the regulations.
    assert [f for f in after_commit if f is not forget_many_regulations] == []
    assert not OutboxMessage.objects.filter(delivered_at=None).exists()
    return out.getvalue()


def test_seed_demo_tells_a_year_of_work_once(story):
    """One test (the story takes a while to tell): its shape, its dates, its messages, told once."""
    # -- document numbers read as the bodies issue them (济工信发, 历下政发), never 济济阳区发 --
    numbers = list(Evidence.objects.exclude(document_number="").values_list("document_number", flat=True))
    assert numbers and not [n for n in numbers if "济济" in n or "区发" in n or "县发" in n]
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,10}发〔\d{4}〕\d{1,2}号", n) for n in numbers), numbers[:5]
    # -- the states spread as a year of work would --
    obligations = Obligation.objects.active()
    total = obligations.count()
    states = dict(obligations.values_list("status").annotate(n=Count("id")))
    assert total > 300 and sum(states.values()) == total
    # Every state of the work is there, none is most of it (已废止 comes only with an amendment).
    for state in (s for s in S if s not in Obligation.ENDED_STATUSES):
        assert 0.1 * total <= states.get(state, 0) <= 0.5 * total, states
    # Every obligation was given a date; some moved later, with their reasons.
    assert not obligations.filter(due_date=None).exists()
    assert DueDateChange.objects.count() > total
    assert AuditEntry.objects.filter(action=AuditAction.OBLIGATION_DUE_DATE).count() == DueDateChange.objects.count()

    # -- late and on-time completions, returns, extensions, objections, evidence --
    lead = User.objects.get(username="lead")
    summary = dashboard_summary(scope=dashboard_scope(user=lead))
    assert summary["on_time"] > 50 and summary["late"] > 10 and summary["overdue"] > 10
    assert 0.5 < summary["on_time_rate"] < 0.9
    # Returned for more work, then handed in again.
    returns = AuditEntry.objects.filter(
        action=AuditAction.OBLIGATION_STATUS, before__status=S.SUBMITTED, after__status=S.IN_PROGRESS
    )
    assert returns.count() >= 3 and all(e.after.get("reason") for e in returns)
    decided = dict(ExtensionRequest.objects.values_list("status").annotate(n=Count("id")))
    assert decided.get("approved", 0) >= 3 and decided.get("rejected", 0) >= 1
    # A few requests wait for the lead today, asked in the last days for dates just ahead.
    waiting = ExtensionRequest.objects.filter(status=ExtensionRequest.Status.PENDING).select_related("obligation")
    assert 1 <= waiting.count() <= 10
    for request in waiting:
        assert (today() - timezone.localdate(request.requested_at)).days <= 10
        assert request.requested_date > request.obligation.due_date >= today()
    assert Objection.objects.filter(status=Objection.Status.CONFIRMED).count() >= 3
    assert Objection.objects.filter(status=Objection.Status.PENDING).count() == 0
    # A date moved after it was missed: on time now, but the miss is kept.
    moved = Obligation.objects.exclude(missed_due_date=None).filter(due_date__gte=today())
    assert moved.exists()
    for obligation in Obligation.objects.filter(status__in=[S.SUBMITTED, S.VERIFIED]):
        assert obligation.submitted_by is not None and obligation.last_activity_at is not None
        assert Evidence.objects.filter(obligation=obligation).exists()
        assert ProgressEntry.objects.filter(obligation=obligation).exists()
    kinds = set(Evidence.objects.values_list("kind", flat=True))
    assert {"link", "document"} <= kinds

    # -- dated over the past year; the trend shows months of it --
    first = AuditEntry.objects.aggregate(first=Min("at"))["first"].date()
    assert today() - dt.timedelta(days=370) <= first <= today() - dt.timedelta(days=360)
    # The chain was written in time order, and holds.
    moments = list(AuditEntry.objects.order_by("id").values_list("at", flat=True))
    assert moments == sorted(moments)
    check = verify_chain()
    assert check.ok and check.checked == AuditEntry.objects.count()
    trend = dashboard_trend(scope=dashboard_scope(user=lead))
    months = {w["week"].strftime("%Y-%m") for w in trend["weeks"] if w["completed"]}
    assert len(months) >= 6
    assert sum(w["newly_overdue"] for w in trend["weeks"]) > 10
    # Progress was reported month after month, not on one day.
    assert ProgressEntry.objects.dates("created_at", "month").count() >= 10

    # -- reminders and notices sent at the time --
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() > 50
    overdue = Notification.objects.filter(kind=Notification.Kind.OVERDUE)
    assert overdue.exists() and overdue.aggregate(first=Min("created_at"))["first"].date() < today() - dt.timedelta(
        days=60
    )
    assert Notification.objects.filter(kind=Notification.Kind.VERIFIED).exists()
    # Every event was delivered when it happened: nothing left for the worker to send at start-up.
    assert not OutboxMessage.objects.filter(delivered_at=None).exists()
    assert not Delivery.objects.exclude(status=Delivery.Status.SENT).exists()
    # The emails of the past year were not printed on the console.
    assert "Subject:" not in story

    # -- told once: a second run changes nothing --
    counts = (AuditEntry.objects.count(), OutboxMessage.objects.count(), Notification.objects.count())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert (AuditEntry.objects.count(), OutboxMessage.objects.count(), Notification.objects.count()) == counts
    assert "staff_dsj" in out.getvalue() and "已写入" not in out.getvalue()
    assert verify_chain().ok
