"""Decision to notice as under `make run`: the embedded filesystem broker and a real worker (two
processes). The lead returns a submission in the browser; the staff member's notice appears on
their phone. The time is printed, not asserted tightly: bench/notice_bench.py is the measure."""

import time

import pytest
from playwright.sync_api import expect

from notifications.models import Notification
from tests.e2e.conftest import PHONE, login, screenshot
from tests.e2e.data import owned_by, submit_with_link
from tests.test_celery_worker import filesystem_worker  # noqa: F401 (fixture)

REASON = "佐证材料缺少盖章的正式印发文件，请补充后重新提交。"
BOUND = 60  # seconds: generous, for a loaded machine; the benchmark gives p50 and p95


@pytest.fixture
def submitted(filesystem_worker, regulation, cast):  # noqa: F811 (the fixture imported above)
    """A submission of 大数据局, made after the worker's broker is in place."""
    return submit_with_link(owned_by("JN-DSJ").first(), cast["alice"])


def test_a_return_in_the_browser_reaches_the_staff_members_phone(
    page,
    live_server,
    cast,
    submitted,
    filesystem_worker,  # noqa: F811
):
    login(page, live_server, "lena")
    page.goto(f"{live_server.url}/dashboard/queue/")  # the whole queue, where the lead acts
    row = page.locator(f"tr[data-obligation-id='{submitted.pk}']")
    row.locator("input[name=reason]").fill(REASON)
    row.locator("button[value=return]").click()
    expect(page.locator(".queue-status.msg-ok")).to_have_text("已退回。")
    started = time.monotonic()

    told = Notification.objects.filter(recipient=cast["alice"], obligation=submitted, kind="returned")
    while not told.exists():
        if time.monotonic() - started > BOUND:
            log = filesystem_worker.log_path.read_text(errors="replace")[-3000:]
            pytest.fail(f"no notice {BOUND} s after the return; the worker's log:\n{log}")
        time.sleep(0.1)
    print(f"decision to in-app notice (filesystem broker, one worker): {time.monotonic() - started:.2f} s")

    # alice, on her phone: the badge says something needs her, the notice heads 决定与待办.
    page.context.clear_cookies()
    login(page, live_server, "alice")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/tasks/")
    expect(page.locator("header .phone-notices .badge")).to_be_visible()
    page.locator("header .phone-notices").click()
    page.wait_for_url("**/notifications/")
    first = page.locator("#decisions li.notice").first
    expect(first).to_contain_text(submitted.citation)
    expect(first).to_contain_text("退回")
    screenshot(page, "phone-notice-after-return")
