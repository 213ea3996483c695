"""Journey 1b (issue 15): staff hear the lead's decisions, on a desktop and on a phone.

A returned submission is marked 已退回 in 我的任务 until opened, and its reason heads the
obligation page; 提交核验 says what is missing before the click; refusals are said at the top;
messages name what happened; notices carry no raw address; 我的任务 is a list of cards on a
390 px phone; the 升级确认情况 page is a Chinese 403; the site has an icon.
"""

import datetime as dt

import pytest
from playwright.sync_api import expect

from notifications import outbox
from notifications.models import Notification
from obligations.models import Obligation, today
from tests.e2e.conftest import PHONE, login, screenshot
from tests.e2e.data import act, owned_by, set_due, submit_with_link

REASON = "佐证材料缺少盖章的正式印发文件，请补充后重新提交。"


@pytest.fixture
def decided(regulation, cast):
    """alice's body (大数据局): one submission returned by the lead, one verified, one whose due
    date the lead moved, one untouched; the notices delivered as the worker would."""
    lena, alice = cast["lena"], cast["alice"]
    own = list(owned_by("JN-DSJ")[:4])
    returned = act(submit_with_link(own[0], alice), lena, "return", REASON)
    verified = act(submit_with_link(own[1], alice), lena, "verify")
    moved = set_due(own[2], lena, today() + dt.timedelta(days=40), "首次设定")
    moved = set_due(moved, lena, today() + dt.timedelta(days=60), "配合全省统一部署，延后二十天")
    outbox.deliver_pending()
    return {"returned": returned, "verified": verified, "moved": moved, "untouched": own[3]}


def row(page, obligation):
    return page.locator(f"table.tasks tbody tr:has(a[href='/obligations/{obligation.pk}/'])")


def test_staff_see_a_returned_submission_marked_until_they_open_it(page, live_server, cast, decided):
    returned, verified, moved, untouched = (decided[k] for k in ("returned", "verified", "moved", "untouched"))
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/tasks/")
    expect(row(page, returned).locator(".decision-mark")).to_have_text("已退回")
    expect(row(page, verified).locator(".decision-mark")).to_have_text("已核验通过")
    expect(row(page, moved).locator(".decision-mark")).to_have_text("期限已调整")
    assert row(page, untouched).locator(".decision-mark").count() == 0
    screenshot(page, "staff-tasks-decisions")

    # The reason is the first thing on the obligation's page, inside the first screen.
    row(page, returned).locator("a").first.click()
    page.wait_for_url(f"**/obligations/{returned.pk}/")
    banner = page.locator("section.decision")
    expect(banner.locator("h2")).to_have_text("最新决定：已退回")
    assert REASON in banner.inner_text() and "lena" in banner.inner_text()
    box = banner.bounding_box()
    assert box["y"] + box["height"] <= page.viewport_size["height"], box
    screenshot(page, "staff-obligation-returned")

    # The due date moved: old → new and the reason.
    page.goto(f"{live_server.url}/obligations/{moved.pk}/")
    change = page.locator("section.decision").inner_text()
    assert "期限已调整" in change and "配合全省统一部署" in change
    moved.refresh_from_db()
    assert f"{moved.due_date - dt.timedelta(days=20):%Y-%m-%d} → {moved.due_date:%Y-%m-%d}" in change

    # Seen: no longer marked; the one not opened still is.
    page.goto(f"{live_server.url}/tasks/")
    assert row(page, returned).locator(".decision-mark").count() == 0
    assert row(page, moved).locator(".decision-mark").count() == 0
    expect(row(page, verified).locator(".decision-mark")).to_have_text("已核验通过")

    # The notices of what she opened are read; they show no raw address beside 查看.
    notices = Notification.objects.filter(recipient=cast["alice"], obligation__in=[returned, moved])
    assert notices.exists() and not notices.filter(read_at__isnull=True).exists()
    page.goto(f"{live_server.url}/notifications/")
    text = page.locator("main").inner_text()
    assert "http://" not in text and "https://" not in text and "查看与办理" not in text
    screenshot(page, "staff-notices")
    returned_notice = page.locator("li.notification:has-text('退回修改')")
    returned_notice.locator("a:text-is('查看')").click()
    page.wait_for_url(f"**/obligations/{returned.pk}/")
    screenshot(page, "staff-notice-opened")


def test_my_tasks_on_a_phone_is_a_list_of_cards_with_status_and_due_date_on_screen(page, live_server, decided):
    login(page, live_server, "alice")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/tasks/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    rows = page.locator("table.tasks tbody tr")
    assert rows.count() >= 4
    # The filters fold away on a phone: the first card is on the first screen.
    expect(page.locator("details.filters-box")).not_to_have_attribute("open", "")
    assert rows.first.bounding_box()["y"] < PHONE["height"] / 2
    for i in range(rows.count()):
        card = rows.nth(i)
        for cell in (".cell-light .light", ".cell-citation a", ".cell-status .status", ".cell-due", ".cell-days"):
            box = card.locator(cell).bounding_box()
            assert box, (i, cell)
            assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], (i, cell, box)
    # Each cell says what it is (the table's header is hidden on a phone).
    first = rows.first
    assert first.locator(".cell-status").evaluate("e => getComputedStyle(e, '::before').content") == '"状态"'
    assert first.locator(".cell-due").evaluate("e => getComputedStyle(e, '::before').content") == '"完成期限"'
    expect(row(page, decided["returned"]).locator(".decision-mark")).to_have_text("已退回")
    screenshot(page, "staff-tasks-cards")

    # The obligation page on the phone: the decision first, nothing wider than the screen.
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/obligations/{decided['returned'].pk}/")
    box = page.locator("section.decision").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "staff-obligation-returned-phone")


def test_submit_says_what_is_missing_and_refusals_are_said_at_the_top(page, live_server, regulation, cast):
    obligation = owned_by("JN-DSJ").first()
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/obligations/{obligation.pk}/")
    page.click(".actions button:has-text('启动')")
    expect(page.locator(".messages")).to_contain_text("已开始办理")

    # Before any evidence: the button says nothing can be submitted yet, and why.
    submit = page.locator(".actions button:has-text('提交核验')")
    expect(submit).to_be_disabled()
    expect(page.locator("#submit-missing")).to_contain_text("提交核验前还需：至少上传一份佐证材料")
    screenshot(page, "staff-submit-missing")
    page.click("#submit-missing a")  # takes them to the upload form, opened
    expect(page.locator("#id_evidence-description")).to_be_visible()

    # A refused form: the alert at the top of the page, on the first screen, and by the field.
    page.select_option("#id_evidence-kind", "link")
    page.fill("#id_evidence-description", "公开链接")
    page.fill("#id_evidence-url", "ftp://example.gov.cn/plan")
    page.click("form[data-evidence-form] button[type=submit]")
    alert = page.locator("#errors-top[role=alert]")
    expect(alert).to_contain_text("未能提交佐证材料")
    expect(alert).to_contain_text("请输入以 http:// 或 https:// 开头")
    box = alert.bounding_box()
    assert box["y"] + box["height"] <= page.viewport_size["height"]
    expect(page.locator("#form-evidence .field-error")).to_contain_text("请输入以 http:// 或 https:// 开头")
    screenshot(page, "staff-error-at-top")

    page.fill("#id_evidence-url", "https://www.jinan.gov.cn/plan")
    page.click("form[data-evidence-form] button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("佐证材料已提交")
    expect(submit).to_be_enabled()
    assert page.locator("#submit-missing").count() == 0
    submit.click()
    expect(page.locator(".messages")).to_contain_text("已提交核验")
    assert "状态已更新" not in page.locator("main").inner_text()
    obligation.refresh_from_db()
    assert obligation.status == Obligation.Status.SUBMITTED


def test_logging_out_says_so(page, live_server, cast):
    login(page, live_server, "alice")
    page.click("text=退出")
    page.wait_for_url("**/accounts/login/")
    expect(page.locator(".messages")).to_contain_text("您已安全退出")
    screenshot(page, "logged-out")


def test_staff_opening_the_acknowledgements_get_a_chinese_403_and_the_site_has_an_icon(page, live_server, cast):
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    login(page, live_server, "alice")
    response = page.goto(f"{live_server.url}/notifications/acknowledgements/")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "无权访问"
    assert "升级确认情况仅供牵头部门" in page.locator("[role=alert]").inner_text()
    assert page.locator(".topbar .who").count() == 1  # the app's layout, logged in
    screenshot(page, "staff-acknowledgements-403")

    icon = page.goto(f"{live_server.url}/favicon.ico")
    assert icon.status == 200 and "svg" in icon.headers["content-type"]
    href = page.goto(f"{live_server.url}/tasks/") and page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(f"{live_server.url}{href}").status == 200
    assert missing == [], missing
