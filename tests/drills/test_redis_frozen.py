"""Drill: Redis (broker and result backend) freezes while the lead verifies submissions.

A frozen Redis is worse than a stopped one: the kernel still accepts connections, but nothing
answers, so only a socket (read) timeout ends a call. A private redis-server is the broker of a
real worker and of gunicorn (production settings, 2 workers x 2 threads as docs/deployment.md
runs it). The test SIGSTOPs it and sends one verification per web thread at once, with /healthz
asked meanwhile. Each verification must answer 200 within seconds (the change saved, its outbox
row waiting), /healthz must keep answering; after SIGCONT the beat's `deliver_outbox` delivers
every waiting message, each recipient notified once."""

import collections
import concurrent.futures
import datetime as dt
import json
import signal
import time

import pytest

from accounts.services import api_token_create
from notifications.models import Notification
from obligations.models import Obligation, OutboxMessage
from tests.factories import make_obligations

from .services import PrivateRedis
from .support import Gunicorn, Worker, child_env, database_url, http_request, run_django, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Far below the minutes a frozen Redis cost without a read timeout; above the few seconds of
# socket timeouts a request may meet (connect, publish, the result subscription).
REQUEST_BOUND = 20
TRIGGER = "from notifications.tasks import deliver_outbox\nprint('delivered', deliver_outbox.delay().get(timeout=60))"


@pytest.fixture
def private_redis():
    redis = PrivateRedis()
    redis.start()
    yield redis
    if redis.proc and redis.proc.poll() is None:
        redis.proc.send_signal(signal.SIGCONT)
    redis.stop()


def verify(server: Gunicorn, token: str, obligation: Obligation) -> tuple[int, float, bytes]:
    started = time.monotonic()
    status, _, body = http_request(
        f"{server.url}/api/obligations/{obligation.id}/transitions/",
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json", "If-Match": "1"},
        body=json.dumps({"action": "verify"}).encode(),
        timeout=60,
    )
    return status, time.monotonic() - started, body


def healthz(server: Gunicorn) -> tuple[int, float]:
    started = time.monotonic()
    try:
        status = http_request(f"{server.url}/healthz", timeout=REQUEST_BOUND)[0]
    except OSError:
        status = 0
    return status, time.monotonic() - started


def test_a_frozen_redis_costs_a_request_seconds_and_the_outbox_delivers_after(cast, private_redis, tmp_path):
    warm, *frozen = make_obligations(
        cast["alice"].department, [dt.date(2026, 12, 31)] * 5, status=Obligation.Status.SUBMITTED
    )
    _, token = api_token_create(user=cast["lena"])
    env = child_env(database_url=database_url(), redis_url=private_redis.url)
    worker = Worker(env, tmp_path / "worker.log").start()
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        # Redis answering: the web processes hold live broker and result connections.
        status, warm_seconds, body = verify(server, token, warm)
        assert status == 200, body[:2000]
        wait_for(lambda: Notification.objects.filter(obligation=warm).count() == 2, 60, "the first notices", worker)
        # Frozen after the worker acknowledged that task: an ack Redis does not answer frees its
        # slot (core/broker.py) but its message comes back only after the visibility timeout
        # (test_redis_frozen_busy.py freezes Redis mid-ack on purpose).
        wait_for(lambda: worker.text().count("succeeded in") >= 1, 60, "the task to finish", worker)
        time.sleep(1.5)

        private_redis.proc.send_signal(signal.SIGSTOP)
        with concurrent.futures.ThreadPoolExecutor(len(frozen) + 1) as pool:
            verifications = [pool.submit(verify, server, token, o) for o in frozen]  # one per web thread
            time.sleep(0.5)
            probes = []
            while not all(v.done() for v in verifications):
                probes.append(healthz(server))
                time.sleep(0.5)
            results = [v.result() for v in verifications]
        for status, _, body in results:
            assert status == 200, body[:2000]
        slowest = max(seconds for _, seconds, _ in results)
        assert slowest < REQUEST_BOUND, f"a verification took {slowest:.1f} s with Redis frozen"
        assert probes and all(status == 200 for status, _ in probes), probes
        assert set(Obligation.objects.filter(pk__in=[o.pk for o in frozen]).values_list("status", flat=True)) == {
            Obligation.Status.VERIFIED
        }
        waiting = OutboxMessage.objects.filter(obligation_id__in=[o.pk for o in frozen], delivered_at=None)
        assert waiting.count() == len(frozen)

        private_redis.proc.send_signal(signal.SIGCONT)
        thawed = time.monotonic()
        triggered = run_django(TRIGGER, env)  # what the beat does every minute
        assert triggered.returncode == 0, triggered.stderr[-3000:] + worker.text()[-5000:]
        wait_for(lambda: not waiting.exists(), 120, "the waiting messages to be delivered", worker)
        wait_for(
            lambda: Notification.objects.filter(obligation__in=frozen).count() == 2 * len(frozen),
            60,
            "the notices",
            worker,
        )
        delivered_seconds = time.monotonic() - thawed
        again = run_django(TRIGGER, env)
        assert again.returncode == 0 and again.stdout.split() == ["delivered", "0"], again.stdout + again.stderr
    finally:
        server.stop()
        worker.stop()

    notices = collections.Counter(
        Notification.objects.filter(obligation__in=frozen).values_list("recipient__username", "obligation_id", "kind")
    )
    assert set(notices.values()) == {1}
    assert {(user, kind) for user, _, kind in notices} == {("alice", "verified"), ("bob", "verified")}
    print(
        f"\nfrozen redis drill: {len(frozen)} verifications with Redis frozen took "
        f"{', '.join(f'{s:.1f}' for _, s, _ in results)} s (warm {warm_seconds:.2f} s); "
        f"/healthz answered {len(probes)} times, slowest {max(s for _, s in probes):.1f} s; "
        f"delivered {delivered_seconds:.1f} s after the thaw"
    )
