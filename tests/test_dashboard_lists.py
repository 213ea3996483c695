"""The whole lists behind the dashboard's first screen (issue 26): the verification queue as a page
of its own (paged, sortable, filters kept, 核验通过 / 退回 in place), every pending objection and
extension request, and who sees what on them.

The data are tests/test_dashboard.py's known set (today 2025-03-12) with five submissions:

    历下区 art.2   no due date   submitted 03-05
    大数据局 art.1 due 03-01     submitted 03-07
    发改委 art.1   due 03-10     submitted 03-09
    发改委 art.3   due 03-18     submitted 03-10
    大数据局 art.2 due 03-17     submitted 03-11
"""

import datetime as dt
import re

import pytest
import time_machine

from dashboard import views
from obligations.models import AuditEntry, ExtensionRequest, Objection, Obligation
from tests.test_dashboard import NOW, S, at, build_known

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def five(departments, cast, frozen):
    o = build_known(departments, cast)["o"]
    for name, submitted in [("lixia2", "03-05"), ("dsj1", "03-07"), ("fgw3", "03-10"), ("dsj2", "03-11")]:
        Obligation.objects.filter(pk=o[name].pk).update(status=S.SUBMITTED, submitted_at=at(f"2025-{submitted}"))
    return o


@pytest.fixture
def pages_of_two(monkeypatch):
    monkeypatch.setattr(views, "PAGE_QUEUE_ROWS", 2)


def ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-obligation-id="(\d+)"', html)]


def names(o, *keys) -> list[int]:
    return [o[k].pk for k in keys]


def queue_page(client, query="") -> str:
    response = client.get(f"/dashboard/queue/{query}")
    assert response.status_code == 200
    return response.content.decode()


# --- Sorting ------------------------------------------------------------------------------------


def body_order(o, keys, descending=False):
    """The registry's order of the bodies (or its reverse), each body's oldest submission first."""
    oldest_first = sorted(keys, key=lambda k: o[k].submitted_at)
    grouped = sorted(oldest_first, key=lambda k: (o[k].department.sort_order, o[k].department.code), reverse=descending)
    return [o[k].pk for k in grouped]


def test_the_queue_page_sorts_on_each_column_both_ways(client, cast, five):
    o = {k: Obligation.objects.select_related("department").get(pk=v.pk) for k, v in five.items()}
    client.force_login(cast["lena"])
    oldest_first = names(o, "lixia2", "dsj1", "fgw1", "fgw3", "dsj2")
    assert ids(queue_page(client)) == oldest_first
    assert ids(queue_page(client, "?sort=submitted")) == oldest_first
    assert ids(queue_page(client, "?sort=-submitted")) == oldest_first[::-1]
    # Due date: earliest first; no date last either way.
    assert ids(queue_page(client, "?sort=due")) == names(o, "dsj1", "fgw1", "dsj2", "fgw3", "lixia2")
    assert ids(queue_page(client, "?sort=-due")) == names(o, "fgw3", "dsj2", "fgw1", "dsj1", "lixia2")
    # Body: the registry's order, each body's oldest submission first.
    keys = ["lixia2", "dsj1", "fgw1", "fgw3", "dsj2"]
    assert ids(queue_page(client, "?sort=body")) == body_order(o, keys)
    assert ids(queue_page(client, "?sort=-body")) == body_order(o, keys, descending=True)
    # Citation: article by article, each article's bodies in the registry's order.
    by_citation = ids(queue_page(client, "?sort=citation"))
    assert [Obligation.objects.get(pk=i).clause.article.number for i in by_citation] == [1, 1, 2, 2, 3]
    assert ids(queue_page(client, "?sort=-citation"))[0] == o["fgw3"].pk
    # Anything else is the default order, never an error.
    for junk in ("?sort=--due", "?sort=id", "?sort=%27"):
        assert ids(queue_page(client, junk)) == oldest_first


def test_sort_links_keep_the_filters_and_say_which_column_is_sorted(client, cast, five):
    client.force_login(cast["lena"])
    html = queue_page(client, "?level=city&sort=due&page=1")
    # The active column flips its direction; the others start ascending; all keep the filter.
    assert (
        '<th scope="col" aria-sort="ascending"><a href="?level=city&amp;sort=-due" data-sort="due">完成期限 ▲</a>'
        in html
    )
    assert '<a href="?level=city&amp;sort=body" data-sort="body">责任单位</a>' in html
    assert '<a href="?level=city&amp;sort=submitted" data-sort="submitted">提交时间</a>' in html
    # The filter holds: 历下区 (a district) is not in the city-level queue.
    assert ids(html) == [five[k].pk for k in ("dsj1", "fgw1", "dsj2", "fgw3")]
    assert "待核验（4）" in html
    # The filter box keeps the sort when the filters change; the way back keeps the filters.
    assert '<input type="hidden" name="sort" value="due">' in html
    assert '<a href="/dashboard/?level=city">← 返回督办看板</a>' in html
    descending = queue_page(client, "?level=city&sort=-due")
    assert 'aria-sort="descending"><a href="?level=city&amp;sort=due" data-sort="due">完成期限 ▼</a>' in descending


# --- Paging -------------------------------------------------------------------------------------


def test_the_queue_page_is_paged_in_its_order_with_the_filters_kept(client, cast, five, pages_of_two):
    client.force_login(cast["lena"])
    order = [five[k].pk for k in ("dsj1", "fgw1", "dsj2", "fgw3", "lixia2")]  # by due date
    seen = []
    for number in (1, 2, 3):
        html = queue_page(client, f"?sort=due&level=&page={number}")
        seen += ids(html)
        assert f"第 {number} / 3 页" in html and "待核验（5）" in html
    assert seen == order
    middle = queue_page(client, "?sort=due&page=2")
    assert '<a href="?sort=due&amp;page=1" rel="prev">上一页</a>' in middle
    assert '<a href="?sort=due&amp;page=3" rel="next">下一页</a>' in middle
    filtered = queue_page(client, "?level=city&page=2")
    assert '<a href="?level=city&amp;page=1" rel="prev">上一页</a>' in filtered
    # Past the end: the last page; not a number: the first.
    assert ids(queue_page(client, "?sort=due&page=99")) == order[4:]
    assert ids(queue_page(client, "?sort=due&page=x")) == order[:2]
    assert ids(queue_page(client, "?sort=due&page=-3")) == order[:2]


def test_the_first_screen_shows_the_oldest_five_and_the_way_to_the_rest(client, cast, five):
    Obligation.objects.filter(pk=five["fgw1b"].pk).update(status=S.SUBMITTED, submitted_at=at("2025-03-12", "08:00"))
    client.force_login(cast["lena"])
    html = client.get("/dashboard/?level=city").content.decode()
    shown = [int(i) for i in re.findall(r'<li data-obligation-id="(\d+)"', html)]
    assert shown == [five[k].pk for k in ("dsj1", "fgw1", "fgw3", "dsj2", "fgw1b")]
    html = client.get("/dashboard/").content.decode()
    shown = [int(i) for i in re.findall(r'<li data-obligation-id="(\d+)"', html)]
    assert shown == [five[k].pk for k in ("lixia2", "dsj1", "fgw1", "fgw3", "dsj2")]  # 6 waiting, 5 shown
    assert "待核验（6）" in html and '<a href="/dashboard/queue/" id="queue-all">查看全部（6）并核验</a>' in html
    # The filters go along to the queue page (the bodies table's sort does not).
    html = client.get("/dashboard/?level=city&sort=-assigned").content.decode()
    assert '<a href="/dashboard/queue/?level=city" id="queue-all">' in html


# --- Actions on the queue page ------------------------------------------------------------------


def post(client, obligation, action, query="", reason="", **headers):
    obligation.refresh_from_db()
    return client.post(
        f"/dashboard/queue/{obligation.pk}/{query}",
        {"action": action, "reason": reason, "version": obligation.version},
        **headers,
    )


def test_actions_answer_with_the_same_page_and_order(client, cast, five, pages_of_two):
    client.force_login(cast["lena"])
    html = queue_page(client, "?level=city&sort=due&page=2")
    # Each row's form posts back with the list's address, so the answer is this page again.
    dsj2 = five["dsj2"]
    assert f'hx-post="/dashboard/queue/{dsj2.pk}/?level=city&amp;sort=due&amp;page=2"' in html
    response = post(client, dsj2, "verify", "?level=city&sort=due&page=2", **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "dashboard-changed"
    fragment = response.content.decode()
    assert "<html" not in fragment and "已核验通过。" in fragment and "待核验（3）" in fragment
    # Page 2 of the city queue by due date now: 发改委 art.3 alone (大数据局 art.2 is verified).
    assert ids(fragment) == [five["fgw3"].pk] and "第 2 / 2 页" in fragment
    dsj2.refresh_from_db()
    assert (dsj2.status, dsj2.verified_by) == (S.VERIFIED, cast["lena"])
    assert AuditEntry.objects.filter(obligation=dsj2, actor=cast["lena"]).exists()
    # Returning the last row of the last page comes back to the page before it.
    response = post(client, five["fgw3"], "return", "?level=city&sort=due&page=2", reason="材料不全", **HTMX)
    assert response.status_code == 200 and "已退回。" in response.content.decode()
    assert ids(response.content.decode()) == [five["dsj1"].pk, five["fgw1"].pk]
    # A return without a reason is refused, the page drawn again with the message.
    response = post(client, five["fgw1"], "return", "?sort=due", **HTMX)
    assert response.status_code == 422 and "退回时请填写意见。" in response.content.decode()
    assert "HX-Trigger" not in response


def test_without_javascript_an_action_comes_back_to_the_queue_page(client, cast, five):
    client.force_login(cast["lena"])
    response = post(client, five["fgw1"], "verify", "?level=city&sort=-due&page=1")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/queue/?level=city&sort=-due&page=1"
    html = client.get(response["Location"]).content.decode()
    assert "已核验通过。" in html and "待核验（3）" in html


# --- Who sees what ------------------------------------------------------------------------------


def test_staff_read_their_own_bodys_queue_without_buttons(client, cast, five):
    client.force_login(cast["carol"])  # 发改委
    html = queue_page(client)
    assert ids(html) == [five["fgw1"].pk, five["fgw3"].pk]
    assert "hx-post=" not in html and "核验通过" not in html and "待核验队列（" in html
    # The body filter is not theirs to use; asking for another body shows nothing of it.
    assert 'name="department"' not in html
    assert ids(queue_page(client, "?department=JN-DSJ")) == []
    assert post(client, five["fgw1"], "verify", **HTMX).status_code == 403
    client.force_login(cast["alice"])  # 大数据局: not even visible
    assert post(client, five["fgw1"], "verify", **HTMX).status_code == 404
    assert Obligation.objects.get(pk=five["fgw1"].pk).status == S.SUBMITTED


def test_auditors_read_the_whole_queue_and_change_nothing(client, cast, five):
    client.force_login(cast["audrey"])
    html = queue_page(client, "?sort=due")
    assert len(ids(html)) == 5 and "hx-post=" not in html and '<form class="queue-action"' not in html
    assert post(client, five["fgw1"], "verify", **HTMX).status_code == 403
    assert Obligation.objects.get(pk=five["fgw1"].pk).status == S.SUBMITTED


def test_the_list_pages_need_a_login(client):
    for url in ("/dashboard/queue/", "/dashboard/objections/", "/dashboard/extensions/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


# --- Objections and extension requests ----------------------------------------------------------


@pytest.fixture
def requests_(five, departments, cast):
    """Three objections (大数据局 ×2, 发改委) and three extension requests (历下区, 发改委 ×2), a day apart."""
    objections = [
        Objection.objects.create(
            obligation=five[name],
            department=five[name].department,
            raised_by=cast[who],
            raised_at=at(f"2025-03-0{day}"),
            reason=f"异议{day}",
        )
        for day, name, who in [(3, "dsj2", "alice"), (4, "fgw3", "carol"), (5, "dsj1", "bob")]
    ]
    extensions = [
        ExtensionRequest.objects.create(
            obligation=five[name],
            requested_by=cast[who],
            requested_at=at(f"2025-03-0{day}"),
            requested_date=dt.date(2025, 4, day),
            reason=f"延期{day}",
        )
        for day, name, who in [(6, "lixia1", "dave"), (7, "fgw3", "carol"), (8, "fgw1", "carol")]
    ]
    return {"objections": objections, "extensions": extensions}


def test_every_pending_objection_and_extension_has_a_paged_page(client, cast, requests_, pages_of_two):
    client.force_login(cast["lena"])
    for name, prefix, kind in [("objections", "异议", "objection"), ("extensions", "延期", "extension")]:
        rows = requests_[name]
        first = client.get(f"/dashboard/{name}/").content.decode()
        second = client.get(f"/dashboard/{name}/?page=2").content.decode()
        assert re.findall(rf'data-{kind}-id="(\d+)"', first) == [str(r.pk) for r in rows[:2]]  # oldest first
        assert re.findall(rf'data-{kind}-id="(\d+)"', second) == [str(rows[2].pk)]
        assert "（3）" in first and "第 1 / 2 页" in first and "第 2 / 2 页" in second
        assert f"{prefix}" in first and (">处理</a>" in first or ">审批</a>" in first)
        # The filter holds, on the page and in its pager.
        city = client.get(f"/dashboard/{name}/?level=district").content.decode()
        assert len(re.findall(rf'data-{kind}-id="', city)) == (0 if name == "objections" else 1)
    html = client.get("/dashboard/").content.decode()
    assert '<a href="/dashboard/objections/">查看全部（3）</a>' in html
    assert '<a href="/dashboard/extensions/">查看全部（3）</a>' in html


def test_staff_see_only_their_own_bodys_requests(client, cast, requests_):
    client.force_login(cast["carol"])  # 发改委
    objections = client.get("/dashboard/objections/").content.decode()
    extensions = client.get("/dashboard/extensions/").content.decode()
    assert re.findall(r'data-objection-id="(\d+)"', objections) == [str(requests_["objections"][1].pk)]
    assert re.findall(r'data-extension-id="(\d+)"', extensions) == [str(r.pk) for r in requests_["extensions"][1:]]
    assert ">处理</a>" not in objections and ">审批</a>" not in extensions and ">查看</a>" in extensions
