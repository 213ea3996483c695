"""The lead's dashboard in a real browser under the production CSP: the charts draw (ECharts
served by the app, data from json_script, no inline script) and the queue's verify button
calls the workflow API with the CSRF token."""

from tests.e2e.conftest import login, screenshot
from tests.test_dashboard import build_known


def test_lead_dashboard_draws_its_charts_and_verifies_from_the_queue(page, live_server, departments, cast):
    build_known(departments, cast)
    console = []
    page.on("console", lambda message: console.append(message.text))
    login(page, live_server, "lena")
    page.wait_for_url("**/dashboard/")
    for chart in ("chart-status", "chart-bodies", "chart-chapters", "chart-trend", "chart-burndown"):
        page.wait_for_selector(f"#{chart} svg")
    assert page.locator("#h-queue").inner_text() == "待核验（1）"
    screenshot(page, "dashboard")

    page.locator("form.queue-action button[value=verify]").first.click()
    page.wait_for_selector(".queue-status.msg-ok")
    assert page.locator(".queue-status").inner_text() == "已核验通过。"
    assert page.locator("form.queue-action").count() == 0
    assert not [text for text in console if "Content Security Policy" in text or "Refused" in text], console
