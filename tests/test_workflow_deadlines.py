"""Due dates, extensions, milestones, working days: every date change kept with who/when/why."""

import datetime as dt

import pytest
import time_machine

from core import errors
from core.calendar import add_working_days
from obligations import services
from obligations.models import AuditEntry, DueDateChange, ExtensionRequest, Obligation
from tests.factories import fast_passwords, make_obligation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings):
    fast_passwords(settings)


@pytest.mark.parametrize(
    "start,n,expected",
    [
        (dt.date(2025, 3, 7), 1, dt.date(2025, 3, 10)),  # Friday + 1 -> Monday
        (dt.date(2025, 3, 3), 5, dt.date(2025, 3, 10)),  # Monday + 5 -> next Monday
        (dt.date(2025, 3, 8), 1, dt.date(2025, 3, 10)),  # Saturday + 1 -> Monday
        (dt.date(2025, 3, 3), 10, dt.date(2025, 3, 17)),
        (dt.date(2025, 3, 3), 0, dt.date(2025, 3, 3)),
    ],
)
def test_add_working_days_skips_weekends(start, n, expected):
    assert add_working_days(start, n) == expected


def test_lead_sets_due_date_with_reason_recorded_in_change_and_audit(cast):
    o = make_obligation("JN-DSJ")
    o = services.obligation_set_due_date(
        obligation=o, actor=cast["lena"], due_date=dt.date(2025, 6, 30), reason="市政府部署", expected_version=1
    )
    assert o.due_date == dt.date(2025, 6, 30) and o.version == 2
    change = DueDateChange.objects.get(obligation=o)
    assert (change.old_date, change.new_date, change.reason, change.changed_by) == (
        None,
        dt.date(2025, 6, 30),
        "市政府部署",
        cast["lena"],
    )
    entry = AuditEntry.objects.get(obligation=o, action="obligation.due_date")
    assert entry.before == {"due_date": None}
    assert entry.after == {"due_date": "2025-06-30", "reason": "市政府部署"}


def test_due_date_change_needs_a_reason(cast):
    o = make_obligation("JN-DSJ")
    with pytest.raises(errors.InvalidInput):
        services.obligation_set_due_date(
            obligation=o, actor=cast["lena"], due_date=dt.date(2025, 6, 30), reason="", expected_version=1
        )
    assert not DueDateChange.objects.exists()


@time_machine.travel(dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC), tick=False)
def test_extension_approved_moves_the_due_date_and_records_it(cast):
    o = make_obligation("JN-DSJ", status=Obligation.Status.IN_PROGRESS, due_date=dt.date(2025, 3, 31))
    request = services.extension_request(
        obligation=o, actor=cast["alice"], requested_date=dt.date(2025, 4, 30), reason="需等待省级批复"
    )
    with pytest.raises(errors.Conflict):
        services.extension_request(obligation=o, actor=cast["bob"], requested_date=dt.date(2025, 5, 30), reason="再延")
    services.extension_decide(request=request, actor=cast["lena"], approve=True, note="同意", expected_version=1)
    o.refresh_from_db()
    request.refresh_from_db()
    assert o.due_date == dt.date(2025, 4, 30)
    assert request.status == ExtensionRequest.Status.APPROVED and request.decided_by == cast["lena"]
    change = DueDateChange.objects.get(obligation=o)
    assert change.old_date == dt.date(2025, 3, 31) and "需等待省级批复" in change.reason
    actions = list(AuditEntry.objects.filter(obligation=o).values_list("action", flat=True))
    assert actions == ["extension.requested", "obligation.due_date", "extension.decided"]
    with pytest.raises(errors.InvalidTransition):
        services.extension_decide(request=request, actor=cast["lena"], approve=False, note="x", expected_version=2)


@time_machine.travel(dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC), tick=False)
def test_extension_rejected_keeps_the_due_date_and_needs_a_note(cast):
    o = make_obligation("JN-DSJ", due_date=dt.date(2025, 3, 31))
    request = services.extension_request(
        obligation=o, actor=cast["alice"], requested_date=dt.date(2025, 4, 30), reason="人手不足"
    )
    with pytest.raises(errors.InvalidInput):
        services.extension_decide(request=request, actor=cast["lena"], approve=False, note="")
    services.extension_decide(request=request, actor=cast["lena"], approve=False, note="请按期完成")
    o.refresh_from_db()
    assert o.due_date == dt.date(2025, 3, 31) and o.version == 1
    assert not DueDateChange.objects.exists()


@time_machine.travel(dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC), tick=False)
def test_extension_must_ask_for_a_later_date(cast):
    o = make_obligation("JN-DSJ", due_date=dt.date(2025, 3, 31))
    with pytest.raises(errors.InvalidInput) as exc:
        services.extension_request(obligation=o, actor=cast["alice"], requested_date=dt.date(2025, 3, 20), reason="x")
    assert "requested_date" in exc.value.details


def test_milestones_added_completed_and_rescheduled_with_history(cast):
    o = make_obligation("JN-DSJ")
    m = services.milestone_add(obligation=o, actor=cast["alice"], title="起草方案", due_date=dt.date(2025, 4, 1))
    services.milestone_set_due_date(milestone=m, actor=cast["bob"], due_date=dt.date(2025, 4, 15), reason="专家延期")
    entry = services.progress_add(obligation=o, actor=cast["alice"], text="方案已起草", milestone=m)
    m.refresh_from_db()
    assert m.done_at is not None and entry.milestone == m
    change = DueDateChange.objects.get(milestone=m)
    assert (change.old_date, change.new_date, change.changed_by) == (
        dt.date(2025, 4, 1),
        dt.date(2025, 4, 15),
        cast["bob"],
    )
    actions = list(AuditEntry.objects.filter(obligation=o).values_list("action", flat=True))
    assert actions == ["milestone.added", "milestone.due_date", "milestone.done", "progress.added"]
    with pytest.raises(errors.InvalidTransition):
        services.milestone_complete(milestone=m, actor=cast["alice"])
