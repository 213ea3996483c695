"""The reminder sweep: stages, recipients, escalation, catch-up, holidays, exactly-once."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command

from notifications.models import Delivery, Notification, Reminder, ReminderSettings
from tests.factories import make_obligation, make_obligations
from tests.test_reminders_support import at, ledger, sweep_on

D = dt.date.fromisoformat
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The cast fixture creates seven users; the default hasher makes that take seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_daily_digest(db):
    """The lead's daily digest has its own test; elsewhere it would only add a message per sweep."""
    cfg = ReminderSettings.load()
    cfg.daily_digest_to_leads = False
    cfg.save()
    return cfg


def with_daily_digest():
    cfg = ReminderSettings.load()
    cfg.daily_digest_to_leads = True
    cfg.save()


def reminder_mail():
    """What went out apart from the lead's daily digest."""
    return [m for m in mail.outbox if "每日督办汇总" not in m.subject]


def stages_sent(target_type="obligation"):
    return sorted({stage for t, stage, _ in ledger(target_type=target_type)})


def test_staff_of_the_body_are_reminded_seven_days_one_day_before_and_on_the_day(cast):
    # 2025-06-20 is a Friday; 06-13, 06-19 and 06-20 are ordinary working days.
    obligation = make_obligation(cast["alice"].department, D("2025-06-20"))
    sent_on = {}
    for day in range(12, 22):
        mail.outbox.clear()
        result = sweep_on(dt.date(2025, 6, day))
        sent_on[day] = sorted(m.to[0] for m in reminder_mail())
        assert result.failed == 0
    assert sent_on[13] == ["alice@example.gov.cn", "bob@example.gov.cn"]
    assert sent_on[19] == ["alice@example.gov.cn", "bob@example.gov.cn"]
    assert sent_on[20] == ["alice@example.gov.cn", "bob@example.gov.cn"]
    for quiet in (12, 14, 15, 16, 17, 18):
        assert sent_on[quiet] == [], quiet
    assert stages_sent() == ["before:1", "before:7", "due"]
    # carol (another body), lena, audrey and adam are not staff of 大数据局.
    recipients = {r for _, _, r in ledger(target_type="obligation")}
    assert recipients == {"alice", "bob"}
    assert Notification.objects.filter(obligation=obligation, recipient=cast["alice"]).count() == 3


def test_reminder_email_names_article_clause_due_date_days_left_and_link(cast, settings):
    settings.SITE_URL = "https://duban.example.gov.cn"
    obligation = make_obligation(cast["alice"].department, D("2025-06-20"))
    sweep_on("2025-06-13")
    message = next(m for m in mail.outbox if m.to == ["alice@example.gov.cn"])
    citation = obligation.clause.citation
    assert citation.startswith("第") and citation.endswith("第一款")
    assert citation in message.subject and "距期限还有 7 天" in message.subject
    assert citation in message.body
    assert obligation.clause.text in message.body
    assert "2025年6月20日" in message.body
    assert "距期限还有 7 天" in message.body
    assert f"https://duban.example.gov.cn/obligations/{obligation.id}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and citation in html and f"/obligations/{obligation.id}/" in html


def test_overdue_is_reminded_on_the_first_day_then_every_seven_days(cast):
    make_obligation(cast["alice"].department, D("2025-06-16"))  # a Monday
    sent = []
    for offset in range(1, 16):
        day = D("2025-06-16") + dt.timedelta(days=offset)
        before = set(Reminder.objects.filter(target_type="obligation").values_list("id", flat=True))
        sweep_on(day)
        new = Reminder.objects.filter(target_type="obligation").exclude(id__in=before)
        sent += [(day.isoformat(), stage) for stage in sorted(set(new.values_list("stage", flat=True)))]
    assert sent == [("2025-06-17", "overdue:1"), ("2025-06-24", "overdue:8"), ("2025-07-01", "overdue:15")]
    message = next(m for m in mail.outbox if "逾期提醒" in m.subject)
    assert "已逾期 1 天" in message.subject


def test_running_the_sweep_twice_sends_nothing_the_second_time(cast):
    make_obligation(cast["alice"].department, D("2025-06-20"))
    first = sweep_on("2025-06-13")
    second = sweep_on("2025-06-13", hour=15)
    assert (first.sent, first.skipped) == (2, 0)
    assert (second.sent, second.skipped) == (0, 2)
    assert len(reminder_mail()) == 2
    assert Notification.objects.exclude(kind="digest").count() == 2


def test_catch_up_after_three_days_of_downtime_sends_only_what_is_due_now(cast):
    make_obligation(cast["alice"].department, D("2025-06-18"))  # a Wednesday
    sweep_on("2025-06-11")  # 7 days before
    sweep_on("2025-06-16")
    mail.outbox.clear()
    # Down on 06-17 (1 day before), 06-18 (the day) and back on 06-19, the first day overdue.
    result = sweep_on("2025-06-19")
    assert result.sent == 2
    assert sorted(m.to[0] for m in reminder_mail()) == ["alice@example.gov.cn", "bob@example.gov.cn"]
    assert all("已逾期 1 天" in m.subject for m in reminder_mail())
    assert stages_sent() == ["before:7", "overdue:1"]


def test_moving_the_due_date_resets_what_is_due_and_keeps_what_was_sent(cast):
    obligation = make_obligation(cast["alice"].department, D("2025-06-20"))
    sweep_on("2025-06-13")
    obligation.due_date = D("2025-06-27")
    obligation.save()
    assert sweep_on("2025-06-13", hour=16).sent == 0  # the new 7-day reminder is 06-20
    assert sweep_on("2025-06-20").sent == 2
    keys = sorted(Reminder.objects.filter(recipient=cast["alice"]).values_list("stage", "due_date"))
    assert keys == [("before:7", D("2025-06-20")), ("before:7", D("2025-06-27"))]


def test_reminder_falling_on_national_day_goes_out_on_the_last_working_day_before(cast):
    # Due 2025-10-08: the 7-day reminder (10-01), the 1-day one (10-07) and the day itself (10-08)
    # all fall in the National Day holiday (10-01 to 10-08); the last working day before is 09-30.
    make_obligation(cast["alice"].department, D("2025-10-08"))
    sent_on = {}
    for offset in range(0, 16):
        day = D("2025-09-24") + dt.timedelta(days=offset)
        mail.outbox.clear()
        sweep_on(day)
        if reminder_mail():
            sent_on[day.isoformat()] = sorted(m.subject for m in mail.outbox if m.to == ["alice@example.gov.cn"])
    assert list(sent_on) == ["2025-09-30", "2025-10-09"]
    assert "距期限还有 8 天" in sent_on["2025-09-30"][0]
    assert "已逾期 1 天" in sent_on["2025-10-09"][0]
    assert stages_sent() == ["before:7", "overdue:1"]


def test_holiday_shift_can_be_switched_off_by_the_admin(cast):
    cfg = ReminderSettings.load()
    cfg.shift_to_working_day = False
    cfg.save()
    make_obligation(cast["alice"].department, D("2025-10-08"))
    assert sweep_on("2025-09-30").sent == 0
    assert sweep_on("2025-10-01").sent == 2


def test_settings_change_intervals_without_a_deploy(cast):
    cfg = ReminderSettings.load()
    cfg.before_days = [3]
    cfg.remind_on_due_day = False
    cfg.save()
    make_obligation(cast["alice"].department, D("2025-06-20"))
    for day in range(12, 21):
        sweep_on(dt.date(2025, 6, day))
    assert stages_sent() == ["before:3"]


def test_escalation_tells_the_lead_once_with_one_digest_per_body(cast, client):
    dsj, fgw = cast["alice"].department, cast["carol"].department
    # Overdue by 9, 8 and 3 days at 大数据局 (two escalate, all three listed), 10 days at 发改委.
    make_obligations(dsj, [D("2025-06-10"), D("2025-06-11"), D("2025-06-16")])
    make_obligation(fgw, D("2025-06-09"))
    sweep_on("2025-06-19")
    lead_mail = [m for m in mail.outbox if m.to == ["lena@example.gov.cn"]]
    assert len(lead_mail) == 2
    by_body = {("大数据" in m.subject): m for m in lead_mail}
    dsj_mail = by_body[True]
    assert "3 项义务逾期" in dsj_mail.subject and "新增升级 2 项" in dsj_mail.subject
    assert dsj_mail.body.count("[新]") == 2 and "已逾期 3 天" in dsj_mail.body
    assert "已知悉" in dsj_mail.body
    escalations = Notification.objects.filter(kind="escalation", recipient=cast["lena"])
    assert escalations.count() == 2 and all(n.requires_ack for n in escalations)
    # The body's staff get the same digest and are asked to acknowledge it.
    alice_notice = Notification.objects.get(kind="escalation", recipient=cast["alice"])
    assert not Notification.objects.filter(kind="escalation", recipient=cast["dave"]).exists()

    # Next day: nothing new escalates, no second digest.
    mail.outbox.clear()
    sweep_on("2025-06-20")
    assert not [m for m in mail.outbox if "逾期升级" in m.subject]

    # alice acknowledges; the lead sees who acknowledged what and when.
    client.force_login(cast["alice"])
    response = client.post(f"/api/notifications/{alice_notice.id}/acknowledge/")
    assert response.status_code == 200 and response.json()["acknowledged_at"]
    assert client.get("/api/notifications/acknowledgements/").status_code == 403
    client.force_login(cast["lena"])
    rows = client.get("/api/notifications/acknowledgements/").json()["results"]
    acked = [r for r in rows if r["acknowledged_at"]]
    assert [(r["recipient_username"], r["id"]) for r in acked] == [("alice", alice_notice.id)]
    page = client.get("/notifications/acknowledgements/")
    assert page.status_code == 200 and "未确认" in page.content.decode()


def test_a_plain_reminder_cannot_be_acknowledged(cast, client):
    make_obligation(cast["alice"].department, D("2025-06-20"))
    sweep_on("2025-06-13")
    notification = Notification.objects.get(recipient=cast["alice"])
    client.force_login(cast["alice"])
    response = client.post(f"/api/notifications/{notification.id}/acknowledge/")
    assert response.status_code == 400
    assert response.json()["code"] == "not_acknowledgeable" and response.json()["message"]


def test_milestones_remind_the_body_the_same_way(cast):
    from obligations.models import Milestone

    obligation = make_obligation(cast["alice"].department, D("2025-12-31"))
    Milestone.objects.create(
        obligation=obligation, title="完成平台招标", due_date=D("2025-06-20"), created_by=cast["lena"]
    )
    sweep_on("2025-06-13")
    assert ledger(target_type="milestone") == [("milestone", "before:7", "alice"), ("milestone", "before:7", "bob")]
    message = next(m for m in mail.outbox if m.to == ["alice@example.gov.cn"])
    assert "完成平台招标" in message.subject and "距期限还有 7 天" in message.subject


def test_pending_extension_request_reminds_the_lead_until_decided(cast):
    from obligations.models import ExtensionRequest

    obligation = make_obligation(cast["alice"].department, D("2025-06-20"))
    extension = ExtensionRequest.objects.create(
        obligation=obligation,
        requested_by=cast["alice"],
        requested_at=at("2025-06-10", 10),
        requested_date=D("2025-07-31"),
        reason="招标流程延长",
    )
    # Filing it is an event the lead hears at once (tests/test_events.py), not a reminder too.
    sweep_on("2025-06-11")
    assert ledger(target_type="extension") == []
    sweep_on("2025-06-13")
    assert ledger(target_type="extension") == [("extension", "before:7", "lena")]
    lead_mail = [m for m in mail.outbox if m.to == ["lena@example.gov.cn"] and "延期申请待审批" in m.subject]
    assert "招标流程延长" in lead_mail[0].body
    extension.status = ExtensionRequest.Status.APPROVED
    extension.save()
    sweep_on("2025-06-19")
    assert len(ledger(target_type="extension")) == 1


def test_daily_digest_tells_the_lead_what_fell_overdue_was_submitted_and_is_due_this_week(cast):
    with_daily_digest()
    dsj = cast["alice"].department
    make_obligation(dsj, D("2025-06-17"))  # falls overdue on 06-18
    make_obligation(dsj, D("2025-06-20"))  # due this week
    submitted = make_obligation(dsj, D("2025-06-30"), status="submitted")
    submitted.submitted_at = at("2025-06-17", 15)
    submitted.save()
    sweep_on("2025-06-18")
    digest = [m for m in mail.outbox if m.to == ["lena@example.gov.cn"] and "每日督办汇总" in m.subject]
    assert len(digest) == 1
    assert "新增逾期 1 项" in digest[0].subject
    assert "提交待核验 1 项" in digest[0].subject
    assert "本周到期 1 项" in digest[0].subject
    sweep_on("2025-06-18", hour=17)
    assert len([m for m in mail.outbox if "每日督办汇总" in m.subject]) == 1
    sweep_on("2025-06-21")  # a Saturday: no digest
    assert len([m for m in mail.outbox if "每日督办汇总" in m.subject]) == 1


def test_closed_and_superseded_obligations_are_not_reminded(cast):
    from django.utils import timezone

    dsj = cast["alice"].department
    make_obligation(dsj, D("2025-06-20"), status="submitted")
    make_obligation(dsj, D("2025-06-20"), status="verified")
    gone = make_obligation(dsj, D("2025-06-20"))
    gone.superseded_at = timezone.now()
    gone.save()
    assert sweep_on("2025-06-13").sent == 0


def test_a_user_who_turned_email_off_gets_the_message_in_the_app_only(cast, client):
    from notifications.services import preference_update

    preference_update(user=cast["alice"], email=False, in_app=True, webhook=False)
    make_obligation(cast["alice"].department, D("2025-06-20"))
    sweep_on("2025-06-13")
    assert [m.to for m in reminder_mail()] == [["bob@example.gov.cn"]]
    client.force_login(cast["alice"])
    listing = client.get("/api/notifications/").json()
    assert listing["count"] == 1 and listing["results"][0]["read_at"] is None
    # The API gives both figures; a lone reminder is unread but needs nothing, as on the badge.
    assert client.get("/api/notifications/unread-count/").json() == {"unread": 1, "attention": 0}
    page = client.get("/notifications/").content.decode()
    # Shown in the app, unread; a reminder alone does not light the badge (it counts decisions
    # and notices awaiting 已知悉: NotificationQuerySet.needing_attention).
    assert 'class="notification notice unread"' in page and 'class="badge"' not in page
    notification_id = listing["results"][0]["id"]
    assert client.post(f"/api/notifications/{notification_id}/read/").json()["read_at"]
    assert client.get("/api/notifications/?unread=true").json()["count"] == 0
    assert 'class="badge"' not in client.get("/notifications/").content.decode()


def test_nobody_sees_another_persons_notifications(cast, client):
    make_obligation(cast["alice"].department, D("2025-06-20"))
    sweep_on("2025-06-13")
    alices = Notification.objects.get(recipient=cast["alice"])
    client.force_login(cast["carol"])
    assert client.get("/api/notifications/").json()["count"] == 0
    assert client.post(f"/api/notifications/{alices.id}/read/").status_code == 404
    assert client.post(f"/notifications/{alices.id}/read/").status_code == 404
    client.force_login(cast["lena"])
    assert client.get(f"/api/notifications/{alices.id}/").status_code == 404


def test_notification_pages_render(cast, client):
    make_obligation(cast["alice"].department, D("2025-06-20"))
    sweep_on("2025-06-13")
    client.force_login(cast["alice"])
    page = client.get("/notifications/")
    assert page.status_code == 200 and "距期限还有 7 天" in page.content.decode()
    assert client.get("/notifications/acknowledgements/").status_code == 403
    response = client.post("/notifications/preferences/", {"in_app": "on"})
    assert response.status_code == 302
    from notifications.models import NotificationPreference

    pref = NotificationPreference.objects.get(user=cast["alice"])
    assert (pref.email, pref.in_app, pref.webhook) == (False, True, False)


def test_a_claim_left_by_a_dead_sender_is_sent_after_the_lease(cast):
    from django.utils import timezone

    obligation = make_obligation(cast["alice"].department, D("2025-06-20"))
    # A sender claimed alice's reminder ten minutes ago and died before sending it.
    Reminder.objects.create(
        target_type="obligation",
        target_id=obligation.id,
        stage="before:7",
        due_date=obligation.due_date,
        recipient=cast["alice"],
        obligation=obligation,
        scheduled_for=D("2025-06-13"),
        claimed_at=timezone.now() - dt.timedelta(seconds=601),
    )
    result = sweep_on("2025-06-13")
    assert (result.sent, result.skipped) == (2, 0)
    assert sorted(m.to[0] for m in reminder_mail()) == ["alice@example.gov.cn", "bob@example.gov.cn"]
    assert set(Reminder.objects.values_list("status", flat=True)) == {"sent"}


def test_a_fresh_claim_of_another_sender_is_left_alone(cast):
    from django.utils import timezone

    obligation = make_obligation(cast["alice"].department, D("2025-06-20"))
    Reminder.objects.create(
        target_type="obligation",
        target_id=obligation.id,
        stage="before:7",
        due_date=obligation.due_date,
        recipient=cast["alice"],
        obligation=obligation,
        scheduled_for=D("2025-06-13"),
        claimed_at=timezone.now() - dt.timedelta(seconds=30),
    )
    result = sweep_on("2025-06-13")
    assert (result.sent, result.skipped, result.in_flight, result.claimed_elsewhere) == (1, 0, 1, 1)
    assert "in flight 1 (claimed by another sender" in result.summary()
    assert 560 <= result.retry_in <= 572
    assert [m.to[0] for m in reminder_mail()] == ["bob@example.gov.cn"]


def test_claims_of_a_sender_that_died_are_taken_over_after_the_lease_without_a_sweep(cast):
    from django.utils import timezone

    from notifications.reminders import take_over

    obligation = make_obligation(cast["alice"].department, D("2025-06-20"))

    def claimed(user, seconds_ago):
        return Reminder.objects.create(
            target_type="obligation",
            target_id=obligation.id,
            stage="before:7",
            due_date=obligation.due_date,
            recipient=user,
            obligation=obligation,
            scheduled_for=D("2025-06-13"),
            claimed_at=timezone.now() - dt.timedelta(seconds=seconds_ago),
        )

    dead, alive = claimed(cast["alice"], 700), claimed(cast["bob"], 30)  # the lease is 600 s
    result = take_over()
    assert (result.sent, result.in_flight) == (1, 1)
    assert [m.to[0] for m in reminder_mail()] == ["alice@example.gov.cn"]
    dead.refresh_from_db(), alive.refresh_from_db()
    assert (dead.status, alive.status) == ("sent", "claimed")
    assert dead.notification.recipient == cast["alice"]
    assert take_over().sent == 0  # the live claim is left to its sender


def test_a_failing_email_server_is_recorded_and_retried_with_backoff(cast, settings, time_machine):
    from notifications.sending import retry_deliveries

    time_machine.move_to(at("2025-06-13"), tick=False)
    settings.EMAIL_BACKEND = "tests.test_reminders_support.BrokenBackend"
    make_obligation(cast["alice"].department, D("2025-06-20"))
    result = sweep_on("2025-06-13")
    assert (result.sent, result.failed) == (2, 2)
    deliveries = Delivery.objects.filter(channel="email")
    assert set(deliveries.values_list("status", "attempts")) == {("retrying", 1)}
    assert "connection refused" in deliveries.first().last_error
    # Still down after the first backoff: the wait doubles.
    time_machine.move_to(at("2025-06-13") + dt.timedelta(seconds=61), tick=False)
    assert retry_deliveries() == (0, 2)
    assert deliveries.first().next_attempt_at == at("2025-06-13") + dt.timedelta(seconds=61 + 120)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    time_machine.move_to(at("2025-06-13") + dt.timedelta(seconds=200), tick=False)
    assert retry_deliveries() == (2, 0)
    assert set(deliveries.values_list("status", "attempts")) == {("sent", 3)}
    assert len(mail.outbox) == 2
    assert retry_deliveries() == (0, 0)


def test_send_reminders_command_prints_one_summary_line(cast, capsys):
    make_obligation(cast["alice"].department, D("2025-06-20"))
    call_command("send_reminders", "--now", "2025-06-13T09:00:00+08:00")
    call_command("send_reminders", "--now", "2025-06-13T10:00:00+08:00")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["sent 2, skipped 0 (already sent), failed 0", "sent 0, skipped 2 (already sent), failed 0"]


@pytest.mark.parametrize("grouped", [True, False], ids=["grouped", "one-message-per-reminder"])
def test_sweep_query_count_does_not_grow_with_the_number_of_due_obligations(cast, grouped, no_daily_digest):
    no_daily_digest.group_reminders = grouped
    no_daily_digest.save()
    with_daily_digest()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Department
    from core.calendar import official_schedule
    from obligations.models import Obligation
    from regulations.models import many_regulations

    def count_for(n: int, department_code: str, day: str) -> tuple[int, int]:
        department = Department.objects.get(code=department_code)
        from tests.conftest import make_user

        make_user(f"staff-{department_code}", "staff", department)
        obligations = make_obligations(department, [D(day) + dt.timedelta(days=7)] * n)
        many_regulations()  # read once a minute per process: whether citations name their regulation
        with CaptureQueriesContext(connection) as queries:
            result = sweep_on(day)
        Obligation.objects.filter(id__in=[o.id for o in obligations]).update(status="verified")
        return len(queries), result.sent

    official_schedule(2025)  # what a process reads once (the holiday schedule) is read
    # Separate days so that each run only has its own batch due.
    small, small_sent = count_for(10, "JN-SJJ", "2025-06-10")
    large, large_sent = count_for(200, "JN-GOV", "2025-07-10")
    # Each run also sends the lead's daily digest.
    assert (small_sent, large_sent) == (10 + 1, 200 + 1)
    assert large == small, (small, large)


def test_the_admin_edits_the_singleton_settings_without_a_deploy(admin_client):
    response = admin_client.get("/admin/notifications/remindersettings/")
    assert response.status_code == 302 and response.url.endswith("/remindersettings/1/change/")
    page = admin_client.get(response.url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name, field.initial) for name, field in form.fields.items()}
    data = {k: v for k, v in data.items() if v is not None and v is not False}
    data["before_days"] = "[10, 3]"
    data["escalate_after_days"] = 14
    response = admin_client.post("/admin/notifications/remindersettings/1/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    cfg = ReminderSettings.load()
    assert (cfg.before_days, cfg.escalate_after_days) == ([10, 3], 14)
    assert ReminderSettings.objects.count() == 1
    bad = admin_client.post("/admin/notifications/remindersettings/1/change/", {**data, "before_days": "[0]"})
    assert bad.status_code == 200 and ReminderSettings.load().before_days == [10, 3]


def test_several_reminders_for_one_person_in_one_sweep_come_as_one_message(cast):
    dsj = cast["alice"].department
    due_soon, overdue = make_obligations(dsj, [D("2025-06-20"), D("2025-06-12")])
    result = sweep_on("2025-06-13")
    assert result.sent == 4  # two reminders each for alice and bob: each recorded on its own
    alice_mail = [m for m in mail.outbox if m.to == ["alice@example.gov.cn"]]
    assert len(alice_mail) == 1
    message = alice_mail[0]
    assert "2 项" in message.subject and "逾期 1 项" in message.subject
    for obligation in (due_soon, overdue):
        assert obligation.clause.citation in message.body
        assert f"/obligations/{obligation.id}/" in message.body
    assert "距期限还有 7 天" in message.body and "已逾期 1 天" in message.body
    assert message.body.index("已逾期 1 天") < message.body.index("距期限还有 7 天")  # overdue first
    rows = Reminder.objects.filter(recipient=cast["alice"])
    assert rows.count() == 2 and len({r.notification_id for r in rows}) == 1
    assert sweep_on("2025-06-13", hour=15).sent == 0


def test_grouping_can_be_switched_off(cast, no_daily_digest):
    no_daily_digest.group_reminders = False
    no_daily_digest.save()
    make_obligations(cast["alice"].department, [D("2025-06-20"), D("2025-06-12")])
    sweep_on("2025-06-13")
    assert len([m for m in mail.outbox if m.to == ["alice@example.gov.cn"]]) == 2


def test_a_user_chooses_channels_through_the_api(cast, client):
    client.force_login(cast["carol"])
    assert client.get("/api/notifications/preferences/").json() == {
        "email": True,
        "in_app": True,
        "webhook": False,
        "webhook_endpoint": None,
    }
    response = client.put(
        "/api/notifications/preferences/",
        {"email": False, "in_app": True, "webhook": False},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["email"] is False
    bad = client.put("/api/notifications/preferences/", {"email": "maybe"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    make_obligation(cast["carol"].department, D("2025-06-20"))
    sweep_on("2025-06-13")
    assert not [m for m in mail.outbox if m.to == ["carol@example.gov.cn"]]
    assert Notification.objects.filter(recipient=cast["carol"], in_app=True).count() == 1
