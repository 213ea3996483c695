"""The dashboard's first screen and its sections (issue 15): what the first screen holds, each
section alone (the fragment htmx swaps in) and in the page (?tab=), each aggregate computed once
per request, and the queue's 核验通过 / 退回 through the workflow service with the refresh event.

The data are tests/test_dashboard.py's known set (today 2025-03-12)."""

import datetime as dt
import json
import re
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard import views
from obligations.models import AuditEntry, ExtensionRequest, Objection, Obligation
from tests.test_dashboard import NOW, S, at, build_known

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def known(departments, cast):
    return build_known(departments, cast)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def pending(known, cast, departments):
    """An objection from 大数据局 and an extension request from 历下区, both awaiting the lead."""
    objection = Objection.objects.create(
        obligation=known["o"]["dsj2"],
        department=departments["JN-DSJ"],
        raised_by=cast["alice"],
        raised_at=at("2025-03-05"),
        reason="该项职责属于发改委",
        suggested_department=departments["JN-FGW"],
    )
    extension = ExtensionRequest.objects.create(
        obligation=known["o"]["lixia1"],
        requested_by=cast["dave"],
        requested_at=at("2025-03-10"),
        requested_date=dt.date(2025, 4, 30),
        reason="需等待省级文件印发",
    )
    return {"objection": objection, "extension": extension}


def section_ids(html: str) -> list[str]:
    return re.findall(r'<section class="card[\w ]*" id="sec-(\w+)"', html)


def test_first_screen_holds_what_needs_the_lead_now_and_nothing_else(client, known, cast, pending, frozen):
    client.force_login(cast["lena"])
    html = client.get("/dashboard/").content.decode()
    assert section_ids(html) == ["headline", "queue", "red", "objections", "extensions"]
    assert "待核验（1）" in html
    # The red bodies, most overdue first: 大数据局 (art.1, 11 days) and 历下区 (art.1, 1 day).
    assert re.findall(r'data-red-body="([\w-]+)"', html) == ["JN-DSJ", "JN-LIXIA"]
    assert "亮红灯的单位（2）" in html
    assert "待处理异议（1）" in html and "该项职责属于发改委" in html and "建议改由" in html
    assert "待审批延期申请（1）" in html and "2025-04-30" in html and "需等待省级文件印发" in html
    assert ">处理</a>" in html and ">审批</a>" in html  # the lead decides (on the obligation page)
    # The queue's oldest few, each a link, and the way to the whole queue (where the buttons are).
    assert re.findall(r'<li data-obligation-id="(\d+)"', html) == [str(known["o"]["fgw1"].pk)]
    assert 'href="/dashboard/queue/" id="queue-all">查看全部（1）并核验</a>' in html and "hx-post=" not in html
    assert 'href="/dashboard/objections/">查看全部（1）' in html
    assert 'href="/dashboard/extensions/">查看全部（1）' in html
    # The rest is one click away: a tab per section, as a link (no JS) and an htmx fragment.
    for name in views.TABS:
        assert f'href="/dashboard/?tab={name}" role="tab"' in html
        assert f'hx-get="/dashboard/section/{name}/" hx-target="#section-panel"' in html
    assert "逾期清单（" not in html and 'id="chart-bodies"' not in html


def test_staff_first_screen_is_their_own_body_without_decisions(client, known, cast, pending, frozen):
    client.force_login(cast["alice"])  # 大数据局
    html = client.get("/dashboard/").content.decode()
    assert re.findall(r'data-red-body="([\w-]+)"', html) == ["JN-DSJ"]
    assert "待处理异议（1）" in html and "待审批延期申请（0）" in html  # 历下区's request is not theirs
    assert ">处理</a>" not in html and ">查看</a>" in html and "hx-post=" not in html
    assert "查看全部（1）并核验" not in html  # the queue is theirs to read, not to verify


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("status", "状态分布"),
        ("bodies", 'data-department="JN-FGW"'),
        ("chapters", "第二章 保障"),
        ("grid", "条文 × 责任单位"),
        ("overdue", "逾期清单（2）"),
        ("trend", "趋势（自 2025-02-24 起，按周）"),
    ],
)
def test_each_section_alone_and_in_the_page(client, known, cast, frozen, name, expected):
    client.force_login(cast["lena"])
    fragment = client.get(f"/dashboard/section/{name}/", **HTMX).content.decode()
    assert expected in fragment
    assert section_ids(fragment) == [name] and "<html" not in fragment
    # It refreshes itself, with the same filters, when the queue changes something.
    assert f'hx-get="/dashboard/section/{name}/" hx-trigger="dashboard-changed from:body"' in fragment
    page = client.get(f"/dashboard/?tab={name}").content.decode()
    assert section_ids(page) == ["headline", "queue", "red", "objections", "extensions", name]
    assert expected in page and f'id="tab-{name}" aria-controls="section-panel" aria-selected="true"' in page


def test_sections_keep_the_filters_and_charts_keep_their_tables(client, known, cast, frozen):
    client.force_login(cast["lena"])
    page = client.get("/dashboard/?level=district&sort=-assigned").content.decode()
    assert 'href="/dashboard/?level=district&amp;sort=-assigned&amp;tab=bodies"' in page
    fragment = client.get("/dashboard/section/bodies/?level=district&sort=-assigned").content.decode()
    assert re.findall(r'data-department="([\w-]+)"', fragment) == ["JN-LIXIA"]
    assert 'hx-get="/dashboard/section/bodies/?level=district&amp;sort=-assigned"' in fragment
    # A sort link stays within the filters, for the page and for the fragment.
    assert 'href="/dashboard/?level=district&amp;sort=name&amp;tab=bodies"' not in fragment
    assert 'href="/dashboard/?level=district&amp;sort=-name&amp;tab=bodies"' in fragment
    for name, charts in {"status": ["status"], "bodies": ["bodies"], "chapters": ["chapters"]}.items():
        html = client.get(f"/dashboard/section/{name}/").content.decode()
        for chart in charts:
            assert f'data-chart="{chart}" data-values="[{{&quot;' in html
        assert "<script" not in html and "<table" in html
    trend = client.get("/dashboard/section/trend/").content.decode()
    assert 'data-chart="trend"' in trend and 'data-chart="burndown"' in trend and "趋势数据表" in trend


def test_a_fragment_reads_nothing_it_does_not_show(client, known, cast, frozen):
    """A fragment has no nav: the unread-message badge is counted on the page only."""
    client.force_login(cast["lena"])
    for url, counted in [("/dashboard/section/grid/", False), ("/dashboard/", True)]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        badge = [q for q in queries.captured_queries if 'FROM "notifications_notification"' in q["sql"]]
        assert len(badge) == (1 if counted else 0), url


def test_unknown_section_is_404(client, cast):
    client.force_login(cast["lena"])
    assert client.get("/dashboard/section/nothing/").status_code == 404
    client.logout()
    assert client.get("/dashboard/section/bodies/").status_code == 302


@pytest.mark.parametrize("url", ["/dashboard/", "/dashboard/?tab=status", "/dashboard/?tab=bodies"])
def test_no_aggregate_is_computed_twice_in_one_request(client, known, cast, pending, frozen, url):
    client.force_login(cast["lena"])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == len(set(sql)), [q for q in sql if sql.count(q) > 1]
    # The queue's count is the headline's 待核验, not a second COUNT; the status tab's figures are
    # the headline's; the short lists count nothing (they have fewer rows than they show).
    counts = [q for q in sql if '"__count"' in q and 'FROM "obligations_' in q]
    # (The one count is of undated submissions, to page the queue along its index.)
    assert [q for q in counts if '"submitted_at" IS NULL' not in q] == []
    assert len([q for q in sql if "FILTER (WHERE" in q and '"obligations_obligation"."status" = ' in q]) == (
        2 if url.endswith("bodies") else 1
    )


# --- The queue's actions --------------------------------------------------------------------------


def queue_post(client, obligation, action, reason="", version=None, query="", **headers):
    obligation.refresh_from_db()
    return client.post(
        f"/dashboard/queue/{obligation.pk}/{query}",
        {"action": action, "reason": reason, "version": version or obligation.version},
        **headers,
    )


def test_verify_from_the_queue_answers_the_fresh_queue_and_the_refresh_event(client, known, cast, frozen):
    fgw1 = known["o"]["fgw1"]
    client.force_login(cast["lena"])
    response = queue_post(client, fgw1, "verify", query="?level=city", **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "dashboard-changed"
    html = response.content.decode()
    assert '<section class="card" id="queue-page"' in html and "<html" not in html  # the queue page's list
    assert "待核验（0）" in html and "已核验通过。" in html and "msg-ok" in html
    fgw1.refresh_from_db()
    assert (fgw1.status, fgw1.verified_by) == (S.VERIFIED, cast["lena"])
    assert AuditEntry.objects.filter(obligation=fgw1, actor=cast["lena"]).exists()  # the service wrote it
    # What the refreshed sections then show.
    headline = client.get("/dashboard/section/headline/").content.decode()
    assert '<span class="figure-value">0</span><span class="figure-label">待核验' in headline


def test_return_needs_a_reason_and_then_goes_through(client, known, cast, frozen):
    fgw1 = known["o"]["fgw1"]
    client.force_login(cast["lena"])
    response = queue_post(client, fgw1, "return", **HTMX)
    assert response.status_code == 422 and "HX-Trigger" not in response
    assert "退回时请填写意见。" in response.content.decode() and "待核验（1）" in response.content.decode()
    fgw1.refresh_from_db()
    assert fgw1.status == S.SUBMITTED
    response = queue_post(client, fgw1, "return", reason="材料不全", **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "dashboard-changed"
    assert "已退回。" in response.content.decode()
    fgw1.refresh_from_db()
    assert fgw1.status == S.IN_PROGRESS


def test_a_stale_version_is_refused_with_the_queue_redrawn(client, known, cast, frozen):
    fgw1 = known["o"]["fgw1"]
    client.force_login(cast["lena"])
    response = queue_post(client, fgw1, "verify", version=fgw1.version + 5, **HTMX)
    assert response.status_code == 409 and "HX-Trigger" not in response
    assert "msg-error" in response.content.decode()
    assert Obligation.objects.get(pk=fgw1.pk).status == S.SUBMITTED


def test_staff_cannot_verify_from_the_queue(client, known, cast, frozen):
    fgw1 = known["o"]["fgw1"]
    client.force_login(cast["carol"])  # 发改委 staff: sees it, may not verify it
    assert queue_post(client, fgw1, "verify", **HTMX).status_code == 403
    client.force_login(cast["alice"])  # another body: does not even see it
    assert queue_post(client, fgw1, "verify", **HTMX).status_code == 404
    assert client.get(f"/dashboard/queue/{fgw1.pk}/").status_code == 405
    assert Obligation.objects.get(pk=fgw1.pk).status == S.SUBMITTED


def test_without_javascript_the_form_posts_and_comes_back_to_the_page(client, known, cast, frozen):
    fgw1 = known["o"]["fgw1"]
    client.force_login(cast["lena"])
    response = queue_post(client, fgw1, "verify", query="?level=city&sort=due&tab=bodies")
    assert response.status_code == 302 and response["Location"] == "/dashboard/queue/?level=city&sort=due"
    page = client.get(response["Location"]).content.decode()
    assert "已核验通过。" in page and "待核验（0）" in page


def test_queue_order_puts_undated_submissions_first_and_pages_across_them(client, known, cast, frozen):
    # Two submissions without a recorded moment (imported history) before 发改委 art.1 (03-09),
    # and 大数据局 art.2 handed in on 03-11.
    o = known["o"]
    Obligation.objects.filter(pk__in=[o["lixia2"].pk, o["dsj1"].pk]).update(status=S.SUBMITTED, submitted_at=None)
    Obligation.objects.filter(pk=o["dsj2"].pk).update(status=S.SUBMITTED, submitted_at=at("2025-03-11"))
    expected = sorted([o["lixia2"].pk, o["dsj1"].pk]) + [o["fgw1"].pk, o["dsj2"].pk]
    client.force_login(cast["lena"])
    whole = client.get("/api/dashboard/queue/").json()
    assert [r["id"] for r in whole["results"]] == expected and whole["count"] == 4
    for offset in range(5):
        page = client.get(f"/api/dashboard/queue/?limit=2&offset={offset}").json()
        assert [r["id"] for r in page["results"]] == expected[offset : offset + 2], offset


def test_the_filter_selects_echo_the_choice_and_escape_names(client, known, cast, departments, frozen):
    departments["JN-FGW"].__class__.objects.filter(pk=departments["JN-FGW"].pk).update(name="市发改委<b>")
    client.force_login(cast["lena"])
    html = client.get("/dashboard/?department=JN-FGW&regulation=reg-test").content.decode()
    assert '<option value="JN-FGW" selected>市发改委&lt;b&gt;</option>' in html
    assert '<option value="reg-test" selected>测试条例 reg-test</option>' in html
    assert '<select name="department" id="id_department">' in html
    assert '<option value="">全部单位</option>' in html
    # The folded filter box says what is filtered.
    assert "（已筛选：《测试条例 reg-test》、市发改委" in html


def _status_rows(html: str) -> dict[str, str]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', body))


def test_status_section_shows_repealed_only_where_there_are_any_with_the_api_figure(client, known, cast, frozen):
    client.force_login(cast["lena"])
    html = client.get("/dashboard/section/status/").content.decode()
    assert "已废止" not in html and "&quot;repealed&quot;" not in html
    assert client.get("/api/dashboard/summary/").json()["repealed"] == 0
    # An amendment deleted a clause: its obligation is 已废止 (fixture data, as build_known writes it).
    Obligation.objects.filter(pk=known["o"]["dsj1"].pk).update(status=Obligation.Status.REPEALED)
    api = client.get("/api/dashboard/summary/").json()
    html = client.get("/dashboard/section/status/").content.decode()
    rows = _status_rows(html)
    assert api["repealed"] == 1 and rows["已废止"] == str(api["repealed"])
    # The total is of the obligations still in force (obligations.figures.TOTAL_RULE), and says so.
    assert rows["未启动"] == str(api["not_started"]) and rows["合计（不含已废止）"] == str(api["total"])
    assert api["total"] == sum(api[s] for s in ("not_started", "in_progress", "submitted", "verified"))
    chart = json.loads(unescape(re.search(r'data-chart="status" data-values="([^"]*)"', html).group(1)))
    assert chart[-1] == {"key": "repealed", "name": "已废止", "value": api["repealed"]}
    assert "已废止" in client.get("/dashboard/?tab=status").content.decode()
