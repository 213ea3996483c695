"""The lead's dashboard in a real browser under the production CSP (issues 15 and 26): the first
screen answers "what needs me now", the other sections load one click away (htmx, charts drawn
with their tables), 核验通过 / 退回 on the queue page refresh its list without a full page
reload, and on a phone the queue's buttons are on the screen."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from obligations.models import ExtensionRequest, Objection, Obligation
from tests.e2e.conftest import PHONE, SHOTS, login, screenshot
from tests.test_dashboard import at, build_known

S = Obligation.Status


@pytest.fixture
def world(departments, cast):
    """tests/test_dashboard.py's known set, with a second submission (发改委 art.3, due
    2025-03-18: past, so returning it turns 发改委 red), an objection and an extension request."""
    known = build_known(departments, cast)
    fgw3 = known["o"]["fgw3"]
    Obligation.objects.filter(pk=fgw3.pk).update(
        status=S.SUBMITTED, submitted_at=at("2025-03-15"), submitted_by=cast["carol"]
    )
    Objection.objects.create(
        obligation=known["o"]["dsj2"],
        department=departments["JN-DSJ"],
        raised_by=cast["alice"],
        raised_at=timezone.now() - dt.timedelta(days=2),
        reason="该项职责属于发改委",
        suggested_department=departments["JN-FGW"],
    )
    ExtensionRequest.objects.create(
        obligation=known["o"]["lixia1"],
        requested_by=cast["dave"],
        requested_date=timezone.localdate() + dt.timedelta(days=40),
        reason="需等待省级文件印发",
    )
    return {"first": known["o"]["fgw1"], "second": fgw3}


def figure(page, label: str):
    return page.locator(f"#sec-headline .figure:has(.figure-label:text-is('{label}')) .figure-value")


def drawn(page, chart_id: str) -> None:
    """The chart has been drawn (ECharts' SVG renderer: an <svg> with paths in it)."""
    page.locator(f"#{chart_id} svg path").first.wait_for(state="attached")


def open_tab(page, name: str) -> None:
    page.locator(f".dash-tabs a[data-tab={name}]").click()
    page.locator(f"#section-panel #sec-{name}").wait_for()


def test_first_screen_sections_and_queue_refresh_without_reload(page, live_server, cast, world):
    first, second = world["first"], world["second"]
    login(page, live_server, "lena")
    page.goto(f"{live_server.url}/dashboard/")

    # The first screen: headline figures, the queue, the red bodies, objections, extension requests.
    expect(figure(page, "待核验")).to_have_text("2")
    expect(page.locator("#h-queue")).to_have_text("待核验（2）")
    assert page.locator("#sec-queue li[data-obligation-id]").count() == 2
    assert page.locator("#sec-red li[data-red-body]").evaluate_all("rows => rows.map(r => r.dataset.redBody)") == [
        "JN-DSJ",
        "JN-LIXIA",
    ]
    expect(page.locator("#h-objections")).to_have_text("待处理异议（1）")
    expect(page.locator("#sec-objections")).to_contain_text("建议改由市发改委")
    expect(page.locator("#h-extensions")).to_have_text("待审批延期申请（1）")
    expect(page.locator("#sec-extensions")).to_contain_text("已等待")
    # The rest is not on it, but one click away.
    assert page.locator("#sec-bodies, #sec-trend, #sec-grid").count() == 0
    screenshot(page, "dashboard-first-screen")
    page.evaluate("window.stillTheSamePage = true")

    # A tab loads its section in place (the URL follows, so it can be shared), charts with tables.
    open_tab(page, "bodies")
    drawn(page, "chart-bodies")
    assert page.locator("#sec-bodies tr[data-department]").count() == 3
    assert "tab=bodies" in page.url
    open_tab(page, "trend")
    drawn(page, "chart-trend")
    drawn(page, "chart-burndown")
    assert page.locator("#sec-bodies").count() == 0
    expect(page.locator(".dash-tabs a[aria-selected=true]")).to_have_text("趋势")
    page.locator("#sec-trend summary").click()
    assert page.locator("#sec-trend table tbody tr").count() > 1
    open_tab(page, "bodies")
    drawn(page, "chart-bodies")
    screenshot(page, "dashboard-bodies-tab")
    assert page.evaluate("window.stillTheSamePage") is True  # no full reload happened

    # The whole queue is a page of its own: 核验通过 there refreshes its list in place.
    page.click("#queue-all")
    page.wait_for_url("**/dashboard/queue/")
    page.evaluate("window.stillTheSamePage = true")
    page.locator(f"tr[data-obligation-id='{first.pk}'] button[value=verify]").click()
    expect(page.locator("#queue-page .queue-status")).to_have_text("已核验通过。")
    expect(page.locator("#h-queue-page")).to_have_text("待核验（1）")

    # 退回 needs a reason; with one, the submission goes back.
    row = page.locator(f"tr[data-obligation-id='{second.pk}']")
    row.locator("button[value=return]").click()
    expect(page.locator("#queue-page .queue-status")).to_have_text("退回时请填写意见。")
    expect(page.locator("#h-queue-page")).to_have_text("待核验（1）")
    page.locator(f"tr[data-obligation-id='{second.pk}'] input[name=reason]").fill("材料不全，请补充")
    page.locator(f"tr[data-obligation-id='{second.pk}'] button[value=return]").click()
    expect(page.locator("#queue-page .queue-status")).to_have_text("已退回。")
    expect(page.locator("#h-queue-page")).to_have_text("待核验（0）")
    assert page.evaluate("window.stillTheSamePage") is True  # no full reload happened
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (S.VERIFIED, S.IN_PROGRESS)
    assert page.csp_errors == []
    screenshot(page, "dashboard-queue-after-actions")

    # Back on the dashboard: the figures, the queue and 发改委 (art.3 is late) in red.
    page.click(".back-link a")
    expect(figure(page, "待核验")).to_have_text("0")
    expect(page.locator("#h-queue")).to_have_text("待核验（0）")
    expect(page.locator("#sec-red li[data-red-body='JN-FGW']")).to_have_count(1)


def test_on_a_phone_the_queue_is_cards_with_their_buttons_on_screen(page, live_server, cast, world):
    login(page, live_server, "lena")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/dashboard/queue/")
    cards = page.locator("#queue-page tr[data-obligation-id]")
    assert cards.count() == 2
    for i in range(cards.count()):
        for control in ("button[value=verify]", "button[value=return]", "input[name=reason]"):
            box = cards.nth(i).locator(control).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (control, box)
    # Nothing scrolls sideways inside the queue either.
    wrap = page.locator("#queue-page .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-queue-phone-viewport.png"))
    page.locator(f"tr[data-obligation-id='{world['first'].pk}'] button[value=verify]").click()
    expect(page.locator("#queue-page .queue-status")).to_have_text("已核验通过。")
    expect(page.locator("#h-queue-page")).to_have_text("待核验（1）")
    assert page.csp_errors == []
