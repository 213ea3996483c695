"""The benchmark scenarios, each with the hand-written SQL that computes the same answer.

Endpoints are called in-process through Django's test client (middleware, view, serializer and
database included; no network), so the figures are the app's own cost. The load scenario is the
exception: it runs gunicorn with its production settings and 50 concurrent HTTP clients.
"""

import datetime as dt
import functools
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .measure import ROOT, Result, measure

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

# The same page with a regulation chosen (?regulation=): the body's obligations under one regulation.
TASK_LIST_REGULATION_SQL = TASK_LIST_SQL.replace(
    "WHERE o.department_id = %s", "WHERE o.department_id = %s AND c.regulation_id = %s", 1
)

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

# The progress feed (/api/progress/): a page of 20 entries after a position, with their obligation.
FEED_SQL = """
SELECT p.id, p.created_at, p.text, p.percent, o.id, a.number, c.paragraph_number, d.code, u.full_name
FROM obligations_progressentry p
JOIN obligations_obligation o ON o.id = p.obligation_id
JOIN obligations_clause c ON c.id = o.clause_id
JOIN obligations_article a ON a.id = c.article_id
JOIN accounts_department d ON d.id = o.department_id
JOIN accounts_user u ON u.id = p.author_id
WHERE p.id > %s
ORDER BY p.id
LIMIT 21
"""

# The feed's first page also carries the count of every entry the caller may see (the lead: all).
FEED_FIRST_SQL = FEED_SQL.replace(
    "SELECT p.id,", "SELECT (SELECT count(*) FROM obligations_progressentry) AS total, p.id,", 1
)


# The feed's first page with a regulation chosen: its entries and their count.
FEED_FIRST_REGULATION_SQL = """
SELECT (SELECT count(*) FROM obligations_progressentry p2
        JOIN obligations_obligation o2 ON o2.id = p2.obligation_id
        JOIN obligations_clause c2 ON c2.id = o2.clause_id WHERE c2.regulation_id = %s) AS total,
       p.id, p.created_at, p.text, p.percent, o.id, a.number, c.paragraph_number, d.code, u.full_name
FROM obligations_progressentry p
JOIN obligations_obligation o ON o.id = p.obligation_id
JOIN obligations_clause c ON c.id = o.clause_id
JOIN obligations_article a ON a.id = c.article_id
JOIN accounts_department d ON d.id = o.department_id
JOIN accounts_user u ON u.id = p.author_id
WHERE c.regulation_id = %s
ORDER BY p.id
LIMIT 21
"""


def feed_cursor(entry_id: int) -> str:
    """The cursor a next link would carry after entry `entry_id` (core.pagination's encoding)."""
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps({"p": [entry_id]}).encode()).decode().rstrip("=")


# The dashboard: for each endpoint, one hand-written query that returns the same figures the
# endpoint does (every counter, the lights' inputs, the page of rows and its total count).
TZ = "Asia/Shanghai"
OPEN = "o.status NOT IN ('submitted', 'verified')"  # Obligation.CLOSED_STATUSES
ACTIVE = "FROM obligations_obligation o WHERE o.superseded_at IS NULL"
# obligations.figures: handed in (submitted, or verified) on or before the due date / after it.
HANDED = (
    "(CASE WHEN o.status = 'verified' THEN coalesce(o.submitted_at, o.verified_at)"
    f" WHEN o.status = 'submitted' THEN o.submitted_at END AT TIME ZONE '{TZ}')::date"
)
ON_TIME = f"o.due_date IS NOT NULL AND {HANDED} <= o.due_date"
LATE = f"o.due_date IS NOT NULL AND {HANDED} > o.due_date"
OVERDUE = f"o.due_date < %(today)s AND {OPEN}"

DASHBOARD_SQL = {
    "summary": f"""
        SELECT count(*),
            count(*) FILTER (WHERE o.status = 'not_started'), count(*) FILTER (WHERE o.status = 'in_progress'),
            count(*) FILTER (WHERE o.status = 'submitted'), count(*) FILTER (WHERE o.status = 'verified'),
            count(*) FILTER (WHERE o.due_date < %(today)s AND {OPEN}),
            count(*) FILTER (WHERE o.due_date BETWEEN %(today)s AND %(yellow)s AND {OPEN}),
            count(*) FILTER (WHERE o.due_date BETWEEN %(today)s AND %(d30)s AND {OPEN}),
            count(*) FILTER (WHERE {ON_TIME}),
            count(*) FILTER (WHERE {LATE})
        {ACTIVE}""",
    "bodies": f"""
        SELECT d.code, d.short_name, d.level, count(*),
            count(*) FILTER (WHERE o.status = 'not_started'), count(*) FILTER (WHERE o.status = 'in_progress'),
            count(*) FILTER (WHERE o.status = 'submitted'), count(*) FILTER (WHERE o.status = 'verified'),
            count(*) FILTER (WHERE o.due_date < %(today)s AND {OPEN}),
            count(*) FILTER (WHERE o.due_date BETWEEN %(today)s AND %(yellow)s AND {OPEN}),
            count(*) FILTER (WHERE {ON_TIME})::float
              / nullif(count(*) FILTER (WHERE {ON_TIME} OR {LATE} OR {OVERDUE}), 0),
            %(today)s - max(o.last_activity_at AT TIME ZONE '{TZ}')::date
        FROM obligations_obligation o JOIN accounts_department d ON d.id = o.department_id
        WHERE o.superseded_at IS NULL
        GROUP BY d.id ORDER BY 9 DESC, d.sort_order""",
    "chapters": f"""
        SELECT ch.regulation_id, ch.number, ch.label, ch.title, count(*),
            count(*) FILTER (WHERE o.status = 'not_started'), count(*) FILTER (WHERE o.status = 'in_progress'),
            count(*) FILTER (WHERE o.status = 'submitted'), count(*) FILTER (WHERE o.status = 'verified'),
            count(*) FILTER (WHERE o.due_date < %(today)s AND {OPEN}),
            count(*) FILTER (WHERE o.due_date BETWEEN %(today)s AND %(yellow)s AND {OPEN})
        FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
        JOIN obligations_article a ON a.id = c.article_id LEFT JOIN obligations_chapter ch ON ch.id = a.chapter_id
        WHERE o.superseded_at IS NULL GROUP BY ch.id ORDER BY ch.regulation_id, ch.number""",
    "grid": f"""
        SELECT a.number, a.label, d.code, d.short_name, count(*),
            count(*) FILTER (WHERE o.due_date < %(today)s AND {OPEN}),
            count(*) FILTER (WHERE o.due_date BETWEEN %(today)s AND %(yellow)s AND {OPEN}),
            min(CASE o.status WHEN 'not_started' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'submitted' THEN 2 ELSE 3 END)
        FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
        JOIN obligations_article a ON a.id = c.article_id JOIN accounts_department d ON d.id = o.department_id
        WHERE o.superseded_at IS NULL AND c.regulation_id = %(regulation)s
        GROUP BY a.id, d.id ORDER BY a.number, d.sort_order""",
    "overdue": f"""
        WITH page AS (
            SELECT o.id, o.clause_id, o.department_id, o.due_date, o.status, o.version
            {ACTIVE} AND o.due_date < %(today)s AND {OPEN}
            ORDER BY o.due_date, (SELECT sort_order FROM accounts_department WHERE id = o.department_id), o.id
            LIMIT 100
        )
        SELECT page.id, a.label, c.text, d.code, d.short_name, page.status, page.version, page.due_date,
            %(today)s - page.due_date, p.text, p.created_at,
            (SELECT max(r.sent_at) FROM notifications_reminder r WHERE r.obligation_id = page.id
             AND r.status = 'sent'),
            (SELECT count(*) {ACTIVE} AND o.due_date < %(today)s AND {OPEN})
        FROM page JOIN obligations_clause c ON c.id = page.clause_id
        JOIN obligations_article a ON a.id = c.article_id JOIN accounts_department d ON d.id = page.department_id
        LEFT JOIN LATERAL (SELECT text, created_at FROM obligations_progressentry
                           WHERE obligation_id = page.id ORDER BY created_at DESC, id DESC LIMIT 1) p ON true
        ORDER BY page.due_date, d.sort_order, page.id""",
    "queue": f"""
        SELECT o.id, a.label, c.text, d.code, d.short_name, o.due_date, o.submitted_at, u.username, o.version,
            CASE WHEN o.due_date BETWEEN %(today)s AND %(yellow)s THEN 'yellow' ELSE 'green' END,
            (SELECT count(*) {ACTIVE} AND o.status = 'submitted')
        FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
        JOIN obligations_article a ON a.id = c.article_id JOIN accounts_department d ON d.id = o.department_id
        LEFT JOIN accounts_user u ON u.id = o.submitted_by_id
        WHERE o.superseded_at IS NULL AND o.status = 'submitted'
        ORDER BY o.submitted_at NULLS FIRST, o.id LIMIT 100""",
    "trend": f"""
        WITH scoped AS (SELECT o.status, o.due_date, o.verified_at, o.missed_due_date {ACTIVE}),
        due AS (SELECT date_trunc('week', due_date)::date AS week, count(*) AS n FROM scoped GROUP BY 1),
        missed AS (
            SELECT date_trunc('week', coalesce(o.missed_due_date,
                       CASE WHEN o.due_date < %(today)s AND {OPEN} THEN o.due_date END))::date AS week,
                   count(*) AS n
            FROM scoped o GROUP BY 1
        ),
        completed AS (
            SELECT date_trunc('week', verified_at AT TIME ZONE '{TZ}')::date AS week, count(*) AS n
            FROM scoped WHERE status = 'verified' AND verified_at IS NOT NULL GROUP BY 1
        ),
        weeks AS (SELECT generate_series(date_trunc('week', %(start)s::date), %(today)s::date, '1 week')::date AS week)
        SELECT w.week, coalesce(c.n, 0), coalesce(d.n, 0), coalesce(m.n, 0),
            (SELECT sum(n) FROM due) - sum(coalesce(c.n, 0)) OVER (ORDER BY w.week)
              - (SELECT coalesce(sum(n), 0) FROM completed WHERE week < (SELECT min(week) FROM weeks)),
            (SELECT sum(n) FROM due) - sum(coalesce(d.n, 0)) OVER (ORDER BY w.week)
              - (SELECT coalesce(sum(n), 0) FROM due WHERE week < (SELECT min(week) FROM weeks))
        FROM weeks w LEFT JOIN completed c ON c.week = w.week LEFT JOIN due d ON d.week = w.week
        LEFT JOIN missed m ON m.week = w.week
        ORDER BY w.week""",
}


def by_regulation(sql: str) -> str:
    """A dashboard baseline restricted to one regulation (%(regulation)s), as `?regulation=` restricts
    the dashboard's scope: every scan of the obligations joins its clause."""
    return sql.replace(
        "FROM obligations_obligation o",
        "FROM obligations_obligation o JOIN obligations_clause rc ON rc.id = o.clause_id"
        " AND rc.regulation_id = %(regulation)s",
    )


# The regulation list (/regulation/): every regulation with its duty clauses and the figures of
# the obligations under it (obligations.selectors.regulation_lines).
REGULATIONS_SQL = f"""
    WITH figures AS (
        SELECT c.regulation_id, count(*) AS total,
            count(*) FILTER (WHERE o.status = 'not_started'), count(*) FILTER (WHERE o.status = 'in_progress'),
            count(*) FILTER (WHERE o.status = 'submitted'), count(*) FILTER (WHERE o.status = 'verified'),
            count(*) FILTER (WHERE o.due_date < %(today)s AND {OPEN}),
            count(*) FILTER (WHERE o.due_date BETWEEN %(today)s AND %(yellow)s AND {OPEN}),
            count(*) FILTER (WHERE {ON_TIME}), count(*) FILTER (WHERE {LATE})
        FROM obligations_obligation o JOIN obligations_clause c ON c.id = o.clause_id
        WHERE o.superseded_at IS NULL GROUP BY c.regulation_id
    )
    SELECT r.id, r.code, r.title, r.effective_date,
        (SELECT count(*) FROM obligations_clause k WHERE k.regulation_id = r.id AND k.kind = 'duty'
         AND k.superseded_at IS NULL), f.*
    FROM obligations_regulation r LEFT JOIN figures f ON f.regulation_id = r.id
    ORDER BY r.effective_date, r.id"""


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


def endpoint(name, client, url, sql, params, runs, floor_path: str | None = None) -> Result:
    """One page or API call. An API call (/api/…) with a baseline is timed in turn with the
    framework floor (`floor_path`, by the same client) for its `floor+`."""
    errors: list[int] = []
    probe = client.get(url, HTTP_ACCEPT="application/json")
    if probe.status_code == 404:
        return Result(name, note=f"{url} not available in this build (404)")
    floor = _get(client, floor_path, errors) if floor_path and url.startswith("/api/") else None
    result = measure(name, _get(client, url, errors), sql, params, runs, floor=floor)
    result.errors = len(errors)
    if errors:
        result.note = f"status codes: {sorted(set(errors))}"
    return result


def run_all(args, selected: set[str] | None, skipped: set[str] = frozenset()) -> list[Result]:
    from django.db.models import Count, Min

    from accounts.models import User
    from dashboard import selectors
    from obligations.models import LightWindow, Obligation, today
    from regulations.models import Regulation

    runs = args.runs
    lead = User.objects.filter(role="lead").order_by("id").first()
    busiest = Obligation.objects.values("department_id").annotate(n=Count("id")).order_by("-n").first()["department_id"]
    staff = User.objects.filter(role="staff").order_by("id").first()
    staff.department_id = busiest
    staff.save(update_fields=["department"])
    sample = Obligation.objects.filter(department_id=busiest).order_by("id")[10]
    # The regulation with the most obligations: the grid's and the XLSX export's worst case.
    largest = (
        Obligation.objects.values("clause__regulation").annotate(n=Count("id")).order_by("-n", "clause__regulation")
    )
    regulation = Regulation.objects.get(id=largest[0]["clause__regulation"])
    params = {"today": today(), "regulation": regulation.id}
    staff_client, lead_client = _client(staff), _client(lead)
    from accounts.models import Department

    code = Department.objects.get(id=busiest).code

    # The floor (bench/floor.py) is mounted for the whole run: every API scenario is timed in turn
    # with it (bench.measure.timed_in_turn).
    scenario = functools.partial(endpoint, floor_path=f"/bench-floor/drf/{sample.id}/")
    plan = floor_plan(staff, staff_client, sample.id, runs) + [
        (
            "layers",
            lambda: layers(staff, code, runs),
        ),
        (
            "task_list",
            lambda: scenario(
                "task_list", staff_client, f"/api/obligations/?department={code}", TASK_LIST_SQL, [busiest], runs
            ),
        ),
        (
            "obligation_detail",
            lambda: scenario(
                "obligation_detail", staff_client, f"/api/obligations/{sample.id}/", DETAIL_SQL, [sample.id], runs
            ),
        ),
        (
            "obligation_progress",
            lambda: scenario(
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
            lambda: scenario(
                "obligation_evidence",
                staff_client,
                f"/api/obligations/{sample.id}/evidence/",
                DETAIL_SQL,
                [sample.id],
                runs,
            ),
        ),
        # The HTML pages staff work in (issue 15): 我的任务 with its 已退回/已核验通过 marks (two
        # correlated subqueries on the page's rows) and the obligation page with its latest decision.
        ("tasks_page", lambda: scenario("tasks_page", staff_client, "/tasks/", None, None, runs)),
        ("tasks_page_lead", lambda: scenario("tasks_page_lead", lead_client, "/tasks/", None, None, runs)),
        (
            "obligation_page",
            lambda: scenario("obligation_page", staff_client, f"/obligations/{sample.id}/", None, None, runs),
        ),
    ]
    # The progress feed read by cursor: its first page (with the count) and a page 90 % deep.
    from obligations.models import ProgressEntry

    last_entry = ProgressEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    deep = int(last_entry * 0.9)
    plan += [
        (
            "progress_feed_first",
            lambda: scenario("progress_feed_first", lead_client, "/api/progress/", FEED_FIRST_SQL, [0], runs),
        ),
        (
            "progress_feed_deep",
            lambda: scenario(
                "progress_feed_deep", lead_client, f"/api/progress/?cursor={feed_cursor(deep)}", FEED_SQL, [deep], runs
            ),
        ),
    ]
    # Every list again with a regulation chosen (?regulation=): the staff member's lists under the
    # regulation where the busiest body has most obligations, the lead's under the largest one.
    staff_regulation = Regulation.objects.get(
        id=Obligation.objects.filter(department_id=busiest)
        .values("clause__regulation")
        .annotate(n=Count("id"))
        .order_by("-n", "clause__regulation")[0]["clause__regulation"]
    )
    plan += [
        (
            "task_list_regulation",
            lambda: scenario(
                "task_list_regulation",
                staff_client,
                f"/api/obligations/?department={code}&regulation={staff_regulation.code}",
                TASK_LIST_REGULATION_SQL,
                [busiest, staff_regulation.id],
                runs,
            ),
        ),
        (
            "tasks_page_regulation",
            lambda: scenario(
                "tasks_page_regulation", staff_client, f"/tasks/?regulation={staff_regulation.code}", None, None, runs
            ),
        ),
        (
            "tasks_page_lead_regulation",
            lambda: scenario(
                "tasks_page_lead_regulation", lead_client, f"/tasks/?regulation={regulation.code}", None, None, runs
            ),
        ),
        (
            "progress_feed_first_regulation",
            lambda: scenario(
                "progress_feed_first_regulation",
                lead_client,
                f"/api/progress/?regulation={regulation.code}",
                FEED_FIRST_REGULATION_SQL,
                [regulation.id, regulation.id],
                runs,
            ),
        ),
    ]
    from django.utils import timezone

    first = Obligation.objects.active().aggregate(
        due=Min("due_date"), missed=Min("missed_due_date"), verified=Min("verified_at")
    )
    verified = first["verified"] and timezone.localtime(first["verified"]).date()
    first_data = [params["today"], first["due"], first["missed"], verified]
    dashboard_params = {
        **params,
        "yellow": LightWindow.for_day(params["today"]).yellow_until,
        "d30": params["today"] + dt.timedelta(days=selectors.DUE_SOON_DAYS),
        # The trend starts where the data start (dashboard.selectors.trend_start).
        "start": min(d for d in first_data if d is not None),
    }
    # Each dashboard scenario province-wide, then (`…_regulation`) with the largest regulation
    # chosen; the grid always shows one regulation, so it is measured once, with it chosen.
    chosen = f"?regulation={regulation.code}"
    for key, sql in DASHBOARD_SQL.items():
        variants = (
            [("", chosen, sql)] if key == "grid" else [("", "", sql), ("_regulation", chosen, by_regulation(sql))]
        )
        for suffix, query, variant in variants:
            plan.append(
                (
                    f"dashboard_{key}{suffix}",
                    lambda name=f"dashboard_{key}{suffix}", url=f"/api/dashboard/{key}/{query}", sql=variant: scenario(
                        name, lead_client, url, sql, dashboard_params, runs
                    ),
                )
            )
    # The page as the lead opens it (issue 15/18: the first screen only), then each section's
    # fragment as htmx fetches it, beside the hand-written query of the same figures where there is one.
    # `dashboard_first_screen_regulation` is the per-regulation dashboard (the regulation chosen).
    for suffix, query in (("", ""), ("_regulation", chosen)):
        plan.append(
            (
                f"dashboard_first_screen{suffix}",
                lambda name=f"dashboard_first_screen{suffix}", url=f"/dashboard/{query}": scenario(
                    name, lead_client, url, None, None, runs
                ),
            )
        )
    from dashboard.views import FIRST_SCREEN, TABS

    for name in (*FIRST_SCREEN, *TABS):
        sql = DASHBOARD_SQL.get({"headline": "summary", "status": "summary"}.get(name, name))
        variants = [("", chosen, sql)] if name == "grid" else [("", "", sql), ("_regulation", chosen, sql)]
        for suffix, query, variant in variants:
            if variant is not None and suffix:
                variant = by_regulation(variant)
            plan.append(
                (
                    f"dashboard_section_{name}{suffix}",
                    lambda name=f"dashboard_section_{name}{suffix}",
                    url=f"/dashboard/section/{name}/{query}",
                    sql=variant: (scenario(name, lead_client, url, sql, dashboard_params if sql else None, runs)),
                )
            )
    # The regulation list (issue 23): every regulation with its figures, as the lead sees it.
    plan.append(
        (
            "regulation_list",
            lambda: scenario("regulation_list", lead_client, "/regulation/", REGULATIONS_SQL, dashboard_params, runs),
        )
    )
    plan.append(("reminder_sweep", lambda: reminder_sweep(args.scale)))
    plan.append(("xlsx_export", lambda: xlsx_export(regulation.code)))
    for fmt in ("xlsx", "csv"):
        plan.append((f"{fmt}_export_all", lambda fmt=fmt: export_all(args.scale, fmt)))
    # Issue 29, part 3: the Word report of the whole regulation (200,000 x scale obligations), the
    # amendment and the 台账 at their own fixed size (bench/paths_bench.py), the decision-to-notice
    # time (bench/notice_bench.py).
    plan.append(("docx_report", lambda: export_all(args.scale, "docx", name="docx_report")))
    plan.append(("paths", paths_bench))
    plan.append(("decision_to_notice", notice_bench))
    if not args.skip_load:
        plan.append(("load_50_clients", lambda: load_test(staff, code, sample.id)))

    from django.test import override_settings

    results = []
    with override_settings(ROOT_URLCONF="bench.floor"):
        for name, run in plan:
            if selected and not any(name.startswith(prefix) for prefix in selected):
                continue
            if any(name.startswith(prefix) for prefix in skipped):
                continue
            print(f"  running {name} …", flush=True)
            try:
                outcome = run()
                results.extend(outcome if isinstance(outcome, list) else [outcome])
            except Exception as exc:  # a broken scenario is reported, the others still run
                results.append(Result(name, errors=1, note=f"{type(exc).__name__}: {exc}"[:200]))
    # Beside floor+ (the floor timed in turn with the call), the same ratio against the floor row
    # measured on its own at the start: the two differ by the machine's phases in between.
    alone = next((r for r in results if r.name == "floor" and r.p50_ms), None)
    for r in results:
        if alone and r.vs_floor is not None:
            r.extra["vs_floor_alone"] = round(r.p50_ms / (alone.p50_ms + r.baseline_p50_ms), 2)
            r.note = (r.note + "; " if r.note else "") + (
                f"floor timed in turn {r.extra['floor_p50_ms']} ms; floor+ against the floor row: "
                f"{r.extra['vs_floor_alone']}"
            )
    return results


def floor_plan(staff, session_client, obligation_id: int, runs: int) -> list:
    """The framework floor and its layers (bench/floor.py, mounted for the whole run)."""
    from django.test import Client

    from accounts.services import api_token_create

    from .floor import FLOOR_SQL

    _, key = api_token_create(user=staff, name="bench floor")
    token_client = Client(HTTP_AUTHORIZATION=f"Token {key}")

    def run(name, client, url):
        return endpoint(name, client, url, FLOOR_SQL, [obligation_id], runs)

    return [
        (name, lambda name=name, client=client, url=url: run(name, client, url))
        for name, client, url in [
            ("floor", session_client, f"/bench-floor/drf/{obligation_id}/"),
            ("floor_token", token_client, f"/bench-floor/drf/{obligation_id}/"),
            ("floor_anonymous", Client(), f"/bench-floor/anonymous/{obligation_id}/"),
            ("floor_django", session_client, f"/bench-floor/django/{obligation_id}/"),
            ("floor_plain", Client(), f"/bench-floor/plain/{obligation_id}/"),
        ]
    ]


def layers(staff, code: str, runs: int) -> Result:
    """The task list's request taken apart: each stage timed on its own (p50 ms). The page's
    count is taken by the page query itself on the API (core.pagination); here it is timed as
    the COUNT query it replaced."""
    import statistics

    from rest_framework.renderers import JSONRenderer
    from rest_framework.settings import api_settings

    from obligations import selectors
    from obligations.api.serializers import ObligationSerializer

    from .measure import timed

    # The list as the API reads it: values() rows (obligations.api.views).
    qs = selectors.obligation_list(user=staff).values(*ObligationSerializer.VALUES).filter(department__code=code)
    rows = list(qs[:20])
    data = ObligationSerializer([dict(row) for row in rows], many=True).data
    default_renderer = api_settings.DEFAULT_RENDERER_CLASSES[0]()
    stages = {
        "count": lambda: qs.count(),
        "page": lambda: list(qs[:20]),
        "serializer": lambda: ObligationSerializer([dict(row) for row in rows], many=True).data,  # + cooperating
        "render_json": lambda: JSONRenderer().render(data),
        f"render_{type(default_renderer).__name__}": lambda: default_renderer.render(data),
    }
    figures = {name: round(statistics.median(timed(fn, runs)), 2) for name, fn in stages.items()}
    return Result(
        "layers",
        note="task list page of 20, p50 ms: " + ", ".join(f"{k} {v}" for k, v in figures.items()),
        extra={"layers_ms": figures},
    )


def reminder_sweep(scale: float) -> Result:
    """The issue's sweep: of all obligations, 20,000 (at full scale) due for a reminder today.

    The chosen obligations get a due date 7 days ahead (the 7-day stage) and all others a date
    far ahead, the sweep runs once with the locmem email backend, and then every due date and
    status is put back and the ledger, notification and delivery rows it wrote are removed, so
    the scenario can be run again on the same data.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    try:
        from notifications.models import Delivery, Notification, Reminder
        from notifications.reminders import sweep
    except ImportError:
        return Result("reminder_sweep", note="reminders not available in this build")
    from core.clock import today

    due = max(1, int(20_000 * scale))
    base = today()
    marks = {
        m: (m.objects.order_by("-id").values_list("id", flat=True).first() or 0)
        for m in (Reminder, Notification, Delivery)
    }
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_saved_due")
        cursor.execute("CREATE TEMP TABLE bench_saved_due AS SELECT id, due_date, status FROM obligations_obligation")
        cursor.execute("UPDATE obligations_obligation SET due_date = %s", [base + dt.timedelta(days=400)])
        cursor.execute(
            "UPDATE obligations_obligation SET due_date = %s, status = 'in_progress' WHERE id IN ("
            " SELECT o.id FROM obligations_obligation o WHERE o.superseded_at IS NULL AND o.department_id IN"
            " (SELECT department_id FROM accounts_user WHERE role = 'staff' AND is_active) ORDER BY o.id LIMIT %s)",
            [base + dt.timedelta(days=7), due],
        )
        chosen = cursor.rowcount
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            start = time.perf_counter()
            with CaptureQueriesContext(connection) as ctx:
                outcome = sweep()
            elapsed = (time.perf_counter() - start) * 1000
    finally:
        for model, mark in marks.items():
            model.objects.filter(id__gt=mark).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE obligations_obligation o SET due_date = s.due_date, status = s.status"
                " FROM bench_saved_due s WHERE s.id = o.id"
            )
            cursor.execute("DROP TABLE bench_saved_due")
    return Result(
        "reminder_sweep",
        p50_ms=round(elapsed),
        p95_ms=round(elapsed),
        queries=len(ctx.captured_queries),
        note=f"{chosen} obligations due for a reminder; "
        f"sent {outcome.sent}, skipped {outcome.skipped}, failed {outcome.failed}",
    )


def xlsx_export(regulation_code: str) -> Result:
    """A whole-regulation XLSX export (the regulation with most obligations) in a process of its
    own, to read its peak memory. bench/report_bench.py measures one 200,000-row regulation."""
    out = Path(tempfile.mkdtemp()) / "report.xlsx"
    cmd = [sys.executable, "manage.py", "export_compliance_report", "--format", "xlsx"]
    cmd += ["--regulation", regulation_code, "-o", str(out)]
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


def export_all(scale: float, fmt: str, name: str | None = None) -> Result:
    """The auditor's export of every obligation (200,000 at full scale) with the evidence manifest,
    run as the Celery worker runs it, in a child process (bench/report_bench.py) on a database of
    its own holding one regulation of that size: the app's reports cover one regulation each."""
    import json

    from django.db import connection

    name = name or f"{fmt}_export_all"
    rows = max(1, int(200_000 * scale))
    database = f"{connection.settings_dict['NAME']}_reports"
    cmd = [sys.executable, "bench/report_bench.py", "--reuse", "--db-name", database, "--n", str(rows)]
    cmd += ["--format", fmt, "--modes", "current"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ.copy())
    if proc.returncode != 0:
        return Result(name, errors=1, note=(proc.stderr or proc.stdout).strip()[-200:])
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    return Result(
        name,
        p50_ms=round(figures["seconds"] * 1000),
        p95_ms=round(figures["seconds"] * 1000),
        peak_mb=figures["peak_rss_mb"],
        errors=0 if figures["status"] == "done" else 1,
        note=f"{figures['rows']:,} rows, {figures['file_mb']} MB, {figures['rows'] / figures['seconds']:,.0f} rows/s, "
        f"{figures['cpu_seconds']} s CPU, load {figures['load_average'][0]}",
        extra={
            "rows": figures["rows"],
            "seconds": figures["seconds"],
            "file_mb": figures["file_mb"],
            "cpu_seconds": figures["cpu_seconds"],
            "load_average": figures["load_average"],
        },
    )


def _child_database(suffix: str) -> str:
    """The name of a database of the bench's own beside this one (`<bench database>_<suffix>`)."""
    from django.db import connection

    return f"{connection.settings_dict['NAME']}_{suffix}"


def paths_bench() -> list[Result]:
    """The amendment (dry run and confirmation) of a regulation of 5,000+ obligations and the 台账
    export and import of 5,000 rows, at that size whatever the scale, in a child process on a
    database of their own (bench/paths_bench.py, built once)."""
    import json
    from urllib.parse import urlsplit

    from .measure import database_url_for

    # One database for every scale: these paths have their own size.
    name = urlsplit(database_url_for(1)).path.lstrip("/") + "_paths"
    cmd = [sys.executable, "-m", "bench.paths_bench", "--reuse", "--db-name", name]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ.copy())
    results = []
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        figures = json.loads(line)
        ms = round(figures["seconds"] * 1000)
        verdict = (
            ""
            if figures["target_seconds"] is None
            else (f"target < {figures['target_seconds']} s {'met' if figures['met'] else 'MISSED'}; ")
        )
        results.append(
            Result(
                figures["name"],
                p50_ms=ms,
                p95_ms=ms,
                queries=figures["queries"],
                errors=0 if figures["met"] is not False else 1,
                note=f"{verdict}{figures['note']}; {figures.get('cpu_seconds')} s CPU; "
                f"load {figures['load_average'][0]}",
                extra={k: figures.get(k) for k in ("seconds", "cpu_seconds", "target_seconds", "met", "load_average")},
            )
        )
    if proc.returncode != 0:
        results.append(Result("paths", errors=1, note=(proc.stderr or proc.stdout).strip()[-300:]))
    return results


def notice_bench() -> list[Result]:
    """Decision to in-app notice through a real Celery worker (bench/notice_bench.py, run as it is,
    on a database of its own): its table's rows, in seconds, as rows of this one."""
    broker = "redis" if os.environ.get("REDIS_URL") else "filesystem"
    env = os.environ | {"BENCH_DATABASE_URL": _database_url(_child_database("notices"))}
    cmd = [sys.executable, "-m", "bench.notice_bench", "--broker", broker, "--rounds", "3"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return [Result("decision_to_notice", errors=1, note=(proc.stderr or proc.stdout).strip()[-300:])]
    results = []
    for line in proc.stdout.splitlines():
        # "<case>  n  p50 s  p95 s  max s": the case's words, then four numbers.
        words = line.split()
        if len(words) < 5 or not words[-4].isdigit():
            continue
        try:
            p50, p95, worst = (float(w) for w in words[-3:])
        except ValueError:
            continue
        case = " ".join(words[:-4])
        results.append(
            Result(
                f"notice_{'idle' if case.startswith('idle') else 'backlog'}",
                p50_ms=round(p50 * 1000),
                p95_ms=round(p95 * 1000),
                note=f"decision to in-app notice, {broker} broker, {case}, {words[-4]} decisions, max {worst} s",
            )
        )
    return results or [Result("decision_to_notice", errors=1, note="no figures in bench/notice_bench.py's output")]


def _database_url(name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name ([0] is the state, [1] the parent)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int, reaped: bool = False) -> float:
    """utime + stime of a live process (0 if it is gone); with `reaped`, also the CPU of the
    children it has already waited for (cutime + cstime)."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree_cpu(parent: int) -> float:
    """CPU of a process, of its live children and of the children it has reaped: gunicorn's
    master and workers, or the PostgreSQL server and its backends. Connections come and go during
    a run (DB_CONN_MAX_AGE closes them after 60 s); summing the processes alive at the end lost
    the CPU of those that had gone (one run reported 0.02 ms of PostgreSQL per request)."""
    total = _cpu_seconds(parent, reaped=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent:
                total += _cpu_seconds(int(entry.name))
    return total


def _database_cpu() -> float:
    """CPU of the whole PostgreSQL server so far (its housekeeping included: read it on a quiet
    machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    return _tree_cpu(int(_stat(backend)[1]))


def server_error_tracebacks(log_text: str, request_ids: set[str]) -> dict[str, str]:
    """The tracebacks the server logged (core.requestlog: one JSON line per 5xx on tracker.errors)
    for these request ids; an id the log does not have maps to a note saying so."""
    import json

    found = {}
    for line in log_text.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            entry = json.loads(line[start:])
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and entry.get("logger") == "tracker.errors"
            and entry.get("request_id") in request_ids
        ):
            found[entry["request_id"]] = entry.get("traceback") or entry.get("message", "")
    return {rid: found.get(rid, "(no traceback logged for this request id)") for rid in request_ids}


def load_test(staff, code: str, obligation_id: int, clients: int = 50, seconds: int | None = None) -> Result:
    """50 clients for 60 s (BENCH_LOAD_SECONDS) on the list and detail endpoints against gunicorn
    (DEBUG off). The clients are threads of this process, on the same 2 cores as the server."""
    import http.client
    import socket

    from accounts.services import api_token_create

    seconds = seconds or int(os.environ.get("BENCH_LOAD_SECONDS", "60"))
    _, key = api_token_create(user=staff, name="bench load")
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
    # The deployment's default (scripts/run.sh, docs/deployment.md): 2 gthread workers × 2 threads.
    # BENCH_GUNICORN_THREADS 1 makes sync workers; each thread holds its own database connection.
    # keep-alive: each client keeps one connection for the whole run (a script calling the API
    # directly). per-request: a new connection for each request, as gunicorn sees the traffic
    # behind the nginx of docs/deployment.md (proxy_pass without an upstream keepalive).
    connections = os.environ.get("BENCH_LOAD_CONNECTIONS", "keep-alive")
    if connections not in {"keep-alive", "per-request"}:
        raise ValueError("BENCH_LOAD_CONNECTIONS is keep-alive or per-request")
    per_request = connections == "per-request"
    workers = str(int(os.environ.get("BENCH_GUNICORN_WORKERS", "2")))
    threads = str(int(os.environ.get("BENCH_GUNICORN_THREADS", "2")))
    # The server's log (its JSON error lines carry the request id of every 5xx and its traceback).
    server_log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
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
            "--threads",
            threads,
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stderr=server_log,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        # Every worker booted (importing the app costs seconds of CPU each) before the counters
        # are read: wait until the server has been idle for a second.
        server_cpu = _tree_cpu(server.pid)
        for _ in range(60):
            time.sleep(1)
            now = _tree_cpu(server.pid)
            if now - server_cpu < 0.05:
                break
            server_cpu = now
        db_cpu = _database_cpu()
        client_cpu = resource.getrusage(resource.RUSAGE_SELF)
        paths = [f"/api/obligations/?department={code}", f"/api/obligations/{obligation_id}/"]
        headers = {"Authorization": f"Token {key}", "Accept": "application/json", "Host": "127.0.0.1"}
        latencies: list[float] = []
        by_path: dict[str, list[float]] = {path: [] for path in paths}
        errors: list[str] = []
        failed_ids: set[str] = set()  # X-Request-ID of every 5xx answer
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
                    if response.status >= 500:
                        with lock:
                            failed_ids.add(response.getheader("X-Request-ID") or "(none)")
                    if per_request:
                        conn.close()  # as nginx's proxy_pass does without an upstream keepalive
                except (OSError, http.client.HTTPException) as exc:
                    ok, status = False, type(exc).__name__
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    latencies.append((time.perf_counter() - start) * 1000)
                    by_path[path].append(latencies[-1])
                    if not ok:
                        errors.append(status)

        pool = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        # CPU per request: what the neighbours on a shared machine do not change much (the wall
        # figures they do). Server = gunicorn; database = the PostgreSQL server.
        server_cpu = _tree_cpu(server.pid) - server_cpu
        db_cpu = _database_cpu() - db_cpu
        after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = after.ru_utime + after.ru_stime - client_cpu.ru_utime - client_cpu.ru_stime
    finally:
        server.terminate()
        server.wait(timeout=30)
    server_log.seek(0)
    tracebacks = server_error_tracebacks(server_log.read(), failed_ids)
    server_log.close()
    for request_id, text in sorted(tracebacks.items()):
        print(f"\nload: server error, request {request_id}:\n{text}", file=sys.stderr)
    from .measure import percentile

    rps = len(latencies) / seconds
    per_request = {
        "server_cpu_ms": round(server_cpu * 1000 / max(1, len(latencies)), 2),
        "database_cpu_ms": round(db_cpu * 1000 / max(1, len(latencies)), 2),
        "client_cpu_ms": round(client_cpu * 1000 / max(1, len(latencies)), 2),
    }
    # What 2 idle cores could serve at that CPU per request (server and database; the clients
    # belong to the benchmark, not to the deployment).
    capacity = 2000 / max(0.01, per_request["server_cpu_ms"] + per_request["database_cpu_ms"])
    return Result(
        "load_50_clients",
        p50_ms=round(percentile(latencies, 50), 1) if latencies else None,
        p95_ms=round(percentile(latencies, 95), 1) if latencies else None,
        errors=len(errors),
        note=f"{rps:.0f} requests/s over {seconds} s, {clients} clients ({connections}), gunicorn {workers} workers"
        f" × {threads} threads"
        + f"; CPU per request: server {per_request['server_cpu_ms']} ms, database {per_request['database_cpu_ms']} ms,"
        f" clients {per_request['client_cpu_ms']} ms; 2 idle cores ≈ {capacity:.0f} requests/s"
        + (
            f"; p95 list {percentile(by_path[paths[0]], 95):.0f} ms, detail {percentile(by_path[paths[1]], 95):.0f} ms"
            if all(by_path.values())
            else ""
        )
        + (f"; errors: {sorted(set(errors))}" if errors else ""),
        extra={
            "rps": round(rps, 1),
            **per_request,
            "capacity_rps_2_cores": round(capacity, 1),
            "p95_ms_list": round(percentile(by_path[paths[0]], 95), 1) if by_path[paths[0]] else None,
            "p95_ms_detail": round(percentile(by_path[paths[1]], 95), 1) if by_path[paths[1]] else None,
            "connections": connections,
            "workers": int(workers),
            "threads": int(threads),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            # Any 5xx fails the bench run (bench/run.py); the tracebacks are printed above.
            "server_errors": len(failed_ids),
        },
    )
