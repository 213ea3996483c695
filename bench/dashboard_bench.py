"""Benchmark of the lead's dashboard at scale (a plain script, not a test).

    .venv/bin/python bench/dashboard_bench.py --database-url postgres://postgres@127.0.0.1:5432/tr_dashboard_bench \
        [-n 200000] [--progress 10] [--runs 20] [--warmup 3] [--reload]

It loads N obligations (default 200,000) with 10 progress entries each, and a status history for
every obligation that has moved, into a SEPARATE PostgreSQL database (the name must contain
"bench": the script truncates the obligation tables), using COPY in batches. Then it times every
dashboard endpoint and the HTML page through Django's test client (p50/p95 over --runs runs after
--warmup runs), and, for each, the same figures computed by ONE hand-written SQL query through
psycopg, and prints a table with the ratio.

Data shape: 100 bodies (the registry plus synthetic ones) x N/100 clauses over 60 articles in 7
chapters; statuses 30% not started, 40% in progress, 10% submitted, 20% verified; due dates spread
from two months after the regulation took effect to seven months after today.
The audit entries written here are not hash-chained (this database exists only to be measured).
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

BODIES = 100
ARTICLES = 60
CHAPTERS = 7
BATCH = 20_000
ENDPOINTS = ["summary", "bodies", "chapters", "grid", "overdue", "trend", "queue"]
TZ = "Asia/Shanghai"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("-n", "--obligations", type=int, default=200_000)
    parser.add_argument("--progress", type=int, default=10, help="progress entries per obligation")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reload", action="store_true", help="reload the data even if the size matches")
    parser.add_argument("--seed", type=int, default=20250101)
    return parser.parse_args()


def setup_django(database_url: str):
    name = urlparse(database_url).path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to load benchmark data into {name!r}: the database name must contain 'bench'")
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- Loading ------------------------------------------------------------------------------------


def load(args) -> None:
    from django.db import connection, transaction

    from accounts.models import Department, User
    from obligations.models import Article, Chapter, Clause, Obligation, Regulation
    from obligations.registry import load_departments

    n = args.obligations
    if not args.reload and Obligation.objects.count() == n and Regulation.objects.filter(code="bench").exists():
        print(f"reusing the {n:,} obligations already loaded")
        return
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE obligations_auditentry, obligations_progressentry, obligations_obligation_cooperating, "
            "obligations_obligation, obligations_clause_responsible, obligations_clause_cooperating, "
            "obligations_clause, obligations_paragraph, obligations_standingresponsibility, obligations_article, "
            "obligations_chapter, obligations_regulation RESTART IDENTITY CASCADE"
        )
    load_departments()
    with transaction.atomic():
        existing = Department.objects.count()
        Department.objects.bulk_create(
            Department(
                code=f"BENCH-{i:03d}",
                name=f"基准测试单位{i:03d}",
                short_name=f"测试{i:03d}",
                level="district" if i % 3 == 0 else "city",
                kind="department",
                sort_order=1000 + i,
            )
            for i in range(max(0, BODIES - existing))
        )
        bodies = list(Department.objects.order_by("sort_order", "code").values_list("id", flat=True)[:BODIES])
        lead_dept = Department.objects.get(code="JN-GXJ")
        lead, _ = User.objects.get_or_create(username="bench-lead", defaults={"role": "lead", "department": lead_dept})
        staff, _ = User.objects.get_or_create(
            username="bench-staff", defaults={"role": "staff", "department_id": bodies[0]}
        )
        regulation = Regulation.objects.create(
            code="bench",
            title="基准测试条例",
            effective_date=dt.date(2025, 1, 1),
            source_text="…",
            source_sha256="0" * 64,
        )
        chapters = Chapter.objects.bulk_create(
            Chapter(regulation=regulation, number=i + 1, label=f"第{i + 1}章", title=f"章{i + 1}")
            for i in range(CHAPTERS)
        )
        articles = Article.objects.bulk_create(
            Article(
                regulation=regulation,
                chapter=chapters[i * CHAPTERS // ARTICLES],
                number=i + 1,
                label=f"第{i + 1}条",
                text="…",
            )
            for i in range(ARTICLES)
        )
        n_clauses = -(-n // len(bodies))
        clauses = Clause.objects.bulk_create(
            (
                Clause(
                    regulation=regulation,
                    article=articles[i % ARTICLES],
                    paragraph_number=i // ARTICLES + 1,
                    text=f"基准测试条款{i}：有关部门应当……",
                    subject="有关部门",
                    kind="duty",
                )
                for i in range(n_clauses)
            ),
            batch_size=BATCH,
        )
    print(f"registry, regulation and {len(clauses):,} clauses in {time.perf_counter() - started:.1f}s")

    today = dt.date.today()
    effective = dt.date(2025, 1, 1)
    first_due = effective + dt.timedelta(days=60)
    due_span = (today + dt.timedelta(days=210) - first_due).days
    now = dt.datetime.now(dt.UTC)
    history_start = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    span_seconds = int((now - history_start).total_seconds())

    def moment() -> dt.datetime:
        return history_start + dt.timedelta(seconds=rng.randrange(span_seconds))

    raw = connection.connection  # the psycopg 3 connection under Django's wrapper
    t0 = time.perf_counter()
    obligation_rows = []  # (id, department_id, status, moment of last change)
    with transaction.atomic(), raw.cursor() as cur:
        with cur.copy(
            "COPY obligations_obligation (id, clause_id, department_id, status, due_date, version, submitted_at,"
            " submitted_by_id, verified_at, verified_by_id, last_activity_at, superseded_reason, created_at,"
            " updated_at) FROM STDIN"
        ) as copy:
            oid = 0
            for clause in clauses:
                for body in bodies:
                    if oid >= n:
                        break
                    oid += 1
                    roll = rng.random()
                    status = (
                        "not_started"
                        if roll < 0.3
                        else "in_progress"
                        if roll < 0.7
                        else "submitted"
                        if roll < 0.8
                        else "verified"
                    )
                    due = first_due + dt.timedelta(days=rng.randrange(due_span)) if rng.random() < 0.95 else None
                    changed = moment()
                    submitted_at = changed if status in ("submitted", "verified") else None
                    verified_at = changed + dt.timedelta(days=rng.randrange(1, 15)) if status == "verified" else None
                    if verified_at and verified_at > now:
                        verified_at = now
                    copy.write_row(
                        (
                            oid,
                            clause.id,
                            body,
                            status,
                            due,
                            1,
                            submitted_at,
                            staff.id if submitted_at else None,
                            verified_at,
                            lead.id if verified_at else None,
                            moment() if status != "not_started" else None,
                            "",
                            history_start,
                            now,
                        )
                    )
                    obligation_rows.append((oid, body, status, submitted_at, verified_at))
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('obligations_obligation', 'id'),"
            " (SELECT max(id) FROM obligations_obligation))"
        )
    print(f"{len(obligation_rows):,} obligations in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    written = 0
    with transaction.atomic(), raw.cursor() as cur:
        with cur.copy(
            "COPY obligations_progressentry (obligation_id, department_id, author_id, created_at, text, percent,"
            " report_period) FROM STDIN"
        ) as copy:
            for oid, body, _status, _s, _v in obligation_rows:
                for k in range(args.progress):
                    copy.write_row((oid, body, staff.id, moment(), f"第{k + 1}次进展：按计划推进。", 10 * k, ""))
                    written += 1
    print(f"{written:,} progress entries in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    written = 0
    with transaction.atomic(), raw.cursor() as cur:
        with cur.copy(
            "COPY obligations_auditentry (obligation_id, actor_id, action, at, before, after, prev_hash, hash,"
            " algorithm) FROM STDIN"
        ) as copy:
            for oid, _body, status, submitted_at, verified_at in obligation_rows:
                if status == "not_started":
                    continue
                steps = [("not_started", "in_progress", (submitted_at or moment()) - dt.timedelta(days=20))]
                if submitted_at:
                    steps.append(("in_progress", "submitted", submitted_at))
                if verified_at:
                    steps.append(("submitted", "verified", verified_at))
                for old, new, when in steps:
                    copy.write_row(
                        (oid, staff.id, "obligation.status", when, f'{{"status": "{old}"}}', f'{{"status": "{new}"}}',
                         "", "", "sha256")
                    )  # fmt: skip
                    written += 1
    print(f"{written:,} audit entries in {time.perf_counter() - t0:.1f}s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- Baseline: one hand-written SQL query per endpoint -------------------------------------------

OPEN = "o.status NOT IN ('submitted', 'verified')"
BASE = "FROM obligations_obligation o WHERE o.superseded_at IS NULL"

BASELINE_SQL = {
    "summary": f"""
        SELECT count(*),
            count(*) FILTER (WHERE o.status = 'not_started'), count(*) FILTER (WHERE o.status = 'in_progress'),
            count(*) FILTER (WHERE o.status = 'submitted'), count(*) FILTER (WHERE o.status = 'verified'),
            count(*) FILTER (WHERE o.due_date < %(today)s AND {OPEN}),
            count(*) FILTER (WHERE o.due_date BETWEEN %(today)s AND %(yellow)s AND {OPEN}),
            count(*) FILTER (WHERE o.due_date BETWEEN %(today)s AND %(d30)s AND {OPEN}),
            count(*) FILTER (WHERE o.status = 'verified' AND o.due_date IS NOT NULL),
            count(*) FILTER (WHERE o.status = 'verified' AND o.due_date IS NOT NULL
                             AND (o.verified_at AT TIME ZONE '{TZ}')::date <= o.due_date)
        {BASE}""",
    "bodies": f"""
        SELECT d.code, d.short_name, count(*),
            count(*) FILTER (WHERE o.status = 'in_progress'), count(*) FILTER (WHERE o.status = 'submitted'),
            count(*) FILTER (WHERE o.status = 'verified'),
            count(*) FILTER (WHERE o.due_date < %(today)s AND {OPEN}),
            count(*) FILTER (WHERE o.status = 'verified' AND o.due_date IS NOT NULL
                             AND (o.verified_at AT TIME ZONE '{TZ}')::date <= o.due_date)::float
              / nullif(count(*) FILTER (WHERE o.status = 'verified' AND o.due_date IS NOT NULL), 0),
            max(o.last_activity_at)
        FROM obligations_obligation o JOIN accounts_department d ON d.id = o.department_id
        WHERE o.superseded_at IS NULL
        GROUP BY d.id ORDER BY 7 DESC, d.sort_order""",
    "chapters": f"""
        SELECT ch.number, ch.label, count(*),
            count(*) FILTER (WHERE o.status = 'not_started'), count(*) FILTER (WHERE o.status = 'in_progress'),
            count(*) FILTER (WHERE o.status = 'submitted'), count(*) FILTER (WHERE o.status = 'verified'),
            count(*) FILTER (WHERE o.due_date < %(today)s AND {OPEN})
        FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
        JOIN obligations_article a ON a.id = c.article_id LEFT JOIN obligations_chapter ch ON ch.id = a.chapter_id
        WHERE o.superseded_at IS NULL GROUP BY ch.id ORDER BY ch.number""",
    "grid": f"""
        SELECT a.number, d.code, count(*), count(*) FILTER (WHERE o.due_date < %(today)s AND {OPEN}),
            count(*) FILTER (WHERE o.due_date BETWEEN %(today)s AND %(yellow)s AND {OPEN}),
            min(CASE o.status WHEN 'not_started' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'submitted' THEN 2 ELSE 3 END)
        FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
        JOIN obligations_article a ON a.id = c.article_id JOIN accounts_department d ON d.id = o.department_id
        WHERE o.superseded_at IS NULL GROUP BY a.number, d.code, d.sort_order ORDER BY a.number, d.sort_order""",
    "overdue": f"""
        WITH page AS (
            SELECT o.id, o.clause_id, o.department_id, o.due_date {BASE} AND o.due_date < %(today)s AND {OPEN}
            ORDER BY o.due_date, (SELECT sort_order FROM accounts_department WHERE id = o.department_id), o.id
            LIMIT 100
        )
        SELECT page.id, a.label, d.short_name, page.due_date, %(today)s - page.due_date, p.text, p.created_at,
            (SELECT count(*) {BASE} AND o.due_date < %(today)s AND {OPEN})
        FROM page JOIN obligations_clause c ON c.id = page.clause_id
        JOIN obligations_article a ON a.id = c.article_id JOIN accounts_department d ON d.id = page.department_id
        LEFT JOIN LATERAL (SELECT text, created_at FROM obligations_progressentry
                           WHERE obligation_id = page.id ORDER BY created_at DESC, id DESC LIMIT 1) p ON true
        ORDER BY page.due_date, d.sort_order, page.id""",
    "queue": f"""
        SELECT o.id, a.label, d.short_name, o.due_date, o.submitted_at, u.username, o.version,
            (SELECT count(*) {BASE} AND o.status = 'submitted')
        FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
        JOIN obligations_article a ON a.id = c.article_id JOIN accounts_department d ON d.id = o.department_id
        LEFT JOIN accounts_user u ON u.id = o.submitted_by_id
        WHERE o.superseded_at IS NULL AND o.status = 'submitted'
        ORDER BY o.submitted_at NULLS FIRST, o.id LIMIT 100""",
    "trend": f"""
        WITH scoped AS (SELECT id, status, due_date, submitted_at, verified_at {BASE}),
        status_then AS (
            SELECT DISTINCT ON (e.obligation_id) e.obligation_id, e.after ->> 'status' AS status
            FROM obligations_auditentry e JOIN scoped o ON o.id = e.obligation_id
            WHERE e.action = 'obligation.status' AND o.due_date < %(today)s
              AND (e.at AT TIME ZONE '{TZ}')::date <= o.due_date
            ORDER BY e.obligation_id, e.at DESC, e.id DESC
        ), due AS (
            SELECT date_trunc('week', o.due_date::timestamp)::date AS week, count(*) AS due,
                count(*) FILTER (WHERE o.due_date < %(today)s AND NOT coalesce(
                    s.status IN ('submitted', 'verified'),
                    (o.submitted_at AT TIME ZONE '{TZ}')::date <= o.due_date
                    OR (o.verified_at AT TIME ZONE '{TZ}')::date <= o.due_date, false)) AS newly_overdue
            FROM scoped o LEFT JOIN status_then s ON s.obligation_id = o.id GROUP BY 1
        ), completed AS (
            SELECT date_trunc('week', o.verified_at AT TIME ZONE '{TZ}')::date AS week, count(*) AS n
            FROM scoped o WHERE o.status = 'verified' AND o.verified_at IS NOT NULL GROUP BY 1
        ), weeks AS (
            SELECT generate_series(date_trunc('week', %(start)s::date), %(today)s::date, '1 week')::date AS week
        )
        SELECT w.week, coalesce(c.n, 0), coalesce(d.due, 0), coalesce(d.newly_overdue, 0),
            (SELECT sum(due) FROM due) - sum(coalesce(c.n, 0)) OVER (ORDER BY w.week)
              - (SELECT coalesce(sum(n), 0) FROM completed WHERE week < (SELECT min(week) FROM weeks)),
            (SELECT sum(due) FROM due) - sum(coalesce(d.due, 0)) OVER (ORDER BY w.week)
              - (SELECT coalesce(sum(due), 0) FROM due WHERE week < (SELECT min(week) FROM weeks))
        FROM weeks w LEFT JOIN completed c ON c.week = w.week LEFT JOIN due d ON d.week = w.week
        ORDER BY w.week""",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[index]


def time_it(fn, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def measure(args) -> None:
    import psycopg
    from django.test import Client

    from accounts.models import User
    from dashboard import selectors
    from obligations.models import Obligation, today

    lead = User.objects.get(username="bench-lead")
    client = Client()
    client.force_login(lead)
    on = today()
    params = {
        "today": on,
        "yellow": selectors.add_working_days(on, selectors.yellow_working_days()),
        "d30": on + dt.timedelta(days=30),
        "start": dt.date(2025, 1, 1),
    }
    n = Obligation.objects.count()
    print(f"\n{n:,} obligations; {args.runs} runs after {args.warmup} warm-up runs; times in ms\n")
    header = f"{'endpoint':<24}{'p50':>9}{'p95':>9}{'SQL p50':>10}{'SQL p95':>10}{'p95 ratio':>11}"
    print(header)
    print("-" * len(header))
    with psycopg.connect(args.database_url) as raw:
        raw.execute(f"SET TIME ZONE '{TZ}'")
        for name in [*ENDPOINTS, "page"]:
            url = "/dashboard/" if name == "page" else f"/api/dashboard/{name}/"

            def call(url=url):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            samples = time_it(call, args.runs, args.warmup)
            p50, p95 = statistics.median(samples), percentile(samples, 0.95)
            if name == "page":
                print(f"{url:<24}{p50:>9.1f}{p95:>9.1f}{'':>10}{'':>10}{'':>11}")
                continue
            sql = BASELINE_SQL[name]

            def run_sql(sql=sql):
                raw.execute(sql, params).fetchall()

            base = time_it(run_sql, args.runs, args.warmup)
            b50, b95 = statistics.median(base), percentile(base, 0.95)
            print(f"{url:<24}{p50:>9.1f}{p95:>9.1f}{b50:>10.1f}{b95:>10.1f}{p95 / b95:>10.2f}x")


def main():
    args = parse_args()
    setup_django(args.database_url)
    load(args)
    measure(args)


if __name__ == "__main__":
    main()
