"""The notification outbox without real services: what is written, when, and delivered once."""

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction

from notifications import outbox
from notifications.models import Delivery, Notification
from obligations import services
from obligations.models import OutboxMessage
from tests.factories import make_obligation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def shared_obligation(cast, departments):
    """大数据局 is responsible, 发改委 (carol) cooperates."""
    obligation = make_obligation(cast["alice"].department, dt.date(2026, 12, 31))
    obligation.cooperating.add(departments["JN-FGW"])
    return obligation


def add_progress(obligation, actor, text="已完成平台需求调研。"):
    return services.progress_add(obligation=obligation, actor=actor, text=text, percent=30)


def test_cooperating_progress_writes_one_outbox_row_with_the_entry(cast, departments, shared_obligation):
    entry = add_progress(shared_obligation, cast["carol"])

    message = OutboxMessage.objects.get()
    assert message.event == OutboxMessage.Event.PROGRESS
    assert message.obligation_id == shared_obligation.id and message.actor == cast["carol"]
    assert message.payload["progress_id"] == entry.id
    assert message.payload["cooperating_department_id"] == departments["JN-FGW"].id
    assert message.delivered_at is None


def test_progress_rolled_back_leaves_no_outbox_row(cast, shared_obligation):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        add_progress(shared_obligation, cast["carol"])
        raise Boom

    assert not OutboxMessage.objects.exists()


def test_progress_by_the_responsible_body_notifies_nobody(cast, shared_obligation):
    add_progress(shared_obligation, cast["alice"])
    assert not OutboxMessage.objects.exists()


def test_progress_by_an_admin_of_another_body_is_not_cooperation(cast, departments):
    obligation = make_obligation(cast["dave"].department, dt.date(2026, 12, 31))
    obligation.cooperating.add(departments["JN-FGW"])
    add_progress(obligation, cast["adam"])  # adam: admin, of 大数据局, which does not cooperate here
    assert not OutboxMessage.objects.exists()


def test_delivery_notifies_the_responsible_staff_once_in_app_and_by_email(cast, shared_obligation):
    add_progress(shared_obligation, cast["carol"])
    message = OutboxMessage.objects.get()

    assert outbox.deliver(message.id) == 2
    assert outbox.deliver(message.id) == 0  # a second worker, or the beat catching up: nothing
    assert outbox.deliver_pending() == 0

    notes = Notification.objects.order_by("recipient__username")
    assert [n.recipient.username for n in notes] == ["alice", "bob"]
    assert all(n.kind == Notification.Kind.PROGRESS and n.obligation_id == shared_obligation.id for n in notes)
    assert "协办进展" in notes[0].subject and "已完成平台需求调研" in notes[0].body
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.gov.cn", "bob@example.gov.cn"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    message.refresh_from_db()
    assert message.delivered_at is not None


def test_submission_notifies_the_lead(cast, departments):
    from obligations.models import Evidence

    obligation = make_obligation(cast["alice"].department, dt.date(2026, 12, 31), status="in_progress")
    Evidence.objects.create(
        obligation=obligation,
        department=obligation.department,
        kind=Evidence.Kind.LINK,
        url="https://example.gov.cn/a",
        description="通知",
        uploaded_by=cast["alice"],
    )
    obligation.refresh_from_db()
    services.obligation_transition(
        obligation=obligation, actor=cast["alice"], action="submit", expected_version=obligation.version
    )

    message = OutboxMessage.objects.get()
    assert message.event == OutboxMessage.Event.SUBMITTED
    outbox.deliver(message.id)
    note = Notification.objects.get()
    assert note.recipient == cast["lena"] and note.kind == Notification.Kind.SUBMITTED
    assert "待核验" in note.subject


def test_a_broker_error_after_commit_is_swallowed_and_the_beat_delivers_later(
    cast, shared_obligation, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from notifications import tasks
    from tracker.celery import app

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(app, "send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        entry = add_progress(shared_obligation, cast["carol"])

    assert len(callbacks) == 1
    assert entry.pk and not Notification.objects.exists()
    assert "waits for deliver_outbox" in caplog.text

    assert tasks.deliver_outbox() == 1
    assert Notification.objects.count() == 2


def test_a_failing_message_is_counted_and_retried(cast, shared_obligation, monkeypatch):
    add_progress(shared_obligation, cast["carol"])
    message = OutboxMessage.objects.get()

    def broken(message):
        raise RuntimeError("template missing")

    monkeypatch.setattr(outbox, "compose", broken)
    assert outbox.deliver(message.id) == 0
    message.refresh_from_db()
    assert message.delivered_at is None and message.attempts == 1 and "template missing" in message.last_error
    assert not Notification.objects.exists()

    monkeypatch.undo()
    assert outbox.deliver_pending() == 1
    assert Notification.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_deliverers_at_once_write_the_notifications_once(cast, shared_obligation, monkeypatch):
    """A holds the claim (inside compose); B's claim UPDATE waits on A's row lock (seen in
    pg_stat_activity), then finds the row delivered and writes nothing."""
    import threading

    from django.db import connection, connections

    add_progress(shared_obligation, cast["carol"])
    message = OutboxMessage.objects.get()
    in_compose, release = threading.Event(), threading.Event()
    real_compose = outbox.compose
    results: dict[str, int] = {}

    def slow_compose(msg):
        if threading.current_thread().name == "A":
            in_compose.set()
            release.wait(60)
        return real_compose(msg)

    monkeypatch.setattr(outbox, "compose", slow_compose)

    def run(name):
        try:
            results[name] = outbox.deliver(message.id)
        finally:
            connections.close_all()

    a = threading.Thread(target=run, args=("A",), name="A")
    a.start()
    assert in_compose.wait(60)
    b = threading.Thread(target=run, args=("B",), name="B")
    b.start()

    def b_waits_on_the_lock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE %s",
                ['UPDATE "notifications_outboxmessage"%'],
            )
            return cursor.fetchone()[0] == 1

    from .support import wait_for

    wait_for(b_waits_on_the_lock, 60, "the second deliverer to wait on the row lock")
    release.set()
    a.join(60)
    b.join(60)

    assert results == {"A": 2, "B": 0}
    assert Notification.objects.count() == 2
    assert len(mail.outbox) == 2
