"""The paths measured as they are built (issue 29, part 3): a script run by `make bench`, not a test.

    .venv/bin/python -m bench.paths_bench                  # database tr_paths_bench (BENCH_DATABASE_URL's server)
    .venv/bin/python -m bench.paths_bench --db-name NAME --reuse
    .venv/bin/python -m bench.paths_bench --db-name NAME --reuse --only ledger   # the 台账 only

On a database of its own (built once; `--reuse` keeps it):
- a large regulation imported through the real import (`obligations.seeding.import_regulation`):
  the seed regulation's articles written COPIES times over under renumbered chapters and
  articles, at least 5,000 obligations; and an amended text of it (every 20th duty reworded, the
  last duty of the body repealed, one duty added);
- one body carrying 5,000 obligations (the 台账's limit, `obligations.ledger.MAX_ROWS`) under a
  regulation of its own.

Then measures, each once (the amendment and the ledger's application in a transaction rolled
back afterwards, so that a rerun finds the same data):
- `amendment_dry_run`: `regulations.importing.preview_amendment` (target < 10 s);
- `amendment_confirm`: `obligations.services.amendments.regulation_amend` (target < 60 s);
- `ledger_export`: `obligations.ledger.ledger_export` of the 5,000 rows (target < 10 s);
- `ledger_import_preview` / `ledger_import`: `ledger_import` of the filled workbook (every row
  with 本期进展 and 完成比例), without and with applying it (target < 10 s each).
Prints one JSON line per path (name, seconds, queries, note).
"""

import argparse
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report_bench import create_database  # noqa: E402  (after the path is set, as a script)

COPIES = 16  # of the seed regulation's articles: 16 x 342 obligations = 5,472
LEDGER_ROWS = 5000
LARGE_CODE = "bench-large"
LEDGER_CODE = "bench-ledger"
LEDGER_BODY = "BENCH-LEDGER"
TARGETS = {
    "amendment_dry_run": 10,
    "amendment_confirm": 60,
    "ledger_export": 10,
    "ledger_import_preview": 10,
    "ledger_import": 10,
}


class _RollBack(Exception):
    """Raised inside a measured transaction to undo what it wrote."""


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()


# --- The texts ------------------------------------------------------------------------------------

ARTICLE = re.compile(r"^第([零〇一二三四五六七八九十百千]+)条(\s)")
# A chapter's heading: "# 第一章 总 则" (the last one of the seed text has no "#").
CHAPTER = re.compile(r"^(?:# )?第[零〇一二三四五六七八九十百千]+章\s*(.*)$")


def _seed_text() -> str:
    from django.conf import settings

    from regulations.parser import read_regulation_file

    return read_regulation_file(Path(settings.BASE_DIR) / "fixtures" / "jinan-digital-economy-promotion-2024.txt")


def large_text(copies: int = COPIES) -> str:
    """The seed regulation's chapters and articles `copies` times over, renumbered, under the
    title 基准测试大型条例, with its closing chapter (附则) once at the end."""
    from regulations.parser import int_to_chinese_numeral as cn

    lines = _seed_text().splitlines()
    head, chapters, current = [], [], None
    for line in lines:
        # The table of contents lists the chapters too: the text starts at the first "# 第…章".
        match = CHAPTER.match(line) if current is not None or line.startswith("# ") else None
        if match:
            current = [match.group(1), []]
            chapters.append(current)
        elif current is None:
            head.append(line)
        else:
            current[1].append(line)
    # The head without its table of contents: the title and the line of dates.
    title_line = next(i for i, line in enumerate(head) if line.startswith("# "))
    head = ["# 基准测试大型条例", "", *[line for line in head[title_line + 1 :] if line.startswith("(")], ""]
    *body, closing = chapters
    out, chapter_no, article_no = list(head), 0, 0

    def emit(title: str, chapter_lines: list[str]) -> None:
        nonlocal chapter_no, article_no
        chapter_no += 1
        out.extend([f"# 第{cn(chapter_no)}章 {title}", ""])
        for line in chapter_lines:
            match = ARTICLE.match(line)
            if match:
                article_no += 1
                line = f"第{cn(article_no)}条{match.group(2)}{line[match.end() :]}"
            out.append(line)

    for _ in range(copies):
        for title, chapter_lines in body:
            emit(title, chapter_lines)
    emit(*closing)
    return "\n".join(out) + "\n"


def amended_text(text: str) -> str:
    """The large text amended: every 20th article with a duty reworded (应当 → 应当依法), one duty
    added before the closing chapter, and the last article before it repealed (its duty struck
    out of the text, the article kept as a 空条 so that no article after it moves)."""
    lines = text.splitlines()
    duty_articles = [i for i, line in enumerate(lines) if ARTICLE.match(line) and "应当" in line]
    for i in duty_articles[::20]:
        lines[i] = lines[i].replace("应当", "应当依法", 1)
    last = duty_articles[-1]
    match = ARTICLE.match(lines[last])
    lines[last] = f"{lines[last][: match.end()]}（删除）"
    closing = max(i for i, line in enumerate(lines) if CHAPTER.match(line))
    # The new duty takes the number of the closing chapter's first article, which moves one on.
    rest = "\n".join(lines[closing:])
    from regulations.parser import chinese_numeral_to_int, int_to_chinese_numeral

    def renumber(m: re.Match) -> str:
        return f"第{int_to_chinese_numeral(chinese_numeral_to_int(m.group(1)) + 1)}条{m.group(2)}"

    rest = "\n".join(ARTICLE.sub(renumber, line) for line in rest.splitlines())
    first_closing = next(ARTICLE.match(line) for line in lines[closing:] if ARTICLE.match(line))
    added = f"第{first_closing.group(1)}条 市工业和信息化部门应当每年发布本市数字经济发展基准测试报告。"
    return "\n".join([*lines[:closing], added, "", rest]) + "\n"


# --- The data -------------------------------------------------------------------------------------


def seed() -> None:
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Department, User
    from obligations.models import Obligation
    from obligations.seeding import import_regulation
    from regulations.models import Article, Clause, Regulation
    from regulations.registry import load_departments

    call_command("migrate", verbosity=0)
    load_departments()
    gxj = Department.objects.get(code="JN-GXJ")
    User.objects.create(username="bench-lead", role="lead", department=gxj, password="!")  # noqa: S106
    t0 = time.monotonic()
    report = import_regulation(large_text(), code=LARGE_CODE)
    large = report.regulation
    print(
        f"  large regulation: {large.clauses.count()} clauses, "
        f"{Obligation.objects.filter(clause__regulation=large).count()} obligations ({time.monotonic() - t0:.0f} s)",
        flush=True,
    )

    # The ledger's body: 5,000 obligations under a regulation of its own (100 articles x 50 项).
    body = Department.objects.create(
        code=LEDGER_BODY,
        name="基准测试台账单位",
        short_name="台账单位",
        level=gxj.level,
        kind=gxj.kind,
        sort_order=9999,
    )
    User.objects.create(username="bench-ledger-staff", role="staff", department=body, password="!")  # noqa: S106
    reg = Regulation.objects.create(
        code=LEDGER_CODE, title="基准测试台账条例", effective_date=dt.date(2025, 1, 1), source_text="", source_sha256=""
    )
    from regulations.parser import int_to_chinese_numeral as cn

    articles = Article.objects.bulk_create(
        Article(regulation=reg, number=n, label=f"第{cn(n)}条", text=f"第{cn(n)}条 台账基准测试条文。")
        for n in range(1, LEDGER_ROWS // 50 + 1)
    )
    clauses = Clause.objects.bulk_create(
        Clause(
            regulation=reg,
            article=article,
            paragraph_number=1,
            ordinal=k,
            text=f"{body.name}应当完成第{k}项台账基准测试工作。",
            subject=body.name,
            kind=Clause.Kind.DUTY,
        )
        for article in articles
        for k in range(1, 51)
    )
    today = dt.date.today()
    Obligation.objects.bulk_create(
        Obligation(
            clause=clause,
            department=body,
            status=Obligation.Status.IN_PROGRESS,
            due_date=today + dt.timedelta(days=30 + i % 300),
        )
        for i, clause in enumerate(clauses)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  ledger body: {Obligation.objects.filter(department=body).count()} obligations", flush=True)


# --- The measurements -----------------------------------------------------------------------------


def _timed(name: str, fn, note=lambda value: "") -> dict:
    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    started, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        value = fn()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    target = TARGETS.get(name)
    return {
        "name": name,
        "seconds": round(seconds, 2),
        # This process's CPU (the database's is not in it): on a shared machine, what the wall time is not.
        "cpu_seconds": round(cpu, 2),
        "queries": queries,
        "target_seconds": target,
        "met": None if target is None else seconds < target,
        "note": note(value),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _rolled_back(fn):
    """Run fn in a transaction and undo it; return fn's value."""
    from django.db import transaction

    box = {}
    try:
        with transaction.atomic():
            box["value"] = fn()
            raise _RollBack
    except _RollBack:
        pass
    return box["value"]


def fill_ledger(data: bytes) -> bytes:
    """Every row of the exported ledger filled in as an official would in Excel."""
    from openpyxl import load_workbook

    from obligations import ledger

    wb = load_workbook(io.BytesIO(data))
    ws = wb[ledger.SHEET]
    columns = {ws.cell(row=ledger.FIRST_ROW - 1, column=c).value: c for c in range(1, ws.max_column + 1)}
    for r in range(ledger.FIRST_ROW, ws.max_row + 1):
        if ws.cell(row=r, column=columns[ledger.ID.header]).value is None:
            continue
        ws.cell(row=r, column=columns[ledger.PROGRESS.header]).value = "本期已召开专题会议，形成工作方案并部署落实。"
        ws.cell(row=r, column=columns[ledger.PERCENT.header]).value = 60
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def measure(only: str = "") -> list[dict]:
    """Every path, or only those whose name starts with `only` ("ledger", "amendment")."""
    paths = [measure_amendment, measure_ledger]
    return [r for fn in paths if not only or fn.__name__.removeprefix("measure_").startswith(only) for r in fn()]


def measure_amendment() -> list[dict]:
    from accounts.models import User
    from obligations.models import Obligation
    from obligations.services.amendments import regulation_amend
    from regulations.importing import preview_amendment
    from regulations.models import Regulation

    lead = User.objects.get(username="bench-lead")
    large = Regulation.objects.get(code=LARGE_CODE)
    obligations = Obligation.objects.filter(clause__regulation=large, superseded_at__isnull=True).count()
    text = amended_text(large.source_text)
    results = [
        _timed(
            "amendment_dry_run",
            lambda: preview_amendment(text, regulation=large),
            lambda value: f"{obligations:,} obligations; lineage {value[2].counts()}",
        ),
        _timed(
            "amendment_confirm",
            lambda: _rolled_back(
                lambda: regulation_amend(regulation=large, text=text, effective=dt.date.today(), actor=lead)
            ),
            lambda value: f"{obligations:,} obligations; outcomes {value.outcomes}",
        ),
    ]
    return results


def measure_ledger() -> list[dict]:
    from accounts.models import Department, User
    from obligations import ledger

    results = []
    body = Department.objects.get(code=LEDGER_BODY)
    staff = User.objects.get(username="bench-ledger-staff")
    out = io.BytesIO()
    results.append(
        _timed(
            "ledger_export",
            lambda: ledger.ledger_export(actor=staff, department=body, out=out),
            lambda rows: f"{rows:,} rows, {len(out.getvalue()) // 1024} KiB",
        )
    )
    filled = fill_ledger(out.getvalue())
    results.append(
        _timed(
            "ledger_import_preview",
            lambda: ledger.ledger_import(actor=staff, data=filled, file_name="bench.xlsx", apply=False),
            lambda r: f"{len(r.rows):,} rows, {len(r.changed):,} to change, ok {r.ok}",
        )
    )
    results.append(
        _timed(
            "ledger_import",
            lambda: _rolled_back(
                lambda: ledger.ledger_import(actor=staff, data=filled, file_name="bench.xlsx", apply=True)
            ),
            lambda r: f"{len(r.rows):,} rows applied {r.applied}, each a progress entry through the services",
        )
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db-name", default="tr_paths_bench")
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench database as it is")
    parser.add_argument("--only", default="", help="only the paths whose name starts with this (ledger, amendment)")
    parser.add_argument("--child", choices=["seed", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        setup_django()
        if args.child == "seed":
            seed()
        else:
            for result in measure(args.only):
                print(json.dumps(result, ensure_ascii=False), flush=True)
        return
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracker"
    )
    os.environ["DATABASE_URL"] = urlunparse(urlparse(base)._replace(path=f"/{args.db_name}"))
    os.environ.setdefault("REPORTS_ROOT", str(ROOT / "var" / "bench-exports"))
    if create_database(base, args.db_name, fresh=not args.reuse):
        print(f"seeding {args.db_name}", flush=True)
        subprocess.run([sys.executable, "-m", "bench.paths_bench", "--child", "seed"], check=True, cwd=ROOT)
    only = ["--only", args.only] if args.only else []
    subprocess.run([sys.executable, "-m", "bench.paths_bench", "--child", "measure", *only], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
