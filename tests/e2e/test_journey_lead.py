"""Journey 2: the 工信局 lead reads the dashboard, drills into a district, verifies one submission,
returns another with a reason and sets a deadline; the district's staff then see the result."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from obligations.models import Obligation, today
from tests.e2e.conftest import login, screenshot
from tests.e2e.data import act, owned_by, set_due, submit_with_link

RETURN_REASON = "佐证材料未体现区级实施方案，请补充正式印发文件后重新提交。"


@pytest.fixture
def lead_world(regulation, cast):
    lena, dave, alice = cast["lena"], cast["dave"], cast["alice"]
    lixia = list(owned_by("JN-LIXIA")[:3])
    first, second = submit_with_link(lixia[0], dave), submit_with_link(lixia[1], dave)
    act(lixia[2], dave, "start")
    own = list(owned_by("JN-DSJ")[:3])
    submit_with_link(own[0], alice)
    act(own[0], lena, "verify")
    act(own[1], alice, "start")
    set_due(own[2], lena, today() - dt.timedelta(days=10))
    return {"first": first, "second": second}


def figure(page, label: str) -> str:
    return page.locator(f".figure:has(.figure-label:text-is('{label}')) .figure-value").inner_text()


def status_table(page) -> dict[str, str]:
    rows = page.locator("#chart-status + table tbody tr")
    return {rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").inner_text() for i in range(rows.count())}


def open_tab(page, name: str) -> None:
    """The sections past the first screen are one click away (htmx swaps them in)."""
    page.locator(f".dash-tabs a[data-tab={name}]").click()
    page.locator(f"#section-panel #sec-{name}").wait_for()


def assert_chart_drawn(page, chart_id: str) -> None:
    # ECharts draws into a <canvas> (canvas renderer) or an <svg> (svg renderer, what
    # static/js/dashboard.js uses); either way the drawing must be there and have a size.
    # The section is swapped in by htmx and the chart drawn after it settles: wait for a drawing
    # with a size rather than read the first element attached (it can be replaced a moment later).
    page.wait_for_function(
        """(id) => {
            const el = document.querySelector(`#${id} canvas, #${id} svg`);
            if (!el) return false;
            const box = el.getBoundingClientRect();
            return box.width > 100 && box.height > 100;
        }""",
        arg=chart_id,
    )
    box = page.locator(f"#{chart_id} canvas, #{chart_id} svg").first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, (chart_id, box)
    # Something was drawn in it, not only an empty frame.
    page.locator(f"#{chart_id} svg path, #{chart_id} canvas").first.wait_for(state="attached")


def assert_charts_drawn(page):
    """Every section with a chart, opened in turn; the bodies section is left open."""
    for tab, charts in [
        ("status", ["chart-status"]),
        ("chapters", ["chart-chapters"]),
        ("trend", ["chart-trend", "chart-burndown"]),
        ("bodies", ["chart-bodies"]),
    ]:
        open_tab(page, tab)
        for chart_id in charts:
            assert_chart_drawn(page, chart_id)


def test_lead_reads_dashboard_drills_down_verifies_returns_and_sets_a_deadline(page, live_server, cast, lead_world):
    first, second = lead_world["first"], lead_world["second"]
    active = Obligation.objects.active()

    login(page, live_server, "lena")
    page.goto(f"{live_server.url}/dashboard/")
    assert page.locator("h1").inner_text() == "督办看板"
    assert figure(page, "义务总数") == str(active.count())
    assert figure(page, "逾期") == str(active.overdue().count()) == "1"
    assert figure(page, "待核验") == "2"
    open_tab(page, "status")
    numbers = status_table(page)
    for status in Obligation.Status:
        # A state with no obligation (已废止 before any amendment) may be left out of the table.
        assert numbers.get(status.label, "0") == str(active.filter(status=status).count()), status
    assert numbers["已核验"] == "1" and numbers["待核验"] == "2" and numbers["推进中"] == "2"
    assert_charts_drawn(page)
    assert page.csp_errors == []
    queue = page.locator("#sec-queue li[data-obligation-id]")
    assert {int(i) for i in queue.evaluate_all("rows => rows.map(r => r.dataset.obligationId)")} == {
        first.pk,
        second.pk,
    }
    screenshot(page, "lead-dashboard")

    # Only the district governments (the filters are folded away until asked for); the open
    # section stays open.
    page.click(".filters-box > summary")
    page.select_option("#id_level", "district")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/dashboard/?*level=district*")
    assert "tab=bodies" in page.url
    districts = active.filter(department__level="district")
    assert figure(page, "义务总数") == str(districts.count())
    levels = set(page.locator("tr[data-department] td:last-child").all_inner_texts())
    assert levels == {"区县级"}
    assert page.locator("tr[data-department='JN-LIXIA']").count() == 1
    assert page.locator("tr[data-department='JN-DSJ']").count() == 0
    assert_chart_drawn(page, "chart-bodies")
    assert "区县级" in page.locator(".filters-box > summary").inner_text()
    screenshot(page, "lead-dashboard-districts")

    # Drill into 历下区: its obligations and nobody else's.
    lixia_row = page.locator("tr[data-department='JN-LIXIA']")
    assert lixia_row.locator("td.num").nth(2).inner_text() == "2"  # 待核验
    lixia_row.locator("th a").click()
    page.wait_for_url("**/tasks/?department=JN-LIXIA")
    bodies = set(page.locator("table.tasks tbody tr td:nth-child(4)").all_inner_texts())
    assert bodies == {"历下区政府"}
    assert f"共 {active.filter(department__code='JN-LIXIA').count()} 项" in page.locator("main").inner_text()
    screenshot(page, "lead-tasks-lixia")

    # Verify one submission on the queue page (reached from the dashboard with the filter kept),
    # return the other with a reason.
    page.goto(f"{live_server.url}/dashboard/?level=district")
    page.click("#queue-all")
    page.wait_for_url("**/dashboard/queue/?level=district")
    page.locator(f"tr[data-obligation-id='{first.pk}'] button[value=verify]").click()
    expect(page.locator(".queue-status.msg-ok")).to_have_text("已核验通过。")
    row = page.locator(f"tr[data-obligation-id='{second.pk}']")
    row.locator("button[value=return]").click()
    expect(page.locator(".queue-status.msg-error")).to_have_text("退回时请填写意见。")  # a reason is required
    row.locator("input[name=reason]").fill(RETURN_REASON)
    row.locator("button[value=return]").click()
    expect(page.locator(".queue-status.msg-ok")).to_have_text("已退回。")
    expect(page.locator("#h-queue-page")).to_have_text("待核验（0）")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Obligation.Status.VERIFIED and first.verified_by == cast["lena"]
    assert second.status == Obligation.Status.IN_PROGRESS
    page.reload()
    assert page.locator("tr[data-obligation-id]").count() == 0
    assert "暂无待核验事项" in page.locator("#h-queue-page + .queue-status + p").inner_text()

    # Set a deadline on the returned obligation.
    due = today() + dt.timedelta(days=30)
    page.goto(f"{live_server.url}/obligations/{second.pk}/")
    page.click("summary:has-text('设置/调整完成期限')")
    page.fill("#id_due_date-due_date", due.isoformat())
    page.fill("#id_due_date-reason", "退回后重新约定完成期限")
    page.click("button:has-text('保存期限')")
    expect(page.locator(".messages")).to_contain_text("完成期限已调整")
    assert due.isoformat() in page.locator(".summary").inner_text()
    screenshot(page, "lead-obligation-returned")

    # The district's staff see the returned state, the reason and the new deadline.
    page.context.clear_cookies()
    login(page, live_server, "dave")
    page.goto(f"{live_server.url}/tasks/")
    row = page.locator(f"table.tasks tr:has(a[href='/obligations/{second.pk}/'])")
    assert row.locator(".status").inner_text() == "推进中"
    assert due.isoformat() in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_url(f"**/obligations/{second.pk}/")
    assert page.locator(".summary .status").inner_text() == "推进中"
    assert RETURN_REASON in page.locator("main").inner_text()
    # They can work on it again and resubmit.
    assert page.locator(".actions button:has-text('提交核验')").count() == 1
    screenshot(page, "staff-sees-returned")
