"""Drill: PostgreSQL restarts in the middle of a reminder sweep.

A private cluster (initdb on a free port, run as the postgres user when the tests run as root)
is migrated and seeded by subprocesses; `manage.py send_reminders` runs against it with a slow
email backend; when a third of the emails are out the test restarts the cluster (pg_ctl stop
-m immediate + start), the sweep dies on its next query, and the next sweep completes the job.

What must hold: the Reminder ledger has every due reminder exactly once, each with exactly one
notification and a sent delivery; nobody misses an email. An email whose batch was sent but not
recorded when the database went away is sent again by the next sweep with the same
X-Tracker-Delivery key and Message-ID (at most one batch: mail systems merge the repeat)."""

import collections
import json
import subprocess
import time

import pytest

from .services import PrivatePostgres
from .support import BASE_DIR, PYTHON, child_env, manage, read_mail, run_django, wait_for

pytestmark = pytest.mark.services

NOW = "2025-06-13T09:00:00+08:00"  # a Friday; everything is due a week later (stage before:7)
STAFF = 8
OBLIGATIONS = 10
BATCH = 10

SEED = f"""
import datetime as dt
from accounts.models import Department, User
from notifications.models import ReminderSettings
from regulations.registry import load_departments
from tests.factories import make_obligations
load_departments()
body = Department.objects.get(code="JN-DSJ")
User.objects.bulk_create([
    User(username=f"staff{{i}}", role=User.Role.STAFF, department=body, email=f"staff{{i}}@example.gov.cn")
    for i in range({STAFF})
])
make_obligations(body, [dt.date(2025, 6, 20)] * {OBLIGATIONS})
ReminderSettings.objects.update_or_create(pk=1, defaults=dict(
    group_reminders=False, daily_digest_to_leads=False, send_batch_size={BATCH}, claim_lease_seconds=1))
print("seeded")
"""

STATE = """
import json
from notifications.models import Delivery, Notification, Reminder
print(json.dumps({
    "reminders": list(Reminder.objects.values_list("target_id", "stage", "recipient__username", "status",
                                                   "notification_id")),
    "notifications": list(Notification.objects.values_list("id", flat=True)),
    "deliveries": list(Delivery.objects.values_list("notification_id", "status", "key")),
}, default=str))
"""


@pytest.fixture
def cluster():
    with PrivatePostgres() as pg:
        yield pg


def test_a_sweep_cut_by_a_database_restart_is_completed_by_the_next_without_duplicates_or_gaps(cluster, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = child_env(
        database_url=cluster.url,
        redis_url="redis://127.0.0.1:1/0",  # not used by the sweep command
        mail_dir=mail_dir,
        DRILL_EMAIL_BACKEND="tests.drills.slow_mail.SlowFileBackend",
        DRILL_MAIL_DELAY="0.05",
    )
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    seeded = run_django(SEED, env)
    assert seeded.returncode == 0 and "seeded" in seeded.stdout, seeded.stderr[-3000:]
    expected = STAFF * OBLIGATIONS

    first = subprocess.Popen(
        [PYTHON, "manage.py", "send_reminders", "--now", NOW],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: len(read_mail(mail_dir)) >= expected // 3 or first.poll() is not None, 120, "emails")
    assert first.poll() is None, "the sweep finished before the restart: raise DRILL_MAIL_DELAY"
    cluster.restart()
    out, err = first.communicate(timeout=120)
    assert first.returncode != 0, out  # the sweep really was cut
    assert "OperationalError" in err or "connection" in err.lower(), err[-3000:]
    cut_at = len(read_mail(mail_dir))

    def state():
        result = run_django(STATE, env)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout)

    before = state()
    claimed = [r for r in before["reminders"] if r[3] == "claimed"]
    assert claimed, "nothing was left half-done: the drill did not interrupt the sweep"

    time.sleep(1.1)  # the dead sweep's claims outlive their one-second lease
    second = manage("send_reminders", "--now", NOW, env=env)
    assert second.returncode == 0, second.stderr[-3000:]

    after = state()
    reminders = after["reminders"]
    keys = [(r[0], r[1], r[2]) for r in reminders]
    assert len(keys) == len(set(keys)) == expected  # every due reminder, once
    assert {r[3] for r in reminders} == {"sent"}
    notification_ids = [r[4] for r in reminders]
    assert None not in notification_ids and len(set(notification_ids)) == expected
    assert sorted(after["notifications"]) == sorted(notification_ids)  # no stray second message
    assert {d[1] for d in after["deliveries"]} == {"sent"} and len(after["deliveries"]) == expected

    mails = read_mail(mail_dir)
    by_key = collections.Counter(m["X-Tracker-Delivery"] for m in mails)
    assert set(by_key) == {d[2] for d in after["deliveries"]}  # everyone got their email (no gap)
    repeated = [key for key, n in by_key.items() if n > 1]
    assert all(by_key[key] == 2 for key in repeated)
    # A repeat is the same message to the recipient's mail system: one Message-ID per delivery.
    message_ids = collections.defaultdict(set)
    for m in mails:
        message_ids[m["X-Tracker-Delivery"]].add(m["Message-ID"])
    assert all(len(ids) == 1 for ids in message_ids.values())
    assert len({next(iter(ids)) for ids in message_ids.values()}) == len(message_ids)
    assert len(repeated) <= BATCH  # only the batch in flight when the database went away

    third = manage("send_reminders", "--now", NOW, env=env)
    assert third.returncode == 0 and third.stdout.strip().startswith("sent 0"), third.stdout
    assert len(read_mail(mail_dir)) == len(mails)
    print(
        f"\npostgres drill: cut after {cut_at}/{expected} emails, {len(claimed)} reminders left claimed; "
        f"next sweep: {second.stdout.strip()}; emails sent twice: {len(repeated)}"
    )
