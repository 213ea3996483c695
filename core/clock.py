"""The project's one clock: dates are Asia/Shanghai (TIME_ZONE), whatever the server's zone.

`now()` and `today()` are what the services, the audit trail, the outbox, the reminder sweep and
the models' default timestamps read. They follow the real clock, except inside `told_at(moment)`:
the demo story (`seed_demo`) tells a year of work through the services, each step at the moment
it happened, and this is the one switch that lets it. Nothing else sets it.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

_told_at: ContextVar[dt.datetime | None] = ContextVar("told_at", default=None)


def now() -> dt.datetime:
    moment = _told_at.get()
    return moment if moment is not None else timezone.now()


def today() -> dt.date:
    return timezone.localdate(now())


def real_now() -> dt.datetime:
    """The wall clock even inside `told_at`: what the demo story measures its own past against."""
    return timezone.now()


@contextmanager
def told_at(moment: dt.datetime) -> Iterator[dt.datetime]:
    """Within the block, `now()` is `moment` (an aware datetime, in the past: a story retold)."""
    if timezone.is_naive(moment):
        raise ValueError("told_at() needs an aware datetime")
    if moment > real_now():
        raise ValueError("told_at() retells the past; it cannot run ahead of the real clock")
    token = _told_at.set(moment)
    try:
        yield moment
    finally:
        _told_at.reset(token)
