"""The benchmark scenarios, each with the hand-written SQL that computes the same answer.

Endpoints are called in-process through Django's test client (middleware, view, serializer and
database included; no network), so the figures are the app's own cost. The load scenario is the
exception: it runs gunicorn with its production settings and 50 concurrent HTTP clients.
"""

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .run import ROOT, Result, measure

# The staff task list: one body's obligations, most urgent first, one page of 20.
TASK_LIST_SQL = """
SELECT o.id, o.status, o.due_date, c.text, a.number, c.paragraph_number, d.short_name,
       count(*) OVER () AS total
FROM obligations_obligation o
JOIN obligations_clause c ON c.id = o.clause_id
JOIN obligations_article a ON a.id = c.article_id
JOIN accounts_department d ON d.id = o.department_id
WHERE o.department_id = %s AND o.superseded_at IS NULL
ORDER BY o.due_date NULLS LAST, o.id
LIMIT 20
"""

# One obligation with its progress and evidence.
DETAIL_SQL = """
SELECT o.id, o.status, o.due_date, c.text,
       (SELECT json_agg(p ORDER BY p.created_at DESC) FROM (
           SELECT id, text, percent, created_at FROM obligations_progressentry
           WHERE obligation_id = o.id ORDER BY created_at DESC LIMIT 20) p),
       (SELECT json_agg(e) FROM obligations_evidence e WHERE e.obligation_id = o.id)
FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
WHERE o.id = %s
"""

DASHBOARD_SUMMARY_SQL = """
SELECT count(*) FILTER (WHERE status = 'not_started'), count(*) FILTER (WHERE status = 'in_progress'),
       count(*) FILTER (WHERE status = 'submitted'), count(*) FILTER (WHERE status = 'verified'),
       count(*) FILTER (WHERE due_date < %(today)s AND status NOT IN ('submitted', 'verified')),
       count(*) FILTER (WHERE due_date BETWEEN %(today)s AND %(today)s + 30
                        AND status NOT IN ('submitted', 'verified')),
       count(*) FILTER (WHERE status = 'verified' AND verified_at::date <= due_date)
FROM obligations_obligation WHERE superseded_at IS NULL
"""

DASHBOARD_BODIES_SQL = """
SELECT d.id, d.name, count(*), count(*) FILTER (WHERE o.status = 'in_progress'),
       count(*) FILTER (WHERE o.status = 'submitted'), count(*) FILTER (WHERE o.status = 'verified'),
       count(*) FILTER (WHERE o.due_date < %(today)s AND o.status NOT IN ('submitted', 'verified')),
       max(o.last_activity_at)
FROM obligations_obligation o JOIN accounts_department d ON d.id = o.department_id
WHERE o.superseded_at IS NULL GROUP BY d.id, d.name ORDER BY d.name
"""

DASHBOARD_CHAPTERS_SQL = """
SELECT ch.id, ch.title, count(*), count(*) FILTER (WHERE o.status = 'verified')
FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
JOIN obligations_article a ON a.id = c.article_id JOIN obligations_chapter ch ON ch.id = a.chapter_id
WHERE o.superseded_at IS NULL GROUP BY ch.id, ch.title
"""

DASHBOARD_GRID_SQL = """
SELECT a.number, o.department_id, min(CASE o.status WHEN 'not_started' THEN 0 WHEN 'in_progress' THEN 1
       WHEN 'submitted' THEN 2 ELSE 3 END), count(*)
FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
JOIN obligations_article a ON a.id = c.article_id
WHERE o.superseded_at IS NULL AND c.regulation_id = %(regulation)s GROUP BY a.number, o.department_id
"""

DASHBOARD_OVERDUE_SQL = """
SELECT o.id, o.due_date, d.name,
       (SELECT text FROM obligations_progressentry p WHERE p.obligation_id = o.id ORDER BY created_at DESC LIMIT 1)
FROM obligations_obligation o JOIN accounts_department d ON d.id = o.department_id
WHERE o.superseded_at IS NULL AND o.due_date < %(today)s AND o.status NOT IN ('submitted', 'verified')
ORDER BY o.due_date LIMIT 100
"""

DASHBOARD_TREND_SQL = """
SELECT date_trunc('week', verified_at AT TIME ZONE 'Asia/Shanghai'), count(*)
FROM obligations_obligation WHERE verified_at IS NOT NULL AND superseded_at IS NULL GROUP BY 1 ORDER BY 1
"""

DASHBOARD_QUEUE_SQL = """
SELECT o.id, o.submitted_at, d.name, c.text FROM obligations_obligation o
JOIN accounts_department d ON d.id = o.department_id JOIN obligations_clause c ON c.id = o.clause_id
WHERE o.status = 'submitted' AND o.superseded_at IS NULL ORDER BY o.submitted_at LIMIT 100
"""


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _get(client, url: str, result_errors: list):
    def call():
        response = client.get(url, HTTP_ACCEPT="application/json")
        if response.status_code != 200:
            result_errors.append(response.status_code)
        return response

    return call


def endpoint(name, client, url, sql, params, runs) -> Result:
    errors: list[int] = []
    probe = client.get(url, HTTP_ACCEPT="application/json")
    if probe.status_code == 404:
        return Result(name, note=f"{url} not available in this build (404)")
    result = measure(name, _get(client, url, errors), sql, params, runs)
    result.errors = len(errors)
    if errors:
        result.note = f"status codes: {sorted(set(errors))}"
    return result


def run_all(args, selected: set[str] | None) -> list[Result]:
    from django.db.models import Count

    from accounts.models import User
    from obligations.models import Obligation, Regulation, today

    runs = args.runs
    lead = User.objects.filter(role="lead").order_by("id").first()
    busiest = Obligation.objects.values("department_id").annotate(n=Count("id")).order_by("-n").first()["department_id"]
    staff = User.objects.filter(role="staff").order_by("id").first()
    staff.department_id = busiest
    staff.save(update_fields=["department"])
    sample = Obligation.objects.filter(department_id=busiest).order_by("id")[10]
    regulation = (
        Regulation.objects.filter(code__startswith="bench-").order_by("id").first() or Regulation.objects.first()
    )
    params = {"today": today(), "regulation": regulation.id}
    staff_client, lead_client = _client(staff), _client(lead)
    from accounts.models import Department

    code = Department.objects.get(id=busiest).code

    plan = [
        (
            "task_list",
            lambda: endpoint(
                "task_list", staff_client, f"/api/obligations/?department={code}", TASK_LIST_SQL, [busiest], runs
            ),
        ),
        (
            "obligation_detail",
            lambda: endpoint(
                "obligation_detail", staff_client, f"/api/obligations/{sample.id}/", DETAIL_SQL, [sample.id], runs
            ),
        ),
        (
            "obligation_progress",
            lambda: endpoint(
                "obligation_progress",
                staff_client,
                f"/api/obligations/{sample.id}/progress/",
                DETAIL_SQL,
                [sample.id],
                runs,
            ),
        ),
        (
            "obligation_evidence",
            lambda: endpoint(
                "obligation_evidence",
                staff_client,
                f"/api/obligations/{sample.id}/evidence/",
                DETAIL_SQL,
                [sample.id],
                runs,
            ),
        ),
    ]
    for key, sql in [
        ("summary", DASHBOARD_SUMMARY_SQL),
        ("bodies", DASHBOARD_BODIES_SQL),
        ("chapters", DASHBOARD_CHAPTERS_SQL),
        ("grid", DASHBOARD_GRID_SQL),
        ("overdue", DASHBOARD_OVERDUE_SQL),
        ("trend", DASHBOARD_TREND_SQL),
        ("queue", DASHBOARD_QUEUE_SQL),
    ]:
        url = f"/api/dashboard/{key}/" + (f"?regulation={regulation.code}" if key == "grid" else "")
        plan.append(
            (
                f"dashboard_{key}",
                lambda url=url, sql=sql, key=key: endpoint(f"dashboard_{key}", lead_client, url, sql, params, runs),
            )
        )
    plan.append(("reminder_sweep", lambda: reminder_sweep()))
    plan.append(("xlsx_export", lambda: xlsx_export()))
    if not args.skip_load:
        plan.append(("load_50_clients", lambda: load_test(staff, code, sample.id)))

    results = []
    for name, run in plan:
        if selected and name not in selected:
            continue
        print(f"  running {name} …", flush=True)
        try:
            results.append(run())
        except Exception as exc:  # a broken scenario is reported, the others still run
            results.append(Result(name, errors=1, note=f"{type(exc).__name__}: {exc}"[:200]))
    return results


def reminder_sweep() -> Result:
    """The whole sweep, run once, with the queries it makes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        from notifications.reminders import sweep
    except ImportError:
        return Result("reminder_sweep", note="reminders not available in this build")
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        outcome = sweep()
    elapsed = (time.perf_counter() - start) * 1000
    return Result(
        "reminder_sweep",
        p50_ms=round(elapsed),
        p95_ms=round(elapsed),
        queries=len(ctx.captured_queries),
        note=str(outcome)[:200],
    )


def xlsx_export() -> Result:
    """A whole-regulation XLSX export in a process of its own, to read its peak memory."""
    out = Path(tempfile.mkdtemp()) / "report.xlsx"
    cmd = [sys.executable, "manage.py", "export_compliance_report", "--format", "xlsx", "-o", str(out)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ.copy())
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        return Result(
            "xlsx_export",
            errors=1,
            note=(proc.stderr or proc.stdout).strip().splitlines()[-1][:200]
            if (proc.stderr or proc.stdout)
            else "failed",
        )
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return Result(
        "xlsx_export",
        p50_ms=round(elapsed),
        p95_ms=round(elapsed),
        peak_mb=round(peak_kb / 1024, 1),
        note=f"{out.stat().st_size // 1024} KiB",
    )


def load_test(staff, code: str, obligation_id: int, clients: int = 50, seconds: int = 60) -> Result:
    """50 clients for 60 s on the list and detail endpoints against gunicorn (DEBUG off)."""
    import http.client
    import socket

    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=staff)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DB_CONN_MAX_AGE": "60",
    }
    workers = str(int(os.environ.get("BENCH_GUNICORN_WORKERS", "4")))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tracker.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            workers,
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        paths = [f"/api/obligations/?department={code}", f"/api/obligations/{obligation_id}/"]
        headers = {"Authorization": f"Token {token.key}", "Accept": "application/json", "Host": "127.0.0.1"}
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + seconds

        def client(n: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            i = n
            while time.monotonic() < deadline:
                path = paths[i % len(paths)]
                i += 1
                start = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                    status = str(response.status)
                except (OSError, http.client.HTTPException) as exc:
                    ok, status = False, type(exc).__name__
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    latencies.append((time.perf_counter() - start) * 1000)
                    if not ok:
                        errors.append(status)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    from .run import percentile

    rps = len(latencies) / seconds
    return Result(
        "load_50_clients",
        p50_ms=round(percentile(latencies, 50), 1) if latencies else None,
        p95_ms=round(percentile(latencies, 95), 1) if latencies else None,
        errors=len(errors),
        note=f"{rps:.0f} requests/s over {seconds} s, {clients} clients, gunicorn {workers} workers"
        + (f"; errors: {sorted(set(errors))}" if errors else ""),
        extra={"rps": round(rps, 1)},
    )
