"""Peak memory and time of a large XLSX compliance report (a script, not a test).

    .venv/bin/python bench/report_bench.py --n 200000

Seeds a separate database (default tr_reports_bench on the DATABASE_URL's server) with N
obligations and a realistic history (status and due-date audit entries, progress, evidence), then
runs the export exactly as the Celery worker does (services.export_job_run) in a fresh child
process per mode and reports the child's peak RSS (resource.getrusage), time and file size:
- "current": today's state;
- "as-of": a past date, rebuilt from the audit trail (the heavier query).
The seed is not measured. Audit entries are bulk-inserted without the hash chain (the chain's
cost is per write, not per report). Run with --reuse to skip seeding an existing bench database.

The parent never imports Django and seeds in a child of its own: Linux carries ru_maxrss across
fork and exec, so a big parent would inflate every measuring child's figure. VmHWM from
/proc/self/status is printed next to it as a cross-check.
"""

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_url(base: str, name: str) -> str:
    parts = urlparse(base)
    return urlunparse(parts._replace(path=f"/{name}"))


def create_database(base_url: str, name: str, fresh: bool) -> bool:
    import psycopg

    parts = urlparse(base_url)
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not fresh:
            return False
        if exists:
            conn.execute(f'DROP DATABASE "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def drop_database(base_url: str, name: str) -> None:
    import psycopg

    admin = urlunparse(urlparse(base_url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()


def seed(n: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Department, User
    from obligations.audit import AuditAction
    from obligations.models import AuditEntry, Evidence, Obligation, ProgressEntry
    from obligations.seeding import import_regulation
    from regulations.models import Article, Clause
    from regulations.parser import read_regulation_file
    from regulations.registry import load_departments

    call_command("migrate", verbosity=0)
    load_departments()
    regulation = import_regulation(
        read_regulation_file(ROOT / "fixtures" / "jinan-digital-economy-promotion-2024.txt"), code="bench"
    ).regulation
    depts = list(Department.objects.all())
    auditor, _ = User.objects.get_or_create(
        username="bench-auditor", defaults={"role": User.Role.AUDITOR, "department": depts[0], "full_name": "审计"}
    )
    staff = User.objects.create_user(username="bench-staff", role=User.Role.STAFF, department=depts[0])
    articles = list(Article.objects.filter(regulation=regulation).order_by("number"))
    existing = Obligation.objects.count()
    clauses_needed = max(0, (n - existing + len(depts) - 1) // len(depts))
    now = timezone.now()
    start = now - dt.timedelta(days=90)
    statuses = ["not_started", "in_progress", "submitted", "verified"]
    t0 = time.monotonic()
    batch_clauses = 500
    made = existing
    for offset in range(0, clauses_needed, batch_clauses):
        with transaction.atomic():
            clauses = Clause.objects.bulk_create(
                [
                    Clause(
                        regulation=regulation,
                        article=articles[i % len(articles)],
                        paragraph_number=100 + i // 1000,
                        ordinal=i % 1000 + 1,
                        text=f"有关部门应当落实第{i}项数字经济促进措施，按期报送工作进展并提交佐证材料。",
                        subject="有关部门",
                        kind=Clause.Kind.DUTY,
                    )
                    for i in range(offset, min(offset + batch_clauses, clauses_needed))
                ]
            )
            obligations = []
            for clause in clauses:
                for k, dept in enumerate(depts):
                    if made >= n:
                        break
                    status = statuses[(clause.id + k) % 4]
                    due = (start + dt.timedelta(days=(clause.id + k) % 150)).date()
                    obligations.append(
                        Obligation(
                            clause=clause,
                            department=dept,
                            status=status,
                            due_date=due,
                            submitted_at=now - dt.timedelta(days=5) if status in ("submitted", "verified") else None,
                            submitted_by=staff if status in ("submitted", "verified") else None,
                            verified_at=now - dt.timedelta(days=2) if status == "verified" else None,
                            verified_by=auditor if status == "verified" else None,
                        )
                    )
                    made += 1
            obligations = Obligation.objects.bulk_create(obligations)
            entries, progress, evidence = [], [], []
            for o in obligations:
                entries.append(
                    AuditEntry(
                        obligation=o,
                        actor=auditor,
                        action=AuditAction.OBLIGATION_DUE_DATE,
                        at=start + dt.timedelta(days=1),
                        before={"due_date": None},
                        after={"due_date": o.due_date.isoformat(), "reason": "bench"},
                    )
                )
                if o.status != "not_started":
                    entries.append(
                        AuditEntry(
                            obligation=o,
                            actor=staff,
                            action=AuditAction.OBLIGATION_STATUS,
                            at=start + dt.timedelta(days=10),
                            before={"status": "not_started"},
                            after={"status": "in_progress"},
                        )
                    )
                    progress.append(
                        ProgressEntry(
                            obligation=o,
                            department=o.department,
                            author=staff,
                            text="已完成方案起草，正在征求意见。" * 3,
                            percent=50,
                            created_at=start + dt.timedelta(days=20),
                        )
                    )
                if o.status in ("submitted", "verified"):
                    entries.append(
                        AuditEntry(
                            obligation=o,
                            actor=staff,
                            action=AuditAction.OBLIGATION_STATUS,
                            at=now - dt.timedelta(days=5),
                            before={"status": "in_progress"},
                            after={"status": "submitted"},
                        )
                    )
                    evidence.append(
                        Evidence(
                            obligation=o,
                            department=o.department,
                            kind=Evidence.Kind.DOCUMENT,
                            description="印发实施方案",
                            document_number=f"济数字〔2026〕{o.id}号",
                            uploaded_by=staff,
                            uploaded_at=start + dt.timedelta(days=30),
                        )
                    )
                if o.status == "verified":
                    entries.append(
                        AuditEntry(
                            obligation=o,
                            actor=auditor,
                            action=AuditAction.OBLIGATION_STATUS,
                            at=now - dt.timedelta(days=2),
                            before={"status": "submitted"},
                            after={"status": "verified"},
                        )
                    )
            AuditEntry.objects.bulk_create(entries, batch_size=5000)
            ProgressEntry.objects.bulk_create(progress, batch_size=5000)
            Evidence.objects.bulk_create(evidence, batch_size=5000)
        print(f"  seeded {made} obligations ({time.monotonic() - t0:.0f}s)", flush=True)
    Obligation.objects.update(created_at=start)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def export(mode: str, fmt: str) -> dict:
    """Run in the child: one export job, measured."""
    from accounts.models import User
    from reports import services
    from reports.asof import ReportFilters
    from reports.models import ExportJob

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    auditor = User.objects.get(username="bench-auditor")
    as_of = (dt.date.today() - dt.timedelta(days=30)) if mode == "as-of" else None
    if fmt == "docx":
        return implementation_report(auditor, as_of, base)
    filters = ReportFilters(as_of=as_of)
    ctx = services.report_context(user=auditor, filters=filters)
    total = services.report_is_large(ctx=ctx)[1]
    job = ExportJob.objects.create(requested_by=auditor, format=fmt, params=filters.to_params(), total_rows=total)
    t0 = time.monotonic()
    job = services.export_job_run(job_id=job.id)
    elapsed = time.monotonic() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss
    hwm = next(
        (
            int(line.split()[1])
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM")
        ),
        None,
    )
    path = services.export_job_path(job)
    result = {
        "mode": mode,
        "format": fmt,
        "status": job.status,
        "rows": total,
        "seconds": round(elapsed, 1),
        # CPU of this process (start-up included): on a shared machine, what the wall time is not.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rss_after_setup_mb": round(base / 1024, 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "vm_hwm_mb": round(hwm / 1024, 1) if hwm else None,
        "file_mb": round(path.stat().st_size / 1024 / 1024, 1) if path else None,
    }
    if path:
        path.unlink()
    return result


def _peaks() -> tuple[resource.struct_rusage, int | None]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    hwm = next(
        (
            int(line.split()[1])
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM")
        ),
        None,
    )
    return usage, hwm


def implementation_report(auditor, as_of, base: int) -> dict:
    """The Word 实施情况报告 (reports/docx.py) of the whole regulation, as the reports page and
    `export_implementation_report` write it: the context, then the document."""
    import tempfile

    from reports import services

    t0 = time.monotonic()
    ctx = services.implementation_report_context(user=auditor, as_of=as_of, regulation="")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.docx"
        with path.open("wb") as out:
            data = services.implementation_report_write(ctx=ctx, user=auditor, out=out)
        elapsed = time.monotonic() - t0
        size = path.stat().st_size
    usage, hwm = _peaks()
    return {
        "mode": "current" if as_of is None else "as-of",
        "format": "docx",
        "status": "done",
        "rows": data.summary.total,
        "seconds": round(elapsed, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rss_after_setup_mb": round(base / 1024, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "vm_hwm_mb": round(hwm / 1024, 1) if hwm else None,
        "file_mb": round(size / 1024 / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000, help="obligations to export (default 200000)")
    parser.add_argument("--db-name", default="tr_reports_bench")
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench database as it is")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    parser.add_argument("--format", default="xlsx", choices=["xlsx", "csv", "pdf", "docx"])
    parser.add_argument("--modes", default="current,as-of")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seed-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.seed_only:
        setup_django()
        seed(args.seed_only)
        return
    if args.child:
        setup_django()
        print(json.dumps(export(args.child, args.format), ensure_ascii=False), flush=True)
        return

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracker")
    url = bench_url(base, args.db_name)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("REPORTS_ROOT", str(ROOT / "var" / "bench-exports"))
    fresh = create_database(base, args.db_name, fresh=not args.reuse)
    if fresh:
        print(f"seeding {args.n} obligations into {args.db_name}", flush=True)
        subprocess.run([sys.executable, __file__, "--seed-only", str(args.n)], check=True, env=os.environ.copy())
    for mode in args.modes.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--format", args.format],
            check=True,
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        print(out.stdout.strip().splitlines()[-1], flush=True)
    if args.drop:
        drop_database(base, args.db_name)


if __name__ == "__main__":
    main()
