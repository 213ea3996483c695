"""Celery tasks: thin interfaces over notifications.reminders.

Both are idempotent (the ledger and the delivery claims make a second run a no-op), so they
ack late and are redelivered when the worker process dies mid-run."""

import datetime as dt

from celery import shared_task

from obligations import outbox as obligation_outbox
from obligations.outbox import DELIVER_TASK, OUTBOX_SWEEP_TASK

from . import outbox, reminders, sending

SWEEP_TASK = "notifications.tasks.send_reminders"
RETRY_TASK = "notifications.tasks.retry_deliveries"


# A sweep over a province's due dates can outlast the default limits (settings: broker).
@shared_task(
    name=SWEEP_TASK,
    bind=True,
    soft_time_limit=900,
    time_limit=960,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
)
def send_reminders(self, now: str | None = None) -> dict:
    outbox.deliver_pending()  # the sweep also catches up on notifications left in the outbox
    result = reminders.sweep(now=dt.datetime.fromisoformat(now) if now else None)
    if result.in_flight and result.retry_in is not None and self.request.retries < self.max_retries:
        # Some reminders are claimed by another sender: alive (it will finish) or dead (its
        # lease runs out). Come back when the lease would have expired and take them over.
        raise self.retry(countdown=result.retry_in, kwargs={"now": now})
    return {"sent": result.sent, "skipped": result.skipped, "failed": result.failed}


@shared_task(name=RETRY_TASK, acks_late=True, reject_on_worker_lost=True)
def retry_deliveries() -> dict:
    # Reminders claimed by a sweep whose worker died, past their lease, are sent from here.
    taken_over = reminders.take_over()
    sent, failed = sending.retry_deliveries()
    return {"sent": sent, "failed": failed, "taken_over": taken_over.sent}


OUTBOX_TASK = OUTBOX_SWEEP_TASK


@shared_task(name=DELIVER_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_outbox_message(message_id: int) -> int:
    """Queued after the commit that wrote the outbox row, in the `notices` queue (settings:
    CELERY_TASK_ROUTES). When its event was delivered already, the queue is behind the outbox
    (its worker was away, the sweep caught up): it delivers the newest few waiting events, so a
    new decision does not wait for a queue of no-ops. Never more: the backlog is the default
    queue's `deliver_outbox`, and a notice worker sweeping it would hold back the next decision."""
    written = outbox.deliver(message_id)
    if not written:
        outbox.deliver_pending(limit=outbox.NEWEST_BATCH, newest_first=True)
    return written


@shared_task(name=OUTBOX_TASK, acks_late=True, reject_on_worker_lost=True)
def deliver_outbox() -> int:
    """Beat (every minute), and after a bulk change (obligations.outbox.in_bulk): deliver what
    the queued tasks did not, a batch at a time; while a batch delivers something and more waits,
    it queues itself again at once instead of waiting a minute per batch."""
    delivered = outbox.deliver_pending()
    if delivered and outbox.has_pending():
        obligation_outbox.queue_sweep()
    return delivered
