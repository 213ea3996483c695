"""Two sweeps at once on PostgreSQL: every reminder is sent exactly once."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection

from notifications.models import Notification, Reminder, ReminderSettings
from notifications.reminders import sweep
from tests.factories import make_obligations
from tests.test_reminders_support import at

D = dt.date.fromisoformat


class SlowLocmemBackend:
    """locmem, but each message takes a moment: the two sweeps overlap while sending."""

    def __init__(self, *args, **kwargs):
        from django.core.mail.backends.locmem import EmailBackend

        self.inner = EmailBackend(*args, **kwargs)

    def open(self):
        return self.inner.open()

    def close(self):
        return self.inner.close()

    def send_messages(self, messages):
        import time

        time.sleep(0.002)
        return self.inner.send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_send_each_reminder_exactly_once(cast, settings):
    settings.EMAIL_BACKEND = "tests.test_reminders_concurrency.SlowLocmemBackend"
    cfg = ReminderSettings.load()
    cfg.send_batch_size = 20
    cfg.save()
    dsj, fgw = cast["alice"].department, cast["carol"].department
    # Due in 7 days (before:7), overdue by 10 days (overdue + escalation) at two bodies.
    make_obligations(dsj, [D("2025-06-20")] * 40 + [D("2025-06-03")] * 5)
    make_obligations(fgw, [D("2025-06-20")] * 40 + [D("2025-06-03")] * 5)

    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(sweep(now=at("2025-06-13")))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors

    # 90 obligations: alice+bob (45 each) + carol (45) = 135 staff reminders, escalations:
    # 10 obligations × (lena + their body's staff), lead's digest: 1.
    expected = 45 * 2 + 45 + 10 + 5 * 2 + 5 * 1 + 1
    assert Reminder.objects.count() == expected
    assert set(Reminder.objects.values_list("status", flat=True)) == {"sent"}
    assert sum(r.sent for r in results) == expected
    assert sum(r.skipped + r.sent + r.claimed_elsewhere for r in results) >= expected
    # Exactly one message per reminder (escalations share a digest per body and recipient).
    assert len(mail.outbox) == Notification.objects.count()
    per_recipient_obligation = Notification.objects.exclude(obligation=None).values_list(
        "recipient", "obligation", "kind"
    )
    assert len(per_recipient_obligation) == len(set(per_recipient_obligation))
    escalation_digests = Notification.objects.filter(kind="escalation").values_list("recipient", "department")
    assert len(escalation_digests) == len(set(escalation_digests))
