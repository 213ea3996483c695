"""Handing a task to the broker from a web request: bounded, and never raising.

Celery's defaults retry a publish for about 6 s against a broker that is down, and a sender
that keeps results first subscribes in the result backend, which retries for about a minute
against a frozen Redis. A request cannot wait for that: one connection attempt with a timeout,
no publish retries, no result. The caller's row is committed already and says what is owed;
on False a periodic task hands it over again when the broker is back."""

import logging

from celery import current_app

log = logging.getLogger(__name__)

TIMEOUT = 2  # seconds a request may spend handing a message to the broker


def hand_off(task_name: str, *, args: list, waiting: str) -> bool:
    """Queue `task_name(*args)`; False (logged with `waiting`: who picks it up) if the broker
    does not take it."""
    app = current_app
    try:
        with app.pool.acquire(block=True, timeout=TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=TIMEOUT)
            app.send_task(task_name, args=args, retry=False, ignore_result=True, connection=conn)
    except Exception:
        log.warning("broker unavailable: %s", waiting, exc_info=True)
        return False
    return True
