"""The writing side of the transactional outbox: every decision is an event the service records
itself, in its own transaction.

1. `outbox_write` inserts an OutboxMessage in the caller's transaction: the event and the change
   commit or roll back together; the database is the source of truth.
2. After the commit (`transaction.on_commit`) the delivery task is queued by NAME: obligations
   sits below notifications and never imports it. The hand-off is bounded (core.handoff: one
   connection attempt, no publish retries, no result). A broker error there is logged and swallowed:
   the user's save has succeeded and stays so; the beat's `deliver_outbox` picks the row up.
3. A decision's task travels in the `notices` queue, which nothing else uses (settings: broker).
   A change writing many events at once (an amendment carried over, a 台账 imported) runs
   `in_bulk()`: its events queue no task each, but one `deliver_outbox` sweep on the default
   queue after the commit, so they never stand in front of the next person's decision.

Who hears an event and through which channel is notifications' business (notifications.outbox).
The payload holds the facts as they were at the decision (reason, old and new date, old and new
body), so a message delivered after an outage still tells what was decided, not what is now.
"""

import contextlib
import contextvars
from collections.abc import Iterator

from django.db import transaction

from core.handoff import hand_off

from .models import Obligation, OutboxMessage

Event = OutboxMessage.Event
DELIVER_TASK = "notifications.tasks.deliver_outbox_message"
OUTBOX_SWEEP_TASK = "notifications.tasks.deliver_outbox"
TEXT_EXCERPT = 200

# Set while a caller delivers the outbox itself (the demo story delivers each event at the moment
# it happened): queuing a task per event would leave the worker a backlog of no-ops.
_held: contextvars.ContextVar[bool] = contextvars.ContextVar("outbox_queue_held", default=False)
# Set inside `in_bulk()`: a list that is empty until the block has asked for its one sweep.
_bulk: contextvars.ContextVar[list | None] = contextvars.ContextVar("outbox_bulk", default=None)


@contextlib.contextmanager
def queue_held() -> Iterator[None]:
    """Within this block events are written but not queued: the caller delivers them itself
    (whatever it leaves undelivered, the beat's `deliver_outbox` picks up)."""
    token = _held.set(True)
    try:
        yield
    finally:
        _held.reset(token)


@contextlib.contextmanager
def in_bulk() -> Iterator[None]:
    """Within this block (or function, as a decorator) events are written and, after the commit,
    delivered by one `deliver_outbox` sweep on the default queue instead of a task each in the
    `notices` queue: hundreds of events must not hold back a decision made meanwhile."""
    token = _bulk.set([])
    try:
        yield
    finally:
        _bulk.reset(token)


def outbox_write(*, event: str, obligation: Obligation, actor, payload: dict | None = None) -> OutboxMessage:
    """Record an event in the caller's transaction and queue its delivery for after the commit.

    The payload always names the responsible body at the time of the event (`department_id`)."""
    payload = {"department_id": obligation.department_id, **(payload or {})}
    message = OutboxMessage.objects.create(
        event=event, obligation_id=obligation.pk, actor_id=actor.pk if actor else None, payload=payload
    )
    if _held.get():
        return message
    bulk = _bulk.get()
    if bulk is None:
        transaction.on_commit(lambda: queue_delivery(message.id))
    elif not bulk:
        bulk.append(message.id)
        transaction.on_commit(queue_sweep)
    return message


def queue_delivery(message_id: int) -> bool:
    """Hand the message to a worker. Never raises: the outbox row is already committed and
    `deliver_outbox` picks it up when the broker is back."""
    return hand_off(DELIVER_TASK, args=[message_id], waiting=f"outbox message {message_id} waits for deliver_outbox")


def queue_sweep() -> bool:
    """Hand `deliver_outbox` (the default queue) to a worker; never raises (the beat runs it too)."""
    return hand_off(OUTBOX_SWEEP_TASK, args=[], waiting="the outbox waits for the beat's deliver_outbox")


def excerpt(text: str) -> str:
    return (text or "")[:TEXT_EXCERPT]
