"""A real Celery worker (subprocess) on the test database and the test Redis DB.

The worker writes email with Django's file-based backend into a temporary directory, so the
test reads exactly what the worker sent. Data must be committed for the worker to see it:
transaction=True."""

import datetime as dt
import email
import email.policy
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from notifications.models import Delivery, Notification, Reminder, ReminderSettings, WebhookEndpoint
from notifications.services import preference_update
from tests.factories import make_obligation
from tests.test_reminders_support import WebhookServer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)
CELERY = Path(sys.executable).parent / "celery"
NOW = "2025-06-13T09:00:00+08:00"


def test_database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def read_mail(directory: Path) -> list[email.message.EmailMessage]:
    messages = []
    for path in sorted(directory.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
    return messages


def plain_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL") or settings.REDIS_URL
    if not url:
        pytest.skip("REDIS_URL is not set")
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()  # the test run's own Redis DB: no stale messages from an earlier run
    yield url
    client.flushdb()


@pytest.fixture
def worker(redis_url, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the worker test needs PostgreSQL")
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tracker.settings",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "WEBHOOK_INTERNAL_HOSTS": "127.0.0.1",  # the test's robot (tests/conftest.py)
    }
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            str(CELERY), "-A", "tracker", "worker", "--pool=prefork", "--concurrency=1", "--loglevel=INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    process.mail_dir = mail_dir
    process.log_path = tmp_path / "worker.log"
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def wait_for(condition, timeout: float, what: str, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    log = worker.log_path.read_text(errors="replace")[-4000:] if worker is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def beat_task_name() -> str:
    """The task of the beat entry the data migration creates (re-created here: a transactional
    test earlier in the run may have flushed the table)."""
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = importlib.import_module("notifications.migrations.0002_beat_schedule")
    migration.create_schedule(apps, None)
    entry = PeriodicTask.objects.get(name=migration.SWEEP_NAME)
    assert (entry.crontab.hour, entry.crontab.minute, str(entry.crontab.timezone)) == ("9", "0", "Asia/Shanghai")
    return entry.task


def test_a_real_worker_runs_the_beat_task_and_sends_the_reminder(cast, worker):
    from tracker.celery import app

    ReminderSettings.objects.update_or_create(pk=1, defaults={"daily_digest_to_leads": False})
    obligation = make_obligation(cast["alice"].department, dt.date(2025, 6, 20))

    result = app.send_task(beat_task_name(), kwargs={"now": NOW})
    try:
        outcome = result.get(timeout=90)
    except Exception as exc:
        raise AssertionError(worker.log_path.read_text(errors="replace")[-4000:]) from exc
    assert outcome == {"sent": 2, "skipped": 0, "failed": 0}

    messages = read_mail(worker.mail_dir)
    assert sorted(m["To"] for m in messages) == ["alice@example.gov.cn", "bob@example.gov.cn"]
    alice = next(m for m in messages if m["To"] == "alice@example.gov.cn")
    assert obligation.clause.citation in alice["Subject"]
    assert f"/obligations/{obligation.id}/" in plain_text(alice)
    notification = Notification.objects.get(recipient=cast["alice"])
    assert notification.obligation_id == obligation.id and notification.read_at is None

    # The same task again (beat firing twice): nothing more is sent.
    assert app.send_task(beat_task_name(), kwargs={"now": NOW}).get(timeout=60) == {
        "sent": 0,
        "skipped": 2,
        "failed": 0,
    }
    assert len(read_mail(worker.mail_dir)) == 2


def test_a_worker_killed_mid_sweep_loses_nothing_and_duplicates_nothing(cast, worker):
    from tracker.celery import app

    ReminderSettings.objects.update_or_create(
        pk=1, defaults={"daily_digest_to_leads": False, "claim_lease_seconds": 3, "webhook_timeout_seconds": 60}
    )
    # alice also wants the webhook; its first POST hangs (the slow channel) until the worker is killed.
    with WebhookServer([(200, None, b'{"errcode": 0}'), (200, 0, b'{"errcode": 0}')]) as robot:
        WebhookEndpoint.objects.create(name="大数据局工作群", url=robot.url, department=cast["alice"].department)
        preference_update(user=cast["alice"], email=True, in_app=True, webhook=True)
        make_obligation(cast["alice"].department, dt.date(2025, 6, 20))

        app.send_task("notifications.tasks.send_reminders", kwargs={"now": NOW})
        assert robot.received.wait(90), worker.log_path.read_text(errors="replace")[-4000:]
        children = pool_children(worker.pid)
        assert len(children) == 1
        os.kill(children[0], signal.SIGKILL)
        robot.release()

        # The task is redelivered (acks_late + reject_on_worker_lost); it finds the dead
        # sender's claims, waits out the lease and finishes them.
        def finished():
            return (
                Reminder.objects.filter(status="sent").count() == 2
                and Delivery.objects.filter(status="sent").count() == 3
            )

        wait_for(finished, 90, "the redelivered sweep to finish", worker)

    messages = read_mail(worker.mail_dir)
    assert sorted(m["To"] for m in messages) == ["alice@example.gov.cn", "bob@example.gov.cn"]
    assert Notification.objects.count() == 2
    assert Reminder.objects.count() == 2
    delivery = Delivery.objects.get(channel="webhook")
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    # The POST in flight when the worker died is repeated with the same idempotency key.
    assert {p["key"] for p in robot.requests} == {str(delivery.key)}
    assert len(robot.requests) == 2
    assert "WorkerLostError" in worker.log_path.read_text(errors="replace")


def test_a_returned_submission_reaches_the_body_through_a_real_worker(cast, worker):
    """The service writes the event with the change; after the commit it is queued by name and
    the worker delivers it: each of the body's staff once, in the app and by email, nobody else."""
    from notifications.services import preference_update
    from obligations.models import Obligation, OutboxMessage
    from obligations.services import obligation_transition

    preference_update(user=cast["bob"], email=False, in_app=True, webhook=False)
    obligation = make_obligation(cast["alice"].department, dt.date(2025, 6, 20), status=Obligation.Status.SUBMITTED)
    obligation_transition(
        obligation=obligation,
        actor=cast["lena"],
        action="return",
        expected_version=obligation.version,
        reason="请补充验收报告。",
    )

    def delivered():
        return OutboxMessage.objects.filter(delivered_at__isnull=False).count() == 1 and read_mail(worker.mail_dir)

    wait_for(delivered, 90, "the worker to deliver the event", worker)
    notes = Notification.objects.order_by("recipient__username")
    assert [(n.recipient.username, n.kind) for n in notes] == [("alice", "returned"), ("bob", "returned")]
    messages = read_mail(worker.mail_dir)
    assert [m["To"] for m in messages] == ["alice@example.gov.cn"]
    assert "请补充验收报告" in plain_text(messages[0])
    assert f"/obligations/{obligation.id}/" in plain_text(messages[0])


@pytest.fixture
def filesystem_worker(tmp_path, settings):
    """A worker as `make run` starts it without REDIS_URL: kombu's filesystem broker, two
    processes. This test process queues into the same folders."""
    from tracker.celery import app
    from tracker.settings import filesystem_broker_options

    if connection.vendor != "postgresql":
        pytest.skip("the worker test needs PostgreSQL")
    var_dir = tmp_path / "var"
    options = filesystem_broker_options(var_dir / "broker")
    # Both spellings: the app reads the settings' CELERY_-prefixed keys first.
    changes = {"broker_url": "filesystem://", "broker_read_url": "filesystem://", "broker_write_url": "filesystem://"}
    changes |= {"broker_transport_options": options, "CELERY_BROKER_URL": "filesystem://"}
    changes |= {"CELERY_BROKER_TRANSPORT_OPTIONS": options}
    # Without REDIS_URL the settings name no transport class (with it: core.broker's Redis one).
    changes |= {"broker_transport": None, "CELERY_BROKER_TRANSPORT": None}
    saved = {name: app.conf.get(name) for name in changes}
    app.conf.update(changes)
    app._pool, app.amqp._producer_pool = None, None  # the next send connects to the folders
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tracker.settings",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": "",
        "TRACKER_VAR_DIR": str(var_dir),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [str(CELERY), "-A", "tracker", "worker", "--loglevel=INFO", "--concurrency=2"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log_path = tmp_path / "worker.log"
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()
        app.conf.update(saved)
        app._pool, app.amqp._producer_pool = None, None


def test_under_make_run_a_decision_reaches_the_staff_in_the_app_and_the_worker_stops_on_sigterm(
    cast, filesystem_worker
):
    """make run's broker: a return reaches the body's staff as an in-app notice while the worker
    runs (polled, not timed: the figures are bench/notice_bench.py's); SIGTERM stops it in 10 s."""
    from obligations.models import Obligation
    from obligations.services import obligation_transition

    obligation = make_obligation(cast["alice"].department, dt.date(2025, 6, 20), status=Obligation.Status.SUBMITTED)
    obligation_transition(
        obligation=obligation,
        actor=cast["lena"],
        action="return",
        expected_version=obligation.version,
        reason="请补充。",
    )

    def told():
        return Notification.objects.filter(recipient=cast["alice"], obligation=obligation, kind="returned").exists()

    wait_for(told, 90, "the return to reach alice's notices", filesystem_worker)
    filesystem_worker.send_signal(signal.SIGTERM)
    try:
        filesystem_worker.wait(10)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the worker still runs 10 s after SIGTERM") from exc
