"""Journey (issue 26): the lead's first screen on the demo year at 1366x768.

Everything that waits for the lead is above the fold with the headline figures: the queue, the
bodies in red, pending objections and extension requests (their headings and first rows within
the first 768 px, the site header included). "查看全部" leads to the whole queue, a page of its
own that sorts and keeps the filters. The page's total height is printed (run with -s) for the
closing note; before this change it was 3,485 px on the same data."""

import datetime as dt
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from obligations.models import Objection, Obligation
from tests.e2e.conftest import DESKTOP, SHOTS, login, screenshot

FOLD = DESKTOP["height"]
WAITING = ["queue", "red", "objections", "extensions"]


@pytest.fixture
def demo(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=StringIO())
    # The demo's objections are all decided: seven pending ones, a day apart, so that the section
    # has rows and more than it shows.
    staff = User.objects.filter(role=User.Role.STAFF, department__isnull=False)
    waiting = Obligation.objects.active().filter(department__in=staff.values("department")).order_by("id")[:7]
    for days, obligation in enumerate(waiting, start=1):
        Objection.objects.create(
            obligation=obligation,
            department=obligation.department,
            raised_by=staff.filter(department=obligation.department).first(),
            raised_at=timezone.now() - dt.timedelta(days=days),
            reason="该项职责不属于本单位",
        )


def bottom(page, selector: str) -> float:
    """Where the element ends, in page coordinates (the page is not scrolled)."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["y"] + box["height"]


def page_height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def test_the_lead_sees_everything_waiting_above_the_fold(page, live_server, demo):
    login(page, live_server, "lead", settings.DEMO_PASSWORD)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/dashboard/")
    assert page.evaluate("window.scrollY") == 0

    # The figures, and each waiting list's heading and first row, end within the first 768 px.
    assert bottom(page, "#sec-headline .figures") <= FOLD
    for name in WAITING:
        assert page.locator(f"#sec-{name} li").count() >= 1, name
        assert bottom(page, f"#h-{name}") <= FOLD, name
        assert bottom(page, f"#sec-{name} li") <= FOLD, name
    # Each shows its few and says how many there are in all; the way to the whole list is in view too.
    queue_count = Obligation.objects.active().filter(status=Obligation.Status.SUBMITTED).count()
    assert queue_count > 5
    expect(page.locator("#h-queue")).to_have_text(f"待核验（{queue_count}）")
    assert page.locator("#sec-queue li").count() == 5
    expect(page.locator("#h-objections")).to_have_text("待处理异议（7）")
    assert page.locator("#sec-objections li").count() == 5
    for link in ("#queue-all", "#sec-objections .waiting-more a"):
        assert bottom(page, link) <= FOLD, link
    height = page_height(page)
    print(f"\ndashboard page height at 1366x768 (demo data): {height} px")
    assert height <= 1400
    screenshot(page, "dashboard-first-screen-demo")
    page.set_viewport_size(DESKTOP)
    # What the screen shows without scrolling.
    page.screenshot(path=str(SHOTS / "dashboard-first-screen-demo-fold.png"))

    # 查看全部 reaches the whole queue: a page of 20, oldest submission first, with its pager.
    page.click("#queue-all")
    page.wait_for_url("**/dashboard/queue/")
    rows = page.locator("#queue-page tr[data-obligation-id]")
    assert rows.count() == min(20, queue_count)
    expect(page.locator("#h-queue-page")).to_contain_text(f"待核验（{queue_count}）")
    submitted = page.locator("#queue-page td[data-label=提交时间]").all_inner_texts()
    assert submitted == sorted(submitted)
    expect(page.locator("#queue-page .pager")).to_contain_text("第 1 / ")
    print(f"queue page height at 1366x768: {page_height(page)} px")
    screenshot(page, "dashboard-queue-demo")

    # Sorting: by due date, earliest first, then the other way round (the column says which).
    page.click("#queue-page th a[data-sort=due]")
    page.wait_for_url("**/dashboard/queue/?sort=due")
    due = [d for d in page.locator("#queue-page td[data-label=完成期限]").all_inner_texts() if d != "未设定"]
    assert due == sorted(due) and len(due) > 1
    expect(page.locator("#queue-page th[aria-sort=ascending]")).to_contain_text("完成期限")
    page.click("#queue-page th a[data-sort=due]")
    page.wait_for_url("**/dashboard/queue/?sort=-due")
    due = [d for d in page.locator("#queue-page td[data-label=完成期限]").all_inner_texts() if d != "未设定"]
    assert due == sorted(due, reverse=True)
    # The next page keeps the order.
    page.click("#queue-page .pager a[rel=next]")
    page.wait_for_url("**/dashboard/queue/?sort=-due&page=2")
    later = [d for d in page.locator("#queue-page td[data-label=完成期限]").all_inner_texts() if d != "未设定"]
    assert later == sorted(later, reverse=True) and (not later or later[0] <= due[-1])


def test_the_filters_go_along_to_the_queue_page_and_its_sort_links(page, live_server, demo):
    login(page, live_server, "lead", settings.DEMO_PASSWORD)
    page.goto(f"{live_server.url}/dashboard/?level=district")
    districts = Obligation.objects.active().filter(status=Obligation.Status.SUBMITTED, department__level="district")
    expect(page.locator("#h-queue")).to_have_text(f"待核验（{districts.count()}）")
    # Filtered, the filter box stays folded (its summary names the filter): still all above the fold.
    assert "区县级" in page.locator(".filters-box > summary").inner_text()
    for name in WAITING:
        assert bottom(page, f"#h-{name}") <= FOLD, name
    page.click("#queue-all")
    page.wait_for_url("**/dashboard/queue/?level=district")
    expect(page.locator("#h-queue-page")).to_contain_text(f"待核验（{districts.count()}）")
    bodies = set(districts.values_list("department__short_name", flat=True))
    shown = set(page.locator("#queue-page td[data-label=责任单位]").all_inner_texts())
    assert shown and shown <= bodies
    page.click("#queue-page th a[data-sort=body]")
    page.wait_for_url("**/dashboard/queue/?level=district&sort=body")
    assert "区县级" in page.locator(".filters-box > summary").inner_text()
    # Back to the dashboard, still filtered.
    page.click(".back-link a")
    page.wait_for_url("**/dashboard/?level=district")
