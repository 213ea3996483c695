"""Decision to notice: how long a lead's decision takes to reach the staff member's in-app notice
through a real Celery worker, with a backlog of queued deliveries in front of it.

    .venv/bin/python -m bench.notice_bench                       # make run's filesystem broker
    .venv/bin/python -m bench.notice_bench --broker redis        # REDIS_URL (default redis://127.0.0.1:6379/0)
    .venv/bin/python -m bench.notice_bench --backlog 1000 --rounds 5 --idle 10
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tr_notice_bench (default)

Builds the demo's accounts and regulation (no story), starts one worker as `make run` does
(prefork, concurrency 2), then measures, from the commit of a due-date change to the moment its
notice is in the database:
- idle: the queue is empty;
- backlog: `--backlog` deliveries are queued first (the outbox's task for events already
  delivered: what the demo used to leave behind; `--real-backlog` queues undelivered events, each
  writing its notices), then the decision is made at once.
Then sends the worker SIGTERM and times its exit. Prints p50 and p95 of each; not a test.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CELERY = Path(sys.executable).parent / "celery"


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", choices=["filesystem", "redis"], default="filesystem")
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="decisions made behind a fresh backlog")
    parser.add_argument("--idle", type=int, default=10, help="decisions made with an empty queue")
    parser.add_argument("--real-backlog", action="store_true", help="the backlog's events are undelivered")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tr_notice_bench")
    ensure_database(url)
    var_dir = tempfile.mkdtemp(prefix="notice-bench-")
    env = {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "tracker.settings",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "TRACKER_VAR_DIR": var_dir,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "REDIS_URL": (os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0") if args.broker == "redis" else "",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from notifications.demo import seed
    from notifications.models import Notification
    from obligations import outbox
    from obligations.models import Obligation, OutboxMessage
    from obligations.services import obligation_set_due_date
    from tracker.celery import app

    if args.broker == "redis":
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    call_command("migrate", "--noinput", verbosity=0)
    accounts, _ = seed(story=False)
    lead, staff = accounts.lead, accounts.people["staff_dsj"]
    obligation = Obligation.objects.filter(department=staff.department).order_by("id").first()
    filler = Obligation.objects.filter(department=staff.department).order_by("-id").first()

    def change_date(target: Obligation, days: int) -> Obligation:
        import datetime as dt

        from core.clock import today

        target.refresh_from_db()
        due = today() + dt.timedelta(days=days)
        if due == target.due_date:  # a date from an earlier run
            due += dt.timedelta(days=1)
        return obligation_set_due_date(
            obligation=target,
            actor=lead,
            due_date=due,
            reason="基准测试：调整期限",
            expected_version=target.version,
        )

    def queue_backlog(n: int, k: int) -> None:
        # One real event, copied: the queue holds n deliveries of events already delivered (or,
        # with --real-backlog, n undelivered events, each telling the body's staff).
        with outbox.queue_held():
            change_date(filler, 30 + k)
        model = OutboxMessage.objects.latest("id")
        copies = OutboxMessage.objects.bulk_create(
            [
                OutboxMessage(event=model.event, obligation_id=model.obligation_id, actor_id=model.actor_id,
                              payload=model.payload)
                for _ in range(n)
            ]
        )  # fmt: skip
        ids = [m.id for m in copies]
        delivered = None if args.real_backlog else django.utils.timezone.now()
        OutboxMessage.objects.filter(id__in=[*ids, model.id]).update(delivered_at=delivered)
        with app.connection_for_write() as conn:
            for message_id in ids:
                app.send_task(outbox.DELIVER_TASK, args=[message_id], connection=conn)

    def one_decision(days: int) -> float:
        seen = Notification.objects.filter(recipient=staff, obligation=obligation).count()
        change_date(obligation, days)  # commits: its task is queued on commit
        started = time.perf_counter()
        while Notification.objects.filter(recipient=staff, obligation=obligation).count() == seen:
            if time.perf_counter() - started > 60:
                worker.send_signal(signal.SIGUSR1)  # the worker logs where it stands
                time.sleep(2)
                raise SystemExit(f"no notice after 60 s; the worker's log: {worker_log}")
            time.sleep(0.02)
        return time.perf_counter() - started

    worker_log = Path(var_dir) / "worker.log"
    worker = subprocess.Popen(
        [str(CELERY), "-A", "tracker", "worker", "--loglevel=WARNING", "--concurrency=2"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=worker_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        one_decision(400)  # the worker is up and has its connections
        idle = [one_decision(401 + k % 2) for k in range(args.idle)]
        behind = []
        for k in range(args.rounds):
            started = time.perf_counter()
            first_id = OutboxMessage.objects.latest("id").id
            queue_backlog(args.backlog, k)
            queued = time.perf_counter() - started
            behind.append(one_decision(403 + k % 2))
            print(f"  round {k + 1}: {args.backlog} queued in {queued:.1f} s, notice after {behind[-1]:.2f} s")
            while OutboxMessage.objects.filter(id__gte=first_id, delivered_at=None).exists():
                time.sleep(0.2)
        busy_task = app.send_task(outbox.DELIVER_TASK, args=[0])  # something on the worker's hands
        del busy_task
        stop_started = time.perf_counter()
        worker.send_signal(signal.SIGTERM)
        worker.wait(120)
        stopped = time.perf_counter() - stop_started
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    kind = "undelivered events" if args.real_backlog else "deliveries of events already delivered"
    print(f"\ndecision to in-app notice, {args.broker} broker, one worker (prefork, concurrency 2)")
    print(f"{'case':<34}{'n':>4}{'p50 s':>9}{'p95 s':>9}{'max s':>9}")
    for name, samples in (("idle queue", idle), (f"behind {args.backlog} queued", behind)):
        if samples:
            print(
                f"{name:<34}{len(samples):>4}{statistics.median(samples):>9.2f}"
                f"{percentile(samples, 95):>9.2f}{max(samples):>9.2f}"
            )
    print(f"backlog: {kind}")
    print(f"worker exit after SIGTERM: {stopped:.1f} s")


if __name__ == "__main__":
    main()
