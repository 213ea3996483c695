"""The dashboard over HTTP: the JSON endpoints and the page, who may call them, the filters in
the URL, the OpenAPI schema, and a fixed number of SQL queries whatever the number of obligations."""

import datetime as dt
import itertools
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from accounts.models import Department
from dashboard import selectors
from dashboard.api import serializers
from obligations.models import Obligation, ProgressEntry
from regulations.models import Clause, many_regulations
from tests.test_dashboard import NOW, S, at, build_known, make_regulation

pytestmark = pytest.mark.django_db

API = "/api/dashboard/"
ENDPOINTS = ["summary", "bodies", "chapters", "grid", "overdue", "trend", "queue"]
SECTIONS = ["headline", "queue", "red", "objections", "extensions", "status", "bodies", "chapters", "grid", "overdue"]
PAGES = (
    [f"{API}{name}/" for name in ENDPOINTS]
    + ["/dashboard/", "/dashboard/?tab=bodies", "/dashboard/?tab=trend"]
    + [f"/dashboard/section/{name}/" for name in [*SECTIONS, "trend"]]
)


@pytest.fixture
def known(departments, cast):
    return build_known(departments, cast)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("name", ENDPOINTS)
def test_anonymous_caller_gets_401_from_the_api(client, name):
    response = client.get(f"{API}{name}/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Token")


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/dashboard/?level=district")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/")


def test_home_sends_the_lead_to_the_dashboard_and_staff_to_their_tasks(client, cast):
    expected = {"lena": "/dashboard/", "audrey": "/dashboard/", "adam": "/dashboard/", "alice": "/tasks/"}
    for name, target in expected.items():
        client.force_login(cast[name])
        response = client.get("/")
        assert (name, response.status_code, response["Location"]) == (name, 302, target)


def test_summary_endpoint_gives_the_headline_figures(client, known, cast, frozen):
    client.force_login(cast["lena"])
    data = client.get(f"{API}summary/").json()
    assert data["on"] == "2025-03-12"
    assert (data["total"], data["overdue"], data["due_soon"], data["awaiting_verification"]) == (10, 2, 1, 1)
    assert (data["completion_rate"], data["on_time_rate"]) == (0.4, 0.5)
    assert data["on_time_rule"].startswith("按期完成率 = 按期提交核验的义务数")


def test_bodies_endpoint_for_staff_holds_only_their_body(client, known, cast, frozen):
    client.force_login(cast["alice"])
    rows = client.get(f"{API}bodies/").json()
    assert [r["code"] for r in rows] == ["JN-DSJ"]
    assert rows[0]["overdue"] == 1
    overdue = client.get(f"{API}overdue/").json()
    assert [r["department_code"] for r in overdue["results"]] == ["JN-DSJ"]
    grid = client.get(f"{API}grid/").json()
    assert [b["code"] for b in grid["bodies"]] == ["JN-DSJ"]


def test_grid_endpoint_keeps_empty_cells_as_null(client, known, cast, frozen):
    client.force_login(cast["lena"])
    grid = client.get(f"{API}grid/").json()
    codes = [b["code"] for b in grid["bodies"]]
    article1 = next(a for a in grid["articles"] if a["number"] == 1)
    assert len(article1["cells"]) == len(codes)
    assert article1["cells"][codes.index("JN-FGW")]["state"] == "submitted"
    assert article1["cells"][codes.index("JN-FGW")]["total"] == 2
    # The view skips DRF serialisation for speed: the body must still be exactly the documented shape.
    assert serializers.GridSerializer(grid).data == grid
    assert grid["regulation"] == {"code": "reg-test", "title": "测试条例 reg-test"}


def test_trend_and_queue_and_chapters_endpoints(client, known, cast, frozen):
    client.force_login(cast["audrey"])
    trend = client.get(f"{API}trend/").json()
    week = next(w for w in trend["weeks"] if w["week"] == "2025-03-10")
    assert (week["completed"], week["newly_overdue"], week["open"], week["planned_open"]) == (0, 1, 6, 5)
    queue = client.get(f"{API}queue/").json()
    assert queue["count"] == 1 and queue["results"][0]["department_code"] == "JN-FGW"
    chapters = client.get(f"{API}chapters/").json()
    assert [c["assigned"] for c in chapters] == [7, 3]


@pytest.mark.parametrize(
    ("name", "serializer", "moment"),
    [
        ("overdue", serializers.OverdueSerializer, "last_progress_at"),
        ("queue", serializers.QueueSerializer, "submitted_at"),
    ],
)
def test_list_endpoints_answer_what_their_serializer_writes(client, known, cast, frozen, name, serializer, moment):
    """The overdue list and the queue skip DRF's field-by-field walk: the answer is still, value for
    value, what the declared serializer writes (moments in Asia/Shanghai)."""
    client.force_login(cast["lena"])
    body = client.get(f"{API}{name}/").json()
    data = getattr(selectors, f"dashboard_{name}")(scope=selectors.dashboard_scope(user=cast["lena"]))
    assert body == json.loads(JSONRenderer().render(serializer(data).data))
    assert any(row[moment] for row in body["results"]), body
    assert all(row[moment].endswith("+08:00") for row in body["results"] if row[moment])


def test_the_body_table_answers_what_its_serializer_writes(client, known, cast, frozen):
    """The body table skips DRF's field-by-field walk too: value for value what BodyRowSerializer
    writes, its extra keys (the registry's sort order) left out, the last activity in Asia/Shanghai."""
    client.force_login(cast["lena"])
    body = client.get(f"{API}bodies/").json()
    data = selectors.dashboard_bodies(scope=selectors.dashboard_scope(user=cast["lena"]))
    assert body == json.loads(JSONRenderer().render(serializers.BodyRowSerializer(data, many=True).data))
    assert any(row["last_activity_at"] for row in body), body
    assert all(row["last_activity_at"].endswith("+08:00") for row in body if row["last_activity_at"])


def test_verifying_from_the_queue_takes_the_submission_off_it(client, known, cast, frozen):
    # The queue's buttons POST to the workflow's transition endpoint with the row's version.
    client.force_login(cast["lena"])
    row = client.get(f"{API}queue/").json()["results"][0]
    response = client.post(
        f"/api/obligations/{row['id']}/transitions/",
        {"action": "verify", "reason": "", "version": row["version"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert client.get(f"{API}queue/").json()["count"] == 0
    summary = client.get(f"{API}summary/").json()
    assert (summary["verified"], summary["awaiting_verification"]) == (5, 0)


def test_filters_come_from_the_url(client, known, cast, frozen):
    client.force_login(cast["lena"])
    assert client.get(f"{API}summary/?level=district").json()["total"] == 3
    assert client.get(f"{API}summary/?department=JN-FGW").json()["total"] == 4
    assert client.get(f"{API}summary/?regulation=reg-test&date_from=2025-03-01&date_to=2025-03-11").json()["total"] == 4
    assert client.get(f"{API}summary/?regulation=unknown").status_code == 400
    assert client.get(f"{API}summary/?date_from=2025-03-11&date_to=2025-03-01").status_code == 400
    page = client.get("/dashboard/?level=district&sort=-assigned")
    assert page.status_code == 200
    assert page.context["summary"]["total"] == 3
    # The form echoes the filters, so the URL can be shared and the page shows what it filters by.
    assert 'value="district" selected' in page.content.decode()


def test_page_shows_the_first_screen_with_no_inline_script(client, known, cast, frozen):
    client.force_login(cast["lena"])
    response = client.get("/dashboard/")
    html = response.content.decode()
    assert response.status_code == 200
    for heading in ("总体情况", "待核验（1）", "亮红灯的单位（2）", "待处理异议（0）", "待审批延期申请（0）"):
        assert heading in html
    assert "/tasks/?department=JN-DSJ&amp;overdue=1" in html
    # The first screen lists the oldest few and leads to the whole queue, where the lead acts.
    assert 'href="/dashboard/queue/' in html and 'hx-post="/dashboard/queue/' not in html
    assert "vendor/htmx/htmx.min.js" in html and "vendor/echarts/echarts.min.js" in html and "js/dashboard.js" in html
    # No executable inline script: every <script> either has a src or is JSON data.
    for tag in html.split("<script")[1:]:
        head = tag.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head
    assert " onclick=" not in html and " onsubmit=" not in html and " hx-on" not in html
    assert " style=" not in html


def test_staff_page_has_no_verify_buttons_and_only_their_body(client, known, cast, frozen):
    client.force_login(cast["carol"])
    response = client.get("/dashboard/")
    assert response.context["summary"]["total"] == 4
    assert "hx-post=" not in response.content.decode()


def test_schema_documents_every_dashboard_endpoint(client, cast):
    client.force_login(cast["lena"])
    schema = client.get("/api/schema/?format=json").json()
    for name in ENDPOINTS:
        operation = schema["paths"][f"{API}{name}/"]["get"]
        assert operation["operationId"] == f"dashboard_{name}"
        assert "$ref" in str(operation["responses"]["200"])
    summary = schema["components"]["schemas"]["Summary"]["properties"]
    assert {"completion_rate", "on_time_rate", "overdue", "due_within_30_days"} <= set(summary)


# --- Query count ---------------------------------------------------------------------------------


def populate(reg: dict, cast: dict, total: int) -> None:
    """Grow the set to `total` obligations across clauses x bodies, in every state and light,
    with a progress entry each; rows are bulk-created, so the setup itself stays cheap."""
    existing = Obligation.objects.count()
    # alice's body first, so that her view has rows at every size.
    own = cast["alice"].department
    bodies = [own, *Department.objects.exclude(id=own.id).order_by("id")[:19]]
    per_clause = len(bodies)
    clauses_needed = -(-total // per_clause)
    have = list(Clause.objects.filter(regulation=reg["regulation"]).order_by("id"))
    articles = [c.article for c in have[:4]]
    new = [
        Clause(
            regulation=reg["regulation"],
            article=articles[i % len(articles)],
            paragraph_number=100 + i,
            text="应当……",
            subject="有关部门",
            kind=Clause.Kind.DUTY,
        )
        for i in range(len(have), clauses_needed)
    ]
    clauses = have + Clause.objects.bulk_create(new)
    taken = set(Obligation.objects.values_list("clause_id", "department_id"))
    statuses = itertools.cycle([S.NOT_STARTED, S.IN_PROGRESS, S.SUBMITTED, S.VERIFIED])
    rows = []
    for clause in clauses:
        for body in bodies:
            if existing + len(rows) >= total:
                break
            if (clause.id, body.id) in taken:
                continue
            status = next(statuses)
            offset = (len(rows) * 7) % 120 - 60
            rows.append(
                Obligation(
                    clause=clause,
                    department=body,
                    status=status,
                    due_date=NOW.date() + dt.timedelta(days=offset),
                    submitted_at=at("2025-03-01") if status in (S.SUBMITTED, S.VERIFIED) else None,
                    submitted_by=cast["alice"] if status == S.SUBMITTED else None,
                    verified_at=at("2025-03-02") if status == S.VERIFIED else None,
                    last_activity_at=at("2025-03-03"),
                )
            )
    created = Obligation.objects.bulk_create(rows)
    ProgressEntry.objects.bulk_create(
        ProgressEntry(
            obligation=o, department=o.department, author=cast["alice"], text="进展", created_at=at("2025-03-03")
        )
        for o in created
    )
    assert Obligation.objects.count() == total


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("who", ["lena", "alice"])
def test_query_count_is_the_same_for_10_and_1000_obligations(client, departments, cast, frozen, who):
    reg = make_regulation()
    client.force_login(cast[who])
    populate(reg, cast, 10)
    count_queries(client, PAGES[0])  # what a process reads once (the holiday schedule) is read
    many_regulations()  # and whether citations name their regulation (once a minute per process)
    small = {url: count_queries(client, url) for url in PAGES}
    populate(reg, cast, 1000)
    large = {url: count_queries(client, url) for url in PAGES}
    assert large == small
    # And the lists really were full: the overdue list and the queue have rows to show.
    client.force_login(cast["lena"])
    assert client.get(f"{API}overdue/").json()["count"] > 100
    assert client.get(f"{API}queue/?limit=5").json()["results"][4]["submitted_by"] == "alice"
    first_two = client.get(f"{API}overdue/?limit=2").json()["results"]
    second = client.get(f"{API}overdue/?limit=1&offset=1").json()["results"]
    assert second[0]["id"] == first_two[1]["id"]
