"""Drill: Redis (broker and results) freezes while the worker is busy, again and again.

A worker whose acknowledgement (acks_late) or fetch meets a frozen Redis gets a socket timeout,
drops its connection and reconnects when Redis answers again. In kombu 5.5 that reconnection
could leave the consumer registered without a reader: the process alive, answering nothing,
consuming nothing ("stopped consuming after a frozen Redis", 2 of 7 runs of test_redis_frozen).
Here a private redis-server is the broker of a real worker that works through a burst of short
acks_late tasks; the test SIGSTOPs Redis mid-burst for longer than the socket timeout, SIGCONTs
it, and then sends a probe task. Five cycles. A stall is a worker that runs nothing for a whole
minute while the probe waits (on a loaded machine the rest of the burst may take longer than
that; it is progress that counts, not speed)."""

import re
import signal
import time
import uuid

import pytest

from tracker.celery import app

from .services import PrivateRedis
from .support import Worker, child_env, database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CYCLES = 5
BURST = 100  # no-op notice tasks (an event id that does not exist): a few ms each, each acked late
FROZEN_SECONDS = 8  # above REDIS_SOCKET_TIMEOUT (3 s): every call in flight times out
STALL_WINDOW = 60  # seconds without any task run, the probe still waiting
TASK = "notifications.tasks.deliver_outbox_message"


def send(url: str, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with app.connection_for_write(url) as conn:
        for task_id in ids:
            app.send_task(TASK, args=[0], task_id=task_id, connection=conn, ignore_result=True)
    return ids


def succeeded(worker: Worker) -> set[str]:
    return set(re.findall(r"\[([0-9a-f-]{36})\] succeeded", worker.text()))


def test_a_worker_keeps_consuming_after_redis_froze_while_it_was_busy(tmp_path):
    redis = PrivateRedis()
    redis.start()
    env = child_env(database_url=database_url(), redis_url=redis.url)
    worker = Worker(env, tmp_path / "worker.log").start()
    stalls, outcomes = 0, []
    try:
        for cycle in range(CYCLES):
            burst = send(redis.url, BURST)
            deadline = time.monotonic() + 120
            while len(succeeded(worker) & set(burst)) < BURST // 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            redis.proc.send_signal(signal.SIGSTOP)  # acks and fetches in flight now time out
            time.sleep(FROZEN_SECONDS)
            redis.proc.send_signal(signal.SIGCONT)

            (probe,) = send(redis.url, 1)
            thawed = last_progress = time.monotonic()
            done = succeeded(worker)
            while probe not in done and time.monotonic() - last_progress < STALL_WINDOW:
                time.sleep(0.5)
                now_done = succeeded(worker)
                if len(now_done) > len(done):
                    last_progress = time.monotonic()
                done = now_done
            if probe in done:
                outcomes.append(f"cycle {cycle + 1}: probe ran {time.monotonic() - thawed:.1f} s after the thaw")
            else:
                stalls += 1
                outcomes.append(f"cycle {cycle + 1}: STALL, nothing run for {STALL_WINDOW} s after the thaw")
                worker.stop()  # what a watchdog or systemd would do; the next cycle starts afresh
                worker = Worker(env, tmp_path / f"worker-{cycle + 2}.log").start()
    finally:
        worker.stop()
        if redis.proc and redis.proc.poll() is None:
            redis.proc.send_signal(signal.SIGCONT)
        redis.stop()
    print(f"\nfrozen-while-busy drill: {stalls} stall(s) in {CYCLES} cycles\n  " + "\n  ".join(outcomes))
    assert stalls == 0, outcomes
