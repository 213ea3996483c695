"""Bulk data for the benchmarks: a province's worth of obligations, through PostgreSQL's COPY.

Default scale (1.0): 16 cities x (city government, 12 districts, 27 departments), 20 regulations
(a city running many regulations, each with the seed regulation's articles and every duty clause of
it twice, as a second 项: about 10,000 obligations each), 200,000 obligations, 2,000,000 progress entries,
300,000 evidence records (metadata; files are not written), 100 users, and the ledger of the
reminders sent for every obligation that fell overdue. `--scale 0.01` makes the
same shape at 1/100.

Run against a database of its own, never the one you work in:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench python -m bench.generate --scale 0.1
"""

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

CITIES = [
    "济南",
    "青岛",
    "淄博",
    "枣庄",
    "东营",
    "烟台",
    "潍坊",
    "济宁",
    "泰安",
    "威海",
    "日照",
    "临沂",
    "德州",
    "聊城",
    "滨州",
    "菏泽",
]
REGULATIONS = 20
# Each bench regulation holds the template's duty clauses this many times (the copies as further
# 项 of the same article): 20 regulations reach the 200,000 obligations of full scale, and a
# regulation keeps the template's articles, so the grid keeps its shape (cells count 2).
CLAUSE_COPIES = 2
PROGRESS_PER_OBLIGATION = 10
EVIDENCE_PER_OBLIGATION = 1.5
USERS = 100
FULL_OBLIGATIONS = 200_000
STATUSES = ["not_started"] * 3 + ["in_progress"] * 4 + ["submitted"] + ["verified"] * 2


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def generate(scale: float, seed: int = 7) -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Department, User
    from obligations.models import Obligation
    from obligations.seeding import import_regulation
    from regulations.parser import read_regulation_file
    from regulations.registry import load_departments

    if connection.vendor != "postgresql":
        raise SystemExit("the benchmark data needs PostgreSQL (set DATABASE_URL)")
    call_command("migrate", verbosity=0)
    if Obligation.objects.exists():
        raise SystemExit("this database already has obligations: use an empty benchmark database")
    rng = random.Random(seed)
    started = time.monotonic()
    target = max(1, int(FULL_OBLIGATIONS * scale))
    load_departments()
    seed_path = Path(settings.BASE_DIR) / "fixtures" / "jinan-digital-economy-promotion-2024.txt"
    template = import_regulation(read_regulation_file(seed_path), code="bench-template").regulation
    jinan = list(Department.objects.order_by("sort_order"))
    log(f"template imported: {template.clauses.count()} clauses")

    # Bodies of the other 15 cities, named after Jinan's registry.
    bodies_by_city: dict[int, dict[str, Department]] = {0: {d.code.removeprefix("JN-"): d for d in jinan}}
    new = []
    for index, city in enumerate(CITIES[1:], start=1):
        for d in jinan:
            new.append(
                Department(
                    code=f"C{index:02d}-{d.code.removeprefix('JN-')}",
                    name=d.name.replace("济南", city, 1) if "济南" in d.name else f"{city}市{d.name}",
                    short_name=d.short_name,
                    level=d.level,
                    kind=d.kind,
                    phrases=[],
                    sort_order=1000 * index + d.sort_order,
                )
            )
    Department.objects.bulk_create(new, batch_size=1000)
    for d in Department.objects.exclude(code__startswith="JN-"):
        city, suffix = d.code.split("-", 1)
        bodies_by_city.setdefault(int(city[1:]), {})[suffix] = d

    users = []
    all_bodies = [d for city in bodies_by_city.values() for d in city.values()]
    for i in range(USERS):
        role = "lead" if i < 2 else "auditor" if i < 4 else "staff"
        dept = bodies_by_city[0]["GXJ"] if role != "staff" else all_bodies[i * 7 % len(all_bodies)]
        users.append(User(username=f"bench{i:03d}", role=role, department=dept, password="!"))  # noqa: S106 (unusable password)
    User.objects.bulk_create(users)
    user_ids = list(User.objects.filter(username__startswith="bench").values_list("id", flat=True))

    # Regulations, each a copy of the template's structure with every duty clause CLAUSE_COPIES
    # times: 20, or more when 20 cannot hold the target.
    clause_templates = list(
        template.clauses.filter(kind="duty").prefetch_related("responsible").select_related("article")
    )
    clause_templates = [(c, copy) for copy in range(CLAUSE_COPIES) for c in clause_templates]
    suffixes = [[d.code.removeprefix("JN-") for d in t.responsible.all()] for t, _copy in clause_templates]
    per_regulation = sum(
        1 for city in range(len(CITIES)) for bodies in suffixes for sfx in bodies if sfx in bodies_by_city[city]
    )
    regulation_count = max(REGULATIONS, -(-target // per_regulation)) if scale >= 1 else REGULATIONS
    regulations = [_copy_regulation(template, clause_templates, r) for r in range(regulation_count)]
    log(f"{regulation_count} regulations, {len(all_bodies)} bodies, {len(user_ids)} users")

    # Every (regulation, city, clause, body) combination, sampled evenly down to the target so
    # that a small scale keeps the shape of the full one.
    combos = [
        (clause, bodies_by_city[city][sfx])
        for clauses in regulations
        for city in range(len(CITIES))
        for clause, bodies in zip(clauses, suffixes, strict=False)
        for sfx in bodies
        if sfx in bodies_by_city[city]
    ]
    step = len(combos) / target
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range(min(target, len(combos))):
        clause, body = combos[int(i * step)]
        status = rng.choice(STATUSES)
        due = today + dt.timedelta(days=rng.randint(-200, 365))
        activity = now - dt.timedelta(days=rng.randint(0, 300))
        submitted = activity if status in ("submitted", "verified") else None
        verified = activity + dt.timedelta(days=rng.randint(0, 10)) if status == "verified" else None
        # Handed in after its date: the date it missed stays on the row
        # (obligations.services.locking._keep_missed_due_date).
        missed = due if submitted is not None and due < today and submitted.date() > due else None
        rows.append((clause.id, body.id, status, due, 1, submitted, verified, activity, missed, now, now))
    with connection.cursor() as cursor:
        with (
            cursor.connection.cursor() as raw,
            raw.copy(
                "COPY obligations_obligation (clause_id, department_id, status, due_date, version, submitted_at, "
                "verified_at, last_activity_at, missed_due_date, created_at, updated_at, superseded_reason) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row((*row, ""))
    log(f"{len(rows)} obligations")

    # The ledger of the reminders already sent: every obligation that fell overdue had its
    # first-day-overdue reminder at 09:00 the day after its date (the dashboard's overdue list
    # shows the last one).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notifications_reminder (target_type, target_id, stage, due_date, recipient_id, "
            "obligation_id, status, claim_token, claimed_at, scheduled_for, sent_at) "
            "SELECT 'obligation', o.id, 'overdue:1', o.due_date, %s, o.id, 'sent', gen_random_uuid(), t.at, "
            "o.due_date + 1, t.at FROM obligations_obligation o "
            "CROSS JOIN LATERAL (SELECT ((o.due_date + 1) + time '09:00') AT TIME ZONE 'Asia/Shanghai' AS at) t "
            "WHERE o.due_date < %s AND (o.missed_due_date IS NOT NULL OR o.status NOT IN ('submitted', 'verified'))",
            [user_ids[0], today],
        )
        log(f"{cursor.rowcount} reminders sent")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, department_id, last_activity_at FROM obligations_obligation "
            "WHERE last_activity_at IS NOT NULL ORDER BY id"
        )
        obligations = cursor.fetchall()
    progress = evidence = 0
    with connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        with raw.copy(
            "COPY obligations_progressentry (obligation_id, department_id, author_id, created_at, text, percent, "
            "report_period) FROM STDIN"
        ) as copy:
            for obl_id, dept_id, activity in obligations:
                for k in range(PROGRESS_PER_OBLIGATION):
                    when = activity - dt.timedelta(days=k * 7)
                    copy.write_row(
                        (
                            obl_id,
                            dept_id,
                            user_ids[(obl_id + k) % len(user_ids)],
                            when,
                            f"第{k + 1}次工作进展：已召开专题会议研究部署，形成工作方案。",
                            min(100, 10 * (k + 1)),
                            "",
                        )
                    )
                    progress += 1
        log(f"{progress} progress entries")
        with raw.copy(
            "COPY obligations_evidence (obligation_id, department_id, kind, description, file, original_name, "
            "content_type, size, digest, digest_algorithm, url, document_number, uploaded_by_id, uploaded_at) "
            "FROM STDIN"
        ) as copy:
            for obl_id, dept_id, activity in obligations:
                count = 1 if obl_id % 2 else 2  # 1.5 on average
                for k in range(count):
                    digest = f"{(obl_id * 1_000_003 + k):064x}"[-64:]
                    copy.write_row(
                        (
                            obl_id,
                            dept_id,
                            "file" if k == 0 else "document",
                            "工作方案及会议纪要",
                            "",
                            f"工作方案-{obl_id}.pdf" if k == 0 else "",
                            "application/pdf" if k == 0 else "",
                            2048 if k == 0 else None,
                            digest if k == 0 else "",
                            "sha256" if k == 0 else "",
                            "",
                            "" if k == 0 else f"济工信发〔2025〕{obl_id % 999 + 1}号",
                            user_ids[obl_id % len(user_ids)],
                            activity,
                        )
                    )
                    evidence += 1
        log(f"{evidence} evidence records")
        raw.close()
        cursor.execute("ANALYZE")
    elapsed = time.monotonic() - started
    log(f"done in {elapsed:.0f} s")
    return {"obligations": len(rows), "progress": progress, "evidence": evidence, "seconds": round(elapsed, 1)}


def _copy_regulation(template, clause_templates, r: int) -> list:
    from regulations.models import Article, Chapter, Clause, Paragraph, Regulation

    reg = Regulation.objects.create(
        code=f"bench-{r:02d}",
        title=f"基准测试条例第{r + 1:02d}号",
        effective_date=dt.date(2023 + r % 3, 1, 1),
        source_text="",
        source_sha256="",
    )
    chapters = {
        c.number: Chapter.objects.create(regulation=reg, number=c.number, label=c.label, title=c.title)
        for c in template.chapters.all()
    }
    articles = {
        a.number: Article.objects.create(
            regulation=reg,
            chapter=chapters.get(a.chapter.number) if a.chapter else None,
            number=a.number,
            label=a.label,
            text=a.text,
        )
        for a in template.articles.all().select_related("chapter")
    }
    Paragraph.objects.bulk_create(
        Paragraph(article=articles[p.article.number], number=p.number, text=p.text)
        for p in Paragraph.objects.filter(article__regulation=template).select_related("article")
    )
    return Clause.objects.bulk_create(
        Clause(
            regulation=reg,
            article=articles[c.article.number],
            paragraph_number=c.paragraph_number,
            ordinal=c.ordinal + 100 * copy,  # a copy is a further 项 of the same article
            text=c.text,
            subject=c.subject,
            kind=c.kind,
        )
        for c, copy in clause_templates
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    setup_django()
    print(generate(args.scale))


if __name__ == "__main__":
    main()
