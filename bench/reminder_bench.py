"""Time the reminder sweep at scale, in its own database.

    .venv/bin/python bench/reminder_bench.py                      # 200,000 obligations, 20,000 due
    .venv/bin/python bench/reminder_bench.py --obligations 20000 --due 2000
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tr_reminders_bench (default)

Builds (or, with --reuse, keeps) the data: the department registry, one staff member per body,
one lead, and N obligations of which `--due` need a reminder on the bench day (2025-06-13, a
Friday): half due in 7 days, a quarter due the next day (a Saturday: reminded today, the last
working day), a quarter overdue since yesterday. The rest are due months ahead. Then runs the
sweep twice (the second finds everything sent) with the locmem email backend, and prints the
timings and the number of SQL statements. Target: < 60 s for the first sweep.
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DAY = dt.date(2025, 6, 13)


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def build(n_obligations: int, n_due: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Department, User
    from obligations.models import Obligation
    from regulations.models import Article, Clause, Regulation
    from regulations.parser import article_label
    from regulations.registry import load_departments

    call_command("flush", "--noinput", verbosity=0)
    load_departments()
    departments = list(Department.objects.order_by("id"))
    users = [
        User(username=f"staff-{d.code}", role=User.Role.STAFF, department=d, email=f"{d.code.lower()}@bench.local")
        for d in departments
    ]
    users.append(User(username="lead", role=User.Role.LEAD, department=departments[0], email="lead@bench.local"))
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users)

    per_clause = len(departments)
    n_clauses = -(-n_obligations // per_clause)
    reg = Regulation.objects.create(code="bench", title="基准测试条例", source_text="-", source_sha256="0" * 64)
    text = "市有关部门应当按照职责推进数字经济发展相关工作。"
    articles = Article.objects.bulk_create(
        [Article(regulation=reg, number=i + 1, label=article_label(i + 1), text=text) for i in range(n_clauses)],
        batch_size=5000,
    )
    clauses = Clause.objects.bulk_create(
        [
            Clause(regulation=reg, article=a, paragraph_number=1, text=text, subject="市有关部门", kind="duty")
            for a in articles
        ],
        batch_size=5000,
    )

    def due_date(index: int) -> dt.date:
        if index < n_due // 2:
            return BENCH_DAY + dt.timedelta(days=7)
        if index < n_due * 3 // 4:
            return BENCH_DAY + dt.timedelta(days=1)
        if index < n_due:
            return BENCH_DAY - dt.timedelta(days=1)
        return BENCH_DAY + dt.timedelta(days=60 + index % 300)

    batch, index = [], 0
    for clause in clauses:
        for department in departments:
            if index >= n_obligations:
                break
            batch.append(Obligation(clause=clause, department=department, due_date=due_date(index)))
            index += 1
        if len(batch) >= 20000:
            Obligation.objects.bulk_create(batch)
            batch = []
    Obligation.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obligations", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    parser.add_argument(
        "--per-message", action="store_true", help="one email per reminder (group_reminders off): the worst case"
    )
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tr_reminders_bench")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core import mail
    from django.core.management import call_command
    from django.db import connection

    from notifications.models import Delivery, Notification, Reminder, ReminderSettings
    from notifications.reminders import sweep
    from obligations.models import Obligation

    call_command("migrate", "--noinput", verbosity=0)
    if not (args.reuse and Obligation.objects.count() == args.obligations):
        started = time.perf_counter()
        build(args.obligations, args.due)
        print(f"built {Obligation.objects.count():,} obligations in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:  # a clean slate without dead rows from the previous run
        tables = ", ".join(m._meta.db_table for m in (Reminder, Delivery, Notification))
        cursor.execute(f"TRUNCATE {tables}")

    cfg = ReminderSettings.load()
    cfg.group_reminders = not args.per_message
    cfg.save()
    print(f"mode: {'one email per reminder' if args.per_message else 'reminders grouped per person and sweep'}")
    mail.outbox = []
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    now = dt.datetime.combine(BENCH_DAY, dt.time(9), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    for label in ("first sweep", "second sweep"):
        statements.clear()
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            result = sweep(now=now)
        elapsed = time.perf_counter() - started
        print(f"{label}: {elapsed:.1f} s, {len(statements)} SQL statements, {result.summary()}")
        print(f"  phases (s): {result.details['seconds']}; candidates: {result.details['candidates']:,}")
    print(f"emails in outbox: {len(mail.outbox):,}; notifications: {Notification.objects.count():,}")


if __name__ == "__main__":
    main()
