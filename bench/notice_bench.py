"""Decision to notice: how long a lead's decision takes to reach the staff member's in-app notice
through real Celery workers, with a backlog in front of it.

    .venv/bin/python -m bench.notice_bench                       # make run's filesystem broker
    .venv/bin/python -m bench.notice_bench --broker redis        # REDIS_URL (default redis://127.0.0.1:6379/0)
    .venv/bin/python -m bench.notice_bench --backlog 1000 --rounds 5 --idle 10
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tr_notice_bench (default)

Builds the demo's accounts and regulation (no story), starts the workers exactly as `make run`
does (the `celery … worker` lines of scripts/run.sh: one on the default queue, a small one on
`notices`), then measures, from the commit of a due-date change to the moment its notice is in
the database:
- idle: the queues are empty;
- behind queued deliveries: `--backlog` notice tasks for events already delivered wait in the
  `notices` queue (what an outage of the notice worker leaves once the sweep has caught up);
- behind undelivered events: `--backlog` undelivered events, each telling the body's staff, with
  a delivery task each in the default queue (an outage's catch-up, a bulk change); the notice must
  not wait for them. Prints how many were still undelivered when the notice arrived.
Then sends the workers SIGTERM and times their exit. Prints p50 and p95 of each; not a test.
"""

import argparse
import os
import shlex
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


def make_run_workers() -> list[list[str]]:
    """The `celery … worker` command lines of scripts/run.sh (without their log redirect): the
    bench and tests/test_notice_lanes.py run the workers as `make run` does."""
    workers = []
    for line in (ROOT / "scripts" / "run.sh").read_text().splitlines():
        if line.startswith(".venv/bin/celery ") and " worker " in line:
            args = shlex.split(line.split(">")[0])
            workers.append([str(CELERY), *args[1:]])
    return workers


def queue_depth(app, name: str) -> int:
    """Messages waiting in a queue (Redis: the list's length; filesystem: the folder's files)."""
    from kombu.exceptions import ChannelError

    with app.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(name, passive=True).message_count
        except ChannelError:  # Redis: an empty queue is no key at all ("404 NOT_FOUND")
            return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", choices=["filesystem", "redis"], default="filesystem")
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="decisions made behind a fresh backlog, per case")
    parser.add_argument("--idle", type=int, default=10, help="decisions made with empty queues")
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
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

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
    OutboxMessage.objects.filter(delivered_at=None).update(delivered_at=timezone.now())  # an earlier run's
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

    def queue_backlog(n: int, k: int, *, undelivered: bool) -> list[int]:
        # One real event, copied n times. Delivered copies: their notice tasks wait in `notices`.
        # Undelivered copies (each telling the body's staff): a delivery task each on the default queue.
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
        OutboxMessage.objects.filter(id=model.id).update(delivered_at=timezone.now())
        if not undelivered:
            OutboxMessage.objects.filter(id__in=ids).update(delivered_at=timezone.now())
        queue = settings.CELERY_TASK_DEFAULT_QUEUE if undelivered else settings.NOTICE_QUEUE
        with app.connection_for_write() as conn:
            for message_id in ids:
                app.send_task(outbox.DELIVER_TASK, args=[message_id], connection=conn, queue=queue)
        return ids

    def one_decision(days: int) -> float:
        seen = Notification.objects.filter(recipient=staff, obligation=obligation).count()
        change_date(obligation, days)  # commits: its task is queued on commit
        started = time.perf_counter()
        while Notification.objects.filter(recipient=staff, obligation=obligation).count() == seen:
            if time.perf_counter() - started > 120:
                for worker in workers:
                    worker.send_signal(signal.SIGUSR1)  # each worker logs where it stands
                time.sleep(2)
                raise SystemExit(f"no notice after 120 s; the workers' logs: {var_dir}")
            time.sleep(0.02)
        return time.perf_counter() - started

    def drained() -> bool:
        return not any(queue_depth(app, q) for q in (settings.NOTICE_QUEUE, settings.CELERY_TASK_DEFAULT_QUEUE))

    workers, logs = [], []
    for number, command in enumerate(make_run_workers()):
        log = Path(var_dir) / f"worker-{number}.log"
        out = log.open("wb")
        workers.append(subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out))
        logs.append(log)
    try:
        while not all("ready." in log.read_text(errors="replace") for log in logs):
            time.sleep(0.2)
        one_decision(400)  # the workers are up and have their connections
        idle = [one_decision(401 + k % 2) for k in range(args.idle)]
        behind: dict[str, list[float]] = {"delivered": [], "undelivered": []}
        left: list[int] = []
        for case in behind:
            for k in range(args.rounds):
                started = time.perf_counter()
                ids = queue_backlog(args.backlog, k, undelivered=case == "undelivered")
                queued = time.perf_counter() - started
                behind[case].append(one_decision(403 + k % 2))
                line = f"  {case} round {k + 1}: {args.backlog} queued in {queued:.1f} s"
                line += f", notice after {behind[case][-1]:.2f} s"
                if case == "undelivered":
                    left.append(OutboxMessage.objects.filter(id__in=ids, delivered_at=None).count())
                    line += f", {left[-1]} of the backlog still undelivered then"
                print(line, flush=True)
                while not drained() or OutboxMessage.objects.filter(id__in=ids, delivered_at=None).exists():
                    time.sleep(0.5)
        stop_started = time.perf_counter()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(120)
        stopped = time.perf_counter() - stop_started
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    print(f"\ndecision to in-app notice, {args.broker} broker, the workers of make run (scripts/run.sh)")
    print(f"{'case':<44}{'n':>4}{'p50 s':>9}{'p95 s':>9}{'max s':>9}")
    rows = (
        ("idle queues", idle),
        (f"behind {args.backlog} queued deliveries (delivered)", behind["delivered"]),
        (f"behind {args.backlog} undelivered events", behind["undelivered"]),
    )
    for name, samples in rows:
        if samples:
            print(
                f"{name:<44}{len(samples):>4}{statistics.median(samples):>9.2f}"
                f"{percentile(samples, 95):>9.2f}{max(samples):>9.2f}"
            )
    if left:
        print(f"undelivered events of the backlog when the notice arrived: {', '.join(map(str, left))}")
    print(f"workers' exit after SIGTERM: {stopped:.1f} s")


if __name__ == "__main__":
    main()
