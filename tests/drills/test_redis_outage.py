"""Drill: Redis (the Celery broker) is down while staff save progress.

A private redis-server on a free port is the broker of a real worker and of the process that
saves (a separate Python process, as the web server is). The test stops Redis, saves progress
through the service — it succeeds, the outbox row is committed with it —, starts Redis again
on the same port, and lets the worker deliver: each recipient gets the notification and the
email exactly once, however often delivery is triggered."""

import datetime as dt
import re
import time

import pytest

from notifications.models import Delivery, Notification
from obligations.models import OutboxMessage, ProgressEntry
from tests.factories import make_obligation

from .services import PrivateRedis
from .support import Worker, child_env, database_url, read_mail, run_django, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SAVE = """
import time
from accounts.models import User
from obligations.models import Obligation
from obligations.services import progress_add
started = time.monotonic()
entry = progress_add(obligation=Obligation.objects.get(pk={obligation_id}), actor=User.objects.get(username="carol"),
                     text="协办单位已完成数据接口联调。", percent=60)
print("saved", entry.pk, round(time.monotonic() - started, 3))
"""

TRIGGER = """
from notifications.tasks import deliver_outbox
print("delivered", deliver_outbox.delay().get(timeout=60))
"""


@pytest.fixture
def private_redis():
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


def test_progress_saved_while_redis_is_down_is_notified_once_when_it_is_back(
    cast, departments, private_redis, tmp_path
):
    obligation = make_obligation(cast["alice"].department, dt.date(2026, 12, 31))
    obligation.cooperating.add(departments["JN-FGW"])
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = child_env(database_url=database_url(), redis_url=private_redis.url, mail_dir=mail_dir)
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        private_redis.stop()

        saved = run_django(SAVE.format(obligation_id=obligation.id), env)
        assert saved.returncode == 0, saved.stderr[-3000:]
        assert saved.stdout.startswith("saved")
        save_seconds = float(saved.stdout.split()[-1])
        assert "waits for deliver_outbox" in saved.stderr  # the broker error was logged, not raised
        assert ProgressEntry.objects.filter(author=cast["carol"]).count() == 1
        message = OutboxMessage.objects.get()
        assert message.delivered_at is None and not Notification.objects.exists()

        started = time.monotonic()
        private_redis.start()  # same port: the worker reconnects by itself
        triggered = run_django(TRIGGER, env)  # what the beat entry does every minute
        assert triggered.returncode == 0, triggered.stderr[-3000:]
        assert triggered.stdout.split() == ["delivered", "1"]
        wait_for(lambda: len(read_mail(mail_dir)) >= 2, 60, "the emails", worker)
        recovery_seconds = time.monotonic() - started

        # Delivery triggered again (the beat, a sweep, a duplicated task): nothing more.
        again = run_django(TRIGGER + "\nfrom obligations.outbox import queue_delivery\n"
                           f"print(queue_delivery({message.id}))\n", env)  # fmt: skip
        assert again.returncode == 0, again.stderr[-3000:]
        assert again.stdout.split()[:2] == ["delivered", "0"]
        # The duplicate per-message task: wait until the worker has run it.
        done = re.compile(r"deliver_outbox_message\[[0-9a-f-]+\] succeeded")
        wait_for(lambda: done.search(worker.text()), 60, "the duplicate task", worker)
    finally:
        worker.stop()

    notes = Notification.objects.order_by("recipient__username")
    assert [(n.recipient.username, n.kind) for n in notes] == [("alice", "progress"), ("bob", "progress")]
    assert sorted(m["To"] for m in read_mail(mail_dir)) == ["alice@example.gov.cn", "bob@example.gov.cn"]
    assert list(Delivery.objects.values_list("status", flat=True)) == ["sent", "sent"]
    message.refresh_from_db()
    assert message.delivered_at is not None
    print(
        f"\nredis drill: save with broker down {save_seconds:.3f} s; delivered {recovery_seconds:.1f} s after restart"
    )
