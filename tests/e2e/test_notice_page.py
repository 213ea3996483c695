"""我的消息 on a phone, with a year of notices: a notice is a few lines, the page stays short."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from core import clock
from notifications.models import Notification
from tests.e2e.conftest import PHONE, login, screenshot
from tests.e2e.data import owned_by

BODY = "您好：\n" + "第X条第一款所列义务将于近日到期，请及时办理并填报进展。\n" * 12 + "—— 法规义务督办系统\n"


@pytest.fixture
def a_year_of_notices(regulation, cast):
    """A year for alice: a weekly reminder sweep on three obligations, and a decision a fortnight."""
    alice = cast["alice"]
    own = list(owned_by("JN-DSJ")[:3])
    now = clock.now()
    rows = []
    for week in range(52):
        sent = now - dt.timedelta(weeks=week)
        for obligation in own:
            rows.append(
                Notification(
                    recipient=alice,
                    kind=Notification.Kind.OVERDUE if week > 20 else Notification.Kind.REMINDER,
                    subject=f"【期限提醒】{obligation.citation} 请及时办理",
                    body=BODY,
                    obligation=obligation,
                    created_at=sent,
                )
            )
    for fortnight in range(26):
        rows.append(
            Notification(
                recipient=alice,
                kind=Notification.Kind.RETURNED,
                subject=f"【退回修改】{own[0].citation} 佐证材料缺少盖章的正式印发文件，请补充后重新提交",
                body=BODY,
                obligation=own[0],
                created_at=now - dt.timedelta(weeks=2 * fortnight, hours=1),
            )
        )
    Notification.objects.bulk_create(rows)
    return own


def test_a_year_of_notices_on_a_phone_is_short_and_each_notice_a_few_lines(page, live_server, a_year_of_notices):
    login(page, live_server, "alice")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/notifications/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.locator("details.filters-box")).not_to_have_attribute("open", "")
    lines = page.locator("#decisions li.notice")
    assert lines.count() == 20
    heights = [lines.nth(i).bounding_box()["height"] for i in range(lines.count())]
    assert max(heights) < 140, heights  # four lines: kind, citation, time; the sentence (two); 全文, actions
    # The decisions come first; the reminders are one folded entry per week.
    assert page.locator("#decisions").bounding_box()["y"] < page.locator("#reminders").bounding_box()["y"]
    assert page.locator("#reminders li.sweep").count() == 7
    expect(page.locator("#reminders li.sweep details").first).not_to_have_attribute("open", "")
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"notice page height at 390 px, a year of notices: {height} px; tallest notice {max(heights):.0f} px")
    assert height < 4500, height
    screenshot(page, "staff-notices-phone-year")
    # The full text is one tap away.
    first = lines.first
    expect(first.locator(".notification-body")).not_to_be_visible()
    first.locator("summary:text-is('全文')").click()
    expect(first.locator(".notification-body")).to_be_visible()
