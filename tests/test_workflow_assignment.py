"""Lead and cooperating bodies, reassignment, objections within the window, progress corrections."""

import datetime as dt

import pytest
import time_machine

from core import errors
from obligations import services
from obligations.models import AuditEntry, Objection, Obligation, ProgressEntry
from tests.factories import fast_passwords, make_obligation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings):
    fast_passwords(settings)


def test_cooperating_body_logs_progress_that_the_responsible_body_sees(cast):
    o = make_obligation("JN-DSJ", cooperating=["JN-FGW"])
    entry = services.progress_add(obligation=o, actor=cast["carol"], text="已提供项目清单", percent=40)
    assert entry.department.code == "JN-FGW"
    assert list(Obligation.objects.visible_to(cast["alice"]).get(pk=o.pk).progress_entries.all()) == [entry]
    after = AuditEntry.objects.get(action="progress.added").after
    assert after == {
        "progress_id": entry.pk,
        "text": "已提供项目清单",
        "percent": 40,
        "department": "JN-FGW",
        "corrects": None,
    }


def test_a_correction_is_a_new_entry_and_nothing_is_rewritten(cast):
    o = make_obligation("JN-DSJ")
    first = services.progress_add(obligation=o, actor=cast["alice"], text="完成 80%", percent=80)
    fix = services.progress_add(obligation=o, actor=cast["alice"], text="更正：完成 50%", percent=50, corrects=first)
    first.refresh_from_db()
    assert first.text == "完成 80%" and first.percent == 80
    assert fix.corrects == first and ProgressEntry.objects.count() == 2
    other = make_obligation("JN-DSJ")
    with pytest.raises(errors.InvalidInput):
        services.progress_add(obligation=other, actor=cast["alice"], text="x", corrects=first)


@pytest.mark.parametrize("percent,period", [(101, ""), (None, "2025-13"), (None, "2025Q5"), (None, "25Q1")])
def test_progress_values_are_checked(cast, percent, period):
    o = make_obligation("JN-DSJ")
    with pytest.raises(errors.InvalidInput):
        services.progress_add(obligation=o, actor=cast["alice"], text="x", percent=percent, report_period=period)
    assert not ProgressEntry.objects.exists()


def test_lead_adds_cooperating_body_who_then_sees_it(cast):
    o = make_obligation("JN-DSJ")
    assert not Obligation.objects.visible_to(cast["dave"]).filter(pk=o.pk).exists()
    services.obligation_add_cooperating(obligation=o, actor=cast["lena"], departments=["JN-LIXIA"], expected_version=1)
    assert Obligation.objects.visible_to(cast["dave"]).filter(pk=o.pk).exists()
    entry = AuditEntry.objects.get(action="obligation.cooperating")
    assert entry.before == {"cooperating": []} and entry.after == {"cooperating": ["JN-LIXIA"]}


def test_lead_reassigns_and_the_old_body_loses_sight(cast):
    o = make_obligation("JN-DSJ")
    services.obligation_reassign(
        obligation=o, actor=cast["lena"], department="JN-FGW", reason="职责调整", expected_version=1
    )
    o.refresh_from_db()
    assert o.department.code == "JN-FGW"
    assert not Obligation.objects.visible_to(cast["alice"]).filter(pk=o.pk).exists()
    entry = AuditEntry.objects.get(action="obligation.reassigned")
    assert entry.before == {"department": "JN-DSJ"}
    assert entry.after == {"department": "JN-FGW", "reason": "职责调整"}


def test_objection_within_window_then_lead_reassigns(cast, settings):
    settings.OBJECTION_WINDOW_DAYS = 10
    with time_machine.travel(dt.datetime(2025, 3, 3, 2, 0, tzinfo=dt.UTC), tick=False):  # Monday
        o = make_obligation("JN-DSJ")
    # Ten working days after Monday 3 March is Monday 17 March: the last day to object.
    with time_machine.travel(dt.datetime(2025, 3, 17, 2, 0, tzinfo=dt.UTC), tick=False):
        objection = services.objection_raise(
            obligation=o, actor=cast["alice"], reason="该职责属于发改委", suggested_department="JN-FGW"
        )
        services.objection_decide(
            objection=objection,
            actor=cast["lena"],
            decision="reassign",
            note="异议成立",
            new_department="JN-FGW",
            expected_version=1,
        )
    objection.refresh_from_db()
    o.refresh_from_db()
    assert objection.status == Objection.Status.REASSIGNED and objection.new_department.code == "JN-FGW"
    assert o.department.code == "JN-FGW"
    actions = list(AuditEntry.objects.filter(obligation=o).values_list("action", flat=True))
    assert actions == ["objection.raised", "obligation.reassigned", "objection.decided"]


def test_objection_after_the_window_is_refused(cast, settings):
    settings.OBJECTION_WINDOW_DAYS = 10
    with time_machine.travel(dt.datetime(2025, 3, 3, 2, 0, tzinfo=dt.UTC), tick=False):
        o = make_obligation("JN-DSJ")
    with time_machine.travel(dt.datetime(2025, 3, 18, 2, 0, tzinfo=dt.UTC), tick=False):
        with pytest.raises(errors.InvalidTransition) as exc:
            services.objection_raise(obligation=o, actor=cast["alice"], reason="不是我们")
    assert exc.value.code == "objection_window_closed" and "2025-03-17" in exc.value.message
    assert not Objection.objects.exists()


def test_lead_confirms_objection_and_assignment_stays(cast):
    o = make_obligation("JN-DSJ")
    objection = services.objection_raise(obligation=o, actor=cast["alice"], reason="不是我们")
    with pytest.raises(errors.Conflict):
        services.objection_raise(obligation=o, actor=cast["bob"], reason="再提")
    services.objection_decide(objection=objection, actor=cast["lena"], decision="confirm", note="条例第五条明确")
    o.refresh_from_db()
    objection.refresh_from_db()
    assert o.department.code == "JN-DSJ" and o.version == 1
    assert objection.status == Objection.Status.CONFIRMED and objection.decided_by == cast["lena"]
    assert AuditEntry.objects.get(action="objection.decided").after["status"] == "confirmed"
