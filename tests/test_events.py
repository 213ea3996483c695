"""Every decision is an event: the service writes it with the change, and it reaches the people of
the bodies concerned exactly once, through their channels, with the reason and a link; nobody of
another body hears of it.

The cast: alice and bob are staff of 大数据局 (the responsible body), carol of 发改委, dave of
历下区, lena leads, audrey audits, adam administers (at 大数据局)."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from core import errors
from notifications import outbox
from notifications.models import Delivery, Notification, NotificationPreference, WebhookEndpoint
from notifications.reminders import sweep
from obligations import services
from obligations.models import ExtensionRequest, Milestone, Objection, OutboxMessage
from tests.factories import add_link_evidence, make_obligation

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
DUE = dt.date(2026, 12, 31)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://tracker.example.gov.cn"


def deliver() -> dict[str, list[Notification]]:
    """Deliver everything in the outbox; each person's notifications."""
    outbox.deliver_pending()
    heard: dict[str, list[Notification]] = {}
    for note in Notification.objects.select_related("recipient").order_by("id"):
        heard.setdefault(note.recipient.username, []).append(note)
    return heard


def mailed_to() -> list[str]:
    return sorted(message.to[0].split("@")[0] for message in mail.outbox)


def fresh(obligation):
    obligation.refresh_from_db()
    return obligation


# --------------------------------------------------------------------------- the two the issue names


def test_a_returned_submission_reaches_the_bodys_staff_with_the_reason_and_the_link(cast, client):
    NotificationPreference.objects.create(user=cast["bob"], email=False, in_app=False)  # bob: no email
    obligation = make_obligation("JN-DSJ", status="submitted", due_date=DUE)
    services.obligation_transition(
        obligation=obligation,
        actor=cast["lena"],
        action="return",
        expected_version=obligation.version,
        reason="佐证材料缺少盖章文件，请补充。",
    )

    heard = deliver()
    assert sorted(heard) == ["alice", "bob"]
    link = f"https://tracker.example.gov.cn/obligations/{obligation.id}/"
    for note in (heard["alice"][0], heard["bob"][0]):
        assert note.kind == Notification.Kind.RETURNED and note.get_kind_display() == "退回修改"
        assert "【退回】" in note.subject and obligation.clause.citation in note.subject
        assert "佐证材料缺少盖章文件" in note.body and link in note.body and note.url == link
        # bob turned the app off too: a decision is shown in the app all the same.
        assert note.in_app
    # Email as each chose: alice's, rendered from the event template trio (text and HTML).
    assert mailed_to() == ["alice"]
    message = mail.outbox[0]
    assert "佐证材料缺少盖章文件" in message.body and link in message.body
    html = message.alternatives[0]
    assert "佐证材料缺少盖章文件" in html[0] and f'href="{link}"' in html[0] and html[1] == "text/html"
    assert not Delivery.objects.filter(notification__recipient=cast["bob"]).exists()

    # Under its own kind in /notifications/ and /api/notifications/.
    client.force_login(cast["bob"])
    page = client.get("/notifications/")
    assert "退回修改" in page.content.decode() and "佐证材料缺少盖章文件" in page.content.decode()
    api = client.get("/api/notifications/").json()
    rows = api["results"] if isinstance(api, dict) else api
    assert [(r["kind"], r["kind_display"], r["url"]) for r in rows] == [("returned", "退回修改", link)]

    # Once: a second delivery (the beat, a duplicated task) adds nothing.
    message_id = OutboxMessage.objects.get().id
    assert outbox.deliver(message_id) == 0 and outbox.deliver_pending() == 0
    assert Notification.objects.count() == 2 and len(mail.outbox) == 1


def test_a_moved_due_date_reaches_the_responsible_and_cooperating_staff_with_old_new_and_reason(cast):
    obligation = make_obligation("JN-DSJ", cooperating=["JN-FGW"], status="in_progress", due_date=DUE)
    services.obligation_set_due_date(
        obligation=obligation,
        actor=cast["lena"],
        due_date=dt.date(2027, 3, 31),
        reason="配合国家平台上线时间调整。",
        expected_version=obligation.version,
    )

    heard = deliver()
    assert {name: [n.kind for n in notes] for name, notes in heard.items()} == {
        "alice": ["due_date_changed"],
        "bob": ["due_date_changed"],
        "carol": ["due_date_changed"],
    }
    note = heard["carol"][0]
    assert "2026年12月31日 → 2027年3月31日" in note.body and "配合国家平台上线时间调整" in note.body
    assert f"/obligations/{obligation.id}/" in note.body
    assert mailed_to() == ["alice", "bob", "carol"]


# --------------------------------------------------------------------------- every event


def _submit(cast, o):
    add_link_evidence(o, cast["alice"])
    services.obligation_transition(obligation=o, actor=cast["alice"], action="submit", expected_version=o.version)


def _verify(cast, o):
    services.obligation_transition(obligation=o, actor=cast["lena"], action="verify", expected_version=o.version)


def _reopen(cast, o):
    services.obligation_transition(
        obligation=o, actor=cast["lena"], action="reopen", expected_version=o.version, reason="抽查发现问题"
    )


def _set_first_due_date(cast, o):
    services.obligation_set_due_date(
        obligation=o, actor=cast["lena"], due_date=DUE, reason="按年度计划", expected_version=o.version
    )


def _reassign(cast, o):
    services.obligation_reassign(
        obligation=o, actor=cast["lena"], department="JN-LIXIA", reason="属地管理", expected_version=o.version
    )


def _add_cooperating(cast, o):
    services.obligation_add_cooperating(
        obligation=o, actor=cast["lena"], departments=["JN-FGW"], expected_version=o.version
    )


def _request_extension(cast, o):
    services.extension_request(
        obligation=o, actor=cast["alice"], requested_date=dt.date(2027, 6, 30), reason="经费未到位"
    )


def _approve_extension(cast, o):
    _request_extension(cast, o)
    OutboxMessage.objects.all().delete()  # the request's own event is tested above
    services.extension_decide(
        request=ExtensionRequest.objects.get(),
        actor=cast["lena"],
        approve=True,
        note="同意，请抓紧推进",
        expected_version=fresh(o).version,
    )


def _reject_extension(cast, o):
    _request_extension(cast, o)
    OutboxMessage.objects.all().delete()
    services.extension_decide(
        request=ExtensionRequest.objects.get(), actor=cast["lena"], approve=False, note="理由不充分"
    )


def _raise_objection(cast, o):
    services.objection_raise(
        obligation=o, actor=cast["alice"], reason="不属于本部门职责", suggested_department="JN-FGW"
    )


def _confirm_objection(cast, o):
    _raise_objection(cast, o)
    OutboxMessage.objects.all().delete()
    services.objection_decide(
        objection=Objection.objects.get(), actor=cast["lena"], decision="confirm", note="职责清单已明确"
    )


def _objection_reassigns(cast, o):
    _raise_objection(cast, o)
    OutboxMessage.objects.all().delete()
    services.objection_decide(
        objection=Objection.objects.get(),
        actor=cast["lena"],
        decision="reassign",
        note="改由属地负责",
        new_department="JN-LIXIA",
        expected_version=fresh(o).version,
    )


def _move_milestone(cast, o):
    milestone = Milestone.objects.create(
        obligation=o, title="完成需求调研", due_date=dt.date(2026, 7, 1), created_by=cast["alice"]
    )
    services.milestone_set_due_date(
        milestone=milestone, actor=cast["alice"], due_date=dt.date(2026, 8, 1), reason="调研对象增加"
    )


def _require_reporting(cast, o):
    services.reporting_require(obligation=o, actor=cast["lena"], frequency="quarterly")


def _cooperating_progress(cast, o):
    o.cooperating.add(cast["carol"].department)
    services.progress_add(obligation=o, actor=cast["carol"], text="已完成数据接口联调。", percent=60)


EVENTS = [
    # (what happens, starting state, kind, who hears it, a phrase the notice carries)
    (_submit, "in_progress", "submitted", {"lena"}, "请核验"),
    (_verify, "submitted", "verified", {"alice", "bob"}, "核验通过"),
    (_reopen, "verified", "reopened", {"alice", "bob"}, "抽查发现问题"),
    (_set_first_due_date, "in_progress", "due_date_changed", {"alice", "bob"}, "按年度计划"),
    (_reassign, "in_progress", "reassigned", {"alice", "bob", "dave"}, "属地管理"),
    (_add_cooperating, "in_progress", "cooperating_added", {"alice", "bob", "carol"}, "发展和改革委员会"),
    (_request_extension, "in_progress", "extension_requested", {"lena"}, "经费未到位"),
    (_approve_extension, "in_progress", "extension_decided", {"alice", "bob"}, "同意，请抓紧推进"),
    (_reject_extension, "in_progress", "extension_decided", {"alice", "bob"}, "理由不充分"),
    (_raise_objection, "not_started", "objection_raised", {"lena"}, "不属于本部门职责"),
    (_confirm_objection, "not_started", "objection_decided", {"alice", "bob"}, "职责清单已明确"),
    (_objection_reassigns, "not_started", "objection_decided", {"alice", "bob", "dave"}, "改由属地负责"),
    (_move_milestone, "in_progress", "milestone_moved", {"bob"}, "调研对象增加"),
    (_require_reporting, "in_progress", "reporting_required", {"alice", "bob"}, "每季度"),
    (_cooperating_progress, "in_progress", "progress", {"alice", "bob"}, "已完成数据接口联调"),
]


@pytest.mark.parametrize(
    ("act", "status", "kind", "audience", "phrase"), EVENTS, ids=[e[0].__name__.strip("_") for e in EVENTS]
)
def test_each_event_reaches_the_people_concerned_once_and_nobody_else(cast, act, status, kind, audience, phrase):
    due = None if act is _set_first_due_date else DUE
    obligation = make_obligation("JN-DSJ", status=status, due_date=due)
    act(cast, obligation)
    assert OutboxMessage.objects.count() == 1  # one decision, one event (an approval moving the date too)

    heard = deliver()
    assert {name: [n.kind for n in notes] for name, notes in heard.items()} == {name: [kind] for name in audience}
    for name in audience:
        note = heard[name][0]
        assert phrase in note.subject + note.body
        assert note.url.endswith(f"/obligations/{obligation.id}/") and note.url in note.body
    assert mailed_to() == sorted(audience)
    assert outbox.deliver_pending() == 0 and Notification.objects.count() == len(audience)


def test_a_rolled_back_decision_leaves_no_event(cast):
    obligation = make_obligation("JN-DSJ", status="submitted", due_date=DUE)

    class Boom(Exception):
        pass

    from django.db import transaction

    with pytest.raises(Boom), transaction.atomic():
        services.obligation_transition(
            obligation=obligation, actor=cast["lena"], action="return", expected_version=obligation.version, reason="x"
        )
        raise Boom
    assert not OutboxMessage.objects.exists()


def test_a_refused_decision_writes_no_event(cast):
    obligation = make_obligation("JN-DSJ", status="in_progress", due_date=DUE)
    with pytest.raises(errors.InvalidTransition):
        services.obligation_transition(
            obligation=obligation, actor=cast["lena"], action="return", expected_version=obligation.version, reason="x"
        )
    assert not OutboxMessage.objects.exists()


# --------------------------------------------------------------------------- one sending path


def test_the_sweep_and_the_events_use_the_same_robot_and_channel_choice(cast, settings):
    """Two active robots for one body: reminders and events both go to the same one (the oldest)."""
    first = WebhookEndpoint.objects.create(
        name="大数据局群一", url="http://127.0.0.1:9/a", department=cast["alice"].department
    )
    WebhookEndpoint.objects.create(name="大数据局群二", url="http://127.0.0.1:9/b", department=cast["alice"].department)
    NotificationPreference.objects.create(user=cast["alice"], email=False, in_app=True, webhook=True)
    obligation = make_obligation("JN-DSJ", status="in_progress", due_date=dt.date(2026, 6, 8))

    sweep(now=NOW)
    services.obligation_set_due_date(
        obligation=obligation, actor=cast["lena"], due_date=DUE, reason="调整", expected_version=obligation.version
    )
    deliver()

    alice = Delivery.objects.filter(notification__recipient=cast["alice"])
    kinds = sorted(alice.values_list("notification__kind", "channel", "endpoint_id"))
    assert kinds == [("due_date_changed", "webhook", first.id), ("reminder", "webhook", first.id)]


def test_a_notice_task_for_an_event_already_delivered_takes_the_newest_few_and_leaves_the_rest(cast):
    """A `notices` queue behind the outbox (no-ops: the sweep delivered their events) does not
    hold up a new decision: the first stale task delivers the newest few waiting events. The
    older ones are the default queue's `deliver_outbox`: a notice worker sweeping a backlog
    would hold back the next decision."""
    from notifications.tasks import deliver_outbox, deliver_outbox_message

    obligation = make_obligation("JN-DSJ", status="in_progress", due_date=DUE)
    for month in range(1, 9):
        obligation = services.obligation_set_due_date(
            obligation=obligation,
            actor=cast["lena"],
            due_date=dt.date(2027, month, 1),
            reason="调整。",
            expected_version=obligation.version,
        )
    first, *waiting = OutboxMessage.objects.order_by("id")
    assert outbox.deliver(first.id) == 2  # alice and bob
    assert deliver_outbox_message(first.id) == 0  # its own event was done: it takes the newest few
    undelivered = OutboxMessage.objects.filter(delivered_at=None).order_by("id")
    assert list(undelivered) == waiting[: len(waiting) - outbox.NEWEST_BATCH]
    assert deliver_outbox() == len(waiting) - outbox.NEWEST_BATCH
    assert Notification.objects.filter(kind="due_date_changed").count() == 2 * (1 + len(waiting))


def test_a_bulk_change_queues_one_sweep_instead_of_a_notice_task_per_event(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    """Events written in_bulk (an amendment carried over, a 台账 imported) queue one
    `deliver_outbox` on the default queue after the commit; a decision alone queues its own task,
    which the settings route to `notices`."""
    from django.conf import settings
    from django.db import transaction

    from obligations import outbox as writing
    from tracker.celery import app

    handed = []
    monkeypatch.setattr(writing, "hand_off", lambda task, *, args, waiting: handed.append((task, args)) or True)
    obligations = [make_obligation("JN-DSJ", status="in_progress", due_date=DUE) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True), writing.in_bulk(), transaction.atomic():
        for o in obligations:
            writing.outbox_write(event=outbox.Event.VERIFIED, obligation=o, actor=cast["lena"])
    assert handed == [(writing.OUTBOX_SWEEP_TASK, [])]

    handed.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = writing.outbox_write(event=outbox.Event.VERIFIED, obligation=obligations[0], actor=cast["lena"])
    assert handed == [(writing.DELIVER_TASK, [message.id])]
    route = app.amqp.router.route({}, writing.DELIVER_TASK)
    assert route["queue"].name == settings.NOTICE_QUEUE
    assert app.amqp.router.route({}, writing.OUTBOX_SWEEP_TASK)["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE
