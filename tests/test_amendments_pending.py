"""An amendment confirmed before its effective date waits (待生效), then carries the obligations over
on that day, once: the real 上海市检验检测条例 2024 text and the constructed 修订 made from it
(fixtures/amendments/SOURCES.md), each step at its moment (core.clock.told_at)."""

import datetime as dt
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts.models import User
from core.clock import told_at
from core.errors import InvalidTransition, NotAllowed
from notifications.outbox import notice, recipients
from obligations import services
from obligations.audit import AuditAction, verify_chain
from obligations.figures import Timeliness
from obligations.models import AuditEntry, Carryover, Obligation, OutboxMessage
from obligations.seeding import import_regulation
from regulations.models import Amendment, Clause, RegulationVersion
from reports import asof
from reports import services as report_services
from tests.conftest import make_user
from tests.test_amendments import TEXT_2016, TEXT_2024, TEXT_CONSTRUCTED, at, cited, read
from tests.test_celery_worker import redis_url, worker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

EFFECTIVE = dt.date(2026, 6, 1)
HEADLINE = "本条将于2026年6月1日起按修订后文本执行"


@pytest.fixture
def people(departments):
    return {
        "lena": make_user("lena", User.Role.LEAD, departments["JN-GXJ"]),
        "gina": make_user("gina", User.Role.STAFF, departments["JN-GOV"]),
        "dave": make_user("dave", User.Role.STAFF, departments["JN-LIXIA"]),
        "audrey": make_user("audrey", User.Role.AUDITOR, departments["JN-SJJ"]),
    }


def _state() -> tuple:
    """Everything an amendment would change, to compare before and after."""
    return (
        Obligation.objects.count(),
        Carryover.objects.count(),
        RegulationVersion.objects.count(),
        Clause.objects.filter(superseded_at__isnull=False).count(),
        sorted(Obligation.objects.values_list("id", "clause_id", "status", "department_id", "superseded_at")),
    )


def _confirm(lena, regulation, text=TEXT_CONSTRUCTED, moment="2026-05-20"):
    with told_at(at(moment)):
        return services.regulation_amend(
            regulation=regulation,
            text=read(text),
            effective=EFFECTIVE,
            actor=lena,
            kind=RegulationVersion.Kind.REVISED,
        )


def _apply(moment: str) -> str:
    out = StringIO()
    with told_at(at(moment, 0)):
        call_command("apply_amendments", stdout=out)
    return out.getvalue()


@pytest.fixture
def story(people, departments):
    """The 2024 text in force since January 2026; work on it until May."""
    lena, gina = people["lena"], people["gina"]
    with told_at(at("2026-01-10")):
        regulation = import_regulation(read(TEXT_2024), code="sh-jcjc").regulation
    gov5, scj26 = cited(5, 1, "JN-GOV", 1), cited(26, 1, "JN-SCJGJ", 1)
    with told_at(at("2026-02-01")):
        services.obligation_transition(obligation=gov5, actor=gina, action="start", expected_version=gov5.version)
        services.progress_add(obligation=gov5, actor=gina, text="已纳入十四五规划中期调整")
        services.obligation_set_due_date(
            obligation=scj26, actor=lena, due_date=dt.date(2026, 3, 31), reason="首次设定", expected_version=1
        )
    return regulation


def test_a_confirmation_before_the_effective_date_changes_nothing_until_that_day(people, story, client):
    lena, gina, dave = people["lena"], people["gina"], people["dave"]
    regulation = story
    before = _state()
    result = _confirm(lena, regulation)

    # Pending: nothing of the obligations changed, the lead's decision is on record.
    assert result.pending and result.version is None and result.amendment.state == Amendment.State.PENDING
    assert result.outcomes["repealed"] >= 1 and result.outcomes["review"] >= 1
    assert _state() == before
    gov5, scj26 = cited(5, 1, "JN-GOV", 1), cited(26, 1, "JN-SCJGJ", 1)
    assert gov5.citation == "第五条第一款" and gov5.status == Obligation.Status.IN_PROGRESS and not gov5.awaits_review
    assert scj26.status == Obligation.Status.NOT_STARTED and scj26.is_overdue(dt.date(2026, 5, 20))
    entry = AuditEntry.objects.get(action=AuditAction.AMENDMENT_SCHEDULED)
    assert entry.actor == lena and entry.after["effective"] == "2026-06-01"
    assert entry.after["amendment"] == result.amendment.pk

    # The bodies concerned get a heads-up now, in words.
    heads_up = OutboxMessage.objects.filter(event=OutboxMessage.Event.AMENDED, payload__stage="pending")
    review = heads_up.get(obligation=gov5)
    assert review.payload["outcome"] == "review" and gina.pk in recipients(review)
    assert "将于2026年6月1日起按修订后文本执行" in notice(review)["title"]
    assert "在此之前本项义务仍按现行条文办理" in notice(review)["summary"]
    assert "废止" in notice(heads_up.get(obligation=scj26))["title"]
    released = heads_up.filter(obligation__department__code="JN-LIXIA", payload__outcome="released").get()
    assert dave.pk in recipients(released)

    # The pages say what will happen and from when.
    with told_at(at("2026-05-25")):
        client.force_login(gina)
        page = client.get(gov5.get_absolute_url()).content.decode()
        assert HEADLINE in page and "改为第四条第一款，条文有修改" in page and 'id="pending-amendment"' in page
        page = client.get(reverse("regulation-detail", args=[regulation.pk])).content.decode()
        assert (
            "本法规将于2026年6月1日起按修订后文本执行（待生效）" in page
            and "已废止 1 项" in page
            and "待复核 15 项" in page
        )
        assert "撤回该修订" not in page  # staff may not withdraw
        client.force_login(lena)
        page = client.get(scj26.get_absolute_url()).content.decode()
        assert HEADLINE in page and "本项义务届时以“已废止”结束" in page
        assert "撤回该修订" in client.get(reverse("regulation-detail", args=[regulation.pk])).content.decode()

    # A second amendment while one waits is refused in words, and writes nothing.
    with pytest.raises(InvalidTransition, match="已有一项待生效的修订") as refused:
        _confirm(lena, regulation, text=TEXT_2016)
    assert refused.value.code == "amendment_pending"
    assert Amendment.objects.count() == 1

    # The day before: the command finds nothing due.
    assert "applied 0, pending 1" in _apply("2026-05-31")
    assert _state() == before

    # The effective date (Asia/Shanghai): carried over once, attributed to the lead's decision.
    out = _apply("2026-06-01")
    assert "applied 1, pending 0" in out and "已结转《上海市检验检测条例》第2版（2024年修订）" in out
    amendment = Amendment.objects.get()
    assert amendment.state == Amendment.State.APPLIED and amendment.version.number == 2
    gov5.refresh_from_db()
    assert gov5.citation == "第四条第一款" and gov5.former_citation == "原第五条第一款" and gov5.awaits_review
    assert gov5.status == Obligation.Status.IN_PROGRESS and gov5.progress_entries.count() == 1
    scj26.refresh_from_db()
    assert scj26.status == Obligation.Status.REPEALED and not scj26.is_overdue(dt.date(2026, 12, 1))
    assert scj26.missed_due_date == dt.date(2026, 3, 31)
    assert not Obligation.objects.overdue(dt.date(2026, 12, 1)).filter(pk=scj26.pk).exists()
    carried = Carryover.objects.filter(version=amendment.version)
    assert set(carried.values_list("effective_on", flat=True)) == {EFFECTIVE}
    assert "删除了该条款" in carried.get(obligation=scj26).reason
    amended = AuditEntry.objects.get(action=AuditAction.REGULATION_AMENDED)
    assert amended.actor == lena and amended.after["amendment"] == amendment.pk
    assert amended.after["outcomes"] == amendment.plan["counts"]  # what the pages announced is what happened
    assert set(AuditEntry.objects.filter(action=AuditAction.OBLIGATION_CARRIED).values_list("actor", flat=True)) == {
        lena.pk
    }
    # 待复核 notices at the carry-over, as for any amendment.
    told = OutboxMessage.objects.filter(event=OutboxMessage.Event.AMENDED).exclude(payload__has_key="stage")
    assert "请复核" in notice(told.get(obligation=gov5, payload__outcome="review"))["title"]
    assert Obligation.objects.filter(clause__article__number=36, clause__article__version__number=2).count() == 12

    # Once only: again, nothing more.
    counts = (Carryover.objects.count(), AuditEntry.objects.count(), OutboxMessage.objects.count())
    assert "applied 0, pending 0" in _apply("2026-06-01")
    assert (Carryover.objects.count(), AuditEntry.objects.count(), OutboxMessage.objects.count()) == counts

    # The pages no longer announce it.
    with told_at(at("2026-06-02")):
        client.force_login(gina)
        assert HEADLINE not in client.get(gov5.get_absolute_url()).content.decode()

    # As of a day before the effective date: the old text, citations and states; after: the new.
    def rows(day):
        ctx = report_services.report_context(
            user=people["audrey"], filters=asof.ReportFilters(as_of=day), regulation=regulation
        )
        return ctx, {row.obligation_id: row for row in asof.iter_obligation_rows(ctx)}

    ctx, before_rows = rows(dt.date(2026, 5, 31))
    assert ctx.version.number == 1 and before_rows[gov5.pk].citation == "第五条第一款"
    assert before_rows[scj26.pk].timeliness_kind == Timeliness.OVERDUE
    ctx, after_rows = rows(dt.date(2026, 6, 2))
    assert ctx.version.number == 2 and after_rows[gov5.pk].citation == "第四条第一款"
    assert after_rows[scj26.pk].status == Obligation.Status.REPEALED
    assert after_rows[scj26.pk].timeliness_kind == Timeliness.ENDED

    assert verify_chain().ok
    call_command("verify_audit_trail", stdout=StringIO())


def test_a_confirmation_on_the_effective_date_applies_at_once(people, story):
    result = _confirm(people["lena"], story, moment="2026-06-01")
    assert not result.pending and result.version.number == 2
    assert Amendment.objects.get().state == Amendment.State.APPLIED
    assert cited(26, 1, "JN-SCJGJ", 1).status == Obligation.Status.REPEALED
    assert "applied 0, pending 0" in _apply("2026-06-02")


def test_the_lead_withdraws_a_pending_amendment_and_the_bodies_are_told(people, story, client):
    lena, gina = people["lena"], people["gina"]
    regulation = story
    before = _state()
    amendment = _confirm(lena, regulation).amendment
    told = set(
        OutboxMessage.objects.filter(payload__stage="pending", payload__amendment=amendment.pk).values_list(
            "obligation_id", flat=True
        )
    )
    url = reverse("regulation-amendment-withdraw", args=[regulation.pk])
    with told_at(at("2026-05-22")):
        # Staff may not; the service says so too.
        client.force_login(gina)
        assert client.post(url, {"reason": "不撤回"}).status_code == 403
        with pytest.raises(NotAllowed):
            services.amendment_withdraw(amendment=amendment, actor=gina, reason="不撤回")
        # A reason is required.
        client.force_login(lena)
        response = client.post(url, {"reason": ""}, follow=True)
        assert "撤回原因" in response.content.decode() and Amendment.objects.get().is_pending
        response = client.post(url, {"reason": "上位法调整，待重新审议"}, follow=True)
        assert "已撤回待生效的修订" in response.content.decode()
    amendment.refresh_from_db()
    assert amendment.state == Amendment.State.WITHDRAWN and amendment.withdrawn_by == lena
    entry = AuditEntry.objects.get(action=AuditAction.AMENDMENT_WITHDRAWN)
    assert entry.actor == lena and entry.after["reason"] == "上位法调整，待重新审议"
    withdrawn = OutboxMessage.objects.filter(payload__stage="withdrawn", payload__amendment=amendment.pk)
    assert set(withdrawn.values_list("obligation_id", flat=True)) == told and told
    message = withdrawn.get(obligation=cited(5, 1, "JN-GOV", 1))
    assert "已撤回" in notice(message)["title"] and gina.pk in recipients(message)
    # Withdrawn once: again is refused in words.
    with pytest.raises(InvalidTransition, match="已撤回"):
        services.amendment_withdraw(amendment=amendment, actor=lena, reason="再次撤回")

    # The effective date passes: nothing is applied, the pages say nothing of it.
    assert "applied 0, pending 0" in _apply("2026-06-01")
    assert _state() == before
    with told_at(at("2026-06-02")):
        page = client.get(cited(5, 1, "JN-GOV", 1).get_absolute_url()).content.decode()
        assert HEADLINE not in page
    # Another amendment may now be confirmed.
    assert _confirm(lena, regulation, moment="2026-06-01").version.number == 2
    assert verify_chain().ok


def test_an_amendment_that_has_come_due_cannot_be_withdrawn(people, story):
    amendment = _confirm(people["lena"], story).amendment
    with told_at(at("2026-06-01", 0)), pytest.raises(InvalidTransition, match="已到施行日期"):
        services.amendment_withdraw(amendment=amendment, actor=people["lena"], reason="太迟")


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_carry_over_once(people, story):
    """Two runs at the same moment (two beat deliveries, or the beat and the operator's command):
    the second waits on the row lock, then finds the amendment applied."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    _confirm(people["lena"], story)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.extend(services.amendments_apply_due()[0])  # the real clock is past 2026-06-01
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == [] and len(results) == 1
    assert RegulationVersion.objects.filter(regulation=story).count() == 2
    assert AuditEntry.objects.filter(action=AuditAction.REGULATION_AMENDED).count() == 1
    assert Carryover.objects.values("obligation_id", "version_id").distinct().count() == Carryover.objects.count()
    assert verify_chain().ok


def test_an_amendment_that_cannot_be_carried_over_stays_pending_and_is_reported(people, story):
    amendment = _confirm(people["lena"], story).amendment
    before = _state()
    # As if the text had changed under it: a correction naming a position the text lacks.
    Amendment.objects.filter(pk=amendment.pk).update(corrections=[["new", None, "99.1.1"]])
    with pytest.raises(CommandError, match="applied 0, pending 1, failed 1"):
        _apply("2026-06-01")
    amendment.refresh_from_db()
    assert amendment.is_pending and _state() == before


@pytest.fixture
def amendment_worker(request):
    """A real worker process (tests.test_celery_worker) on the test database and Redis."""
    return request.getfixturevalue("worker")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_on_a_real_worker_races_the_command_and_applies_once(people, story, amendment_worker, settings):
    from obligations.tasks import AMENDMENTS_TASK
    from tracker.celery import app

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == AMENDMENTS_TASK)
    assert entry["schedule"] == 3600
    amendment = _confirm(people["lena"], story).amendment
    # Two deliveries of the beat task and the operator's command at the same moment (the real
    # clock is past the effective date).
    pending = [app.send_task(AMENDMENTS_TASK) for _ in range(2)]
    out = StringIO()
    call_command("apply_amendments", stdout=out)
    try:
        outcomes = [result.get(timeout=180) for result in pending]
    except Exception as exc:
        raise AssertionError(amendment_worker.log_path.read_text(errors="replace")[-4000:]) from exc
    applied = [pk for outcome in outcomes for pk in outcome["applied"]]
    applied += [amendment.pk] if "applied 1" in out.getvalue() else []
    assert applied == [amendment.pk]
    amendment.refresh_from_db()
    assert amendment.state == Amendment.State.APPLIED
    assert AuditEntry.objects.filter(action=AuditAction.REGULATION_AMENDED).count() == 1
    assert Carryover.objects.filter(obligation=cited(26, 1, "JN-SCJGJ", 1), version=amendment.version).count() == 1
    assert verify_chain().ok
