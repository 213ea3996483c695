"""Drill: the Celery worker running the reminder sweep is killed (SIGKILL, parent and pool child)
half-way through sending.

A real worker on a private Redis runs `send_reminders` with a slow email backend; when a third of
the emails are out the test kills the whole worker, so nobody hands the task back: its message
stays unacknowledged until the broker's visibility timeout (an hour). Meanwhile:
- `manage.py send_reminders` must not call the dead sweep's reminders "already sent": they are
  in flight (claimed), and it says so;
- once the claims' lease has passed, the delivery retry task (the beat's, every ten minutes) run
  by a new worker takes them over: every due reminder ends sent exactly once, each with one
  notification and a sent delivery; only the batch in flight at the kill may be emailed twice
  (with the same X-Tracker-Delivery key)."""

import collections
import os
import re
import signal
import time

import pytest

from notifications.models import Delivery, Notification, Reminder

from .services import PrivateRedis
from .support import Worker, manage, read_mail, run_django, slow_mail_sweep_world, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

NOW = "2025-06-13T09:00:00+08:00"  # a Friday; everything is due a week later (stage before:7)
STAFF = 8
OBLIGATIONS = 10
BATCH = 10
LEASE = 20  # seconds; long enough for the command below to run inside it

SWEEP = f"from notifications.tasks import send_reminders\nsend_reminders.delay(now={NOW!r})\nprint('queued')"
RETRY = "from notifications.tasks import retry_deliveries\nprint(retry_deliveries.delay().get(timeout=120))"


@pytest.fixture
def private_redis():
    with PrivateRedis() as redis:
        yield redis


def kill_whole_worker(worker: Worker) -> None:
    children = worker.children()
    os.kill(worker.process.pid, signal.SIGKILL)
    for child in children:
        os.kill(child, signal.SIGKILL)
    worker.process.wait(10)


def test_reminders_of_a_killed_sweep_are_taken_over_after_the_lease_and_not_called_sent(
    departments, private_redis, tmp_path
):
    env, mail_dir, expected = slow_mail_sweep_world(
        departments["JN-DSJ"],
        staff=STAFF,
        obligations=OBLIGATIONS,
        redis_url=private_redis.url,
        tmp_path=tmp_path,
        send_batch_size=BATCH,
        claim_lease_seconds=LEASE,
    )

    first = Worker(env, tmp_path / "worker-1.log").start()
    try:
        queued = run_django(SWEEP, env)
        assert queued.returncode == 0, queued.stderr[-3000:]
        wait_for(lambda: len(read_mail(mail_dir)) >= expected // 3, 120, "a third of the emails", first)
        kill_whole_worker(first)
    finally:
        first.stop()
    killed_at = time.monotonic()
    cut_at = len(read_mail(mail_dir))
    assert cut_at < expected, "the sweep finished before the kill: raise DRILL_MAIL_DELAY"
    claimed = Reminder.objects.filter(status=Reminder.Status.CLAIMED).count()
    assert claimed, "nothing was left claimed: the drill did not interrupt the sweep"

    # Inside the lease: the command tells the truth about the dead sweep's rows.
    command = manage("send_reminders", "--now", NOW, env=env)
    assert command.returncode == 0, command.stderr[-3000:]
    assert time.monotonic() - killed_at < LEASE, "the command ran after the lease: raise LEASE"
    really_sent = Reminder.objects.filter(status=Reminder.Status.SENT).count()
    line = command.stdout.strip()
    match = re.fullmatch(r"sent (\d+), skipped (\d+) \(already sent\), in flight (\d+) \(.*\), failed 0", line)
    assert match, line
    assert int(match[2]) == really_sent and int(match[3]) == claimed, line

    # After the lease the beat's retry task, run by another worker, finishes the dead sweep.
    time.sleep(max(0.0, LEASE + 1 - (time.monotonic() - killed_at)))
    second = Worker(env, tmp_path / "worker-2.log").start()
    try:
        retried = run_django(RETRY, env)
        assert retried.returncode == 0, retried.stderr[-3000:] + second.text()[-3000:]
    finally:
        second.stop()
    taken_over_seconds = time.monotonic() - killed_at

    reminders = list(Reminder.objects.values_list("target_id", "stage", "recipient_id", "status", "notification_id"))
    keys = [(r[0], r[1], r[2]) for r in reminders]
    assert len(keys) == len(set(keys)) == expected  # every due reminder, once
    assert {r[3] for r in reminders} == {"sent"}
    notification_ids = [r[4] for r in reminders]
    assert None not in notification_ids and len(set(notification_ids)) == expected
    assert sorted(Notification.objects.values_list("id", flat=True)) == sorted(notification_ids)
    deliveries = list(Delivery.objects.values_list("status", "key"))
    assert {d[0] for d in deliveries} == {"sent"} and len(deliveries) == expected

    mails = read_mail(mail_dir)
    by_key = collections.Counter(m["X-Tracker-Delivery"] for m in mails)
    assert set(by_key) == {str(d[1]) for d in deliveries}  # everyone got their email
    repeated = [key for key, n in by_key.items() if n > 1]
    assert all(by_key[key] == 2 for key in repeated) and len(repeated) <= BATCH
    print(
        f"\nreminder worker drill: killed after {cut_at}/{expected} emails, {claimed} reminders left claimed; "
        f"meanwhile: {line!r}; taken over {taken_over_seconds:.0f} s after the kill (lease {LEASE} s); "
        f"emails sent twice: {len(repeated)}"
    )
