"""我的消息: a compact line per notice, decisions before reminders, one entry per day's sweep,
a filter by kind, and a badge that counts what needs the person."""

import datetime as dt
import re

import pytest

from notifications.models import Notification
from notifications.selectors import attention_count
from tests.factories import make_obligation, make_obligations
from tests.test_reminders_support import at, sweep_on

D = dt.date.fromisoformat
LONG_BODY = "第一段：全文的第一句。\n" + "这是邮件全文的一行。\n" * 30 + "全文最后一句。"

pytestmark = pytest.mark.django_db


def notice(user, kind, *, obligation=None, day="2025-06-10", hour=9, **fields):
    return Notification.objects.create(
        recipient=user,
        kind=kind,
        subject=fields.pop("subject", f"{Notification.Kind(kind).label}：请查看"),
        body=fields.pop("body", LONG_BODY),
        obligation=obligation,
        created_at=at(day, hour),
        **fields,
    )


def page_of(client, user, query=""):
    client.force_login(user)
    response = client.get(f"/notifications/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_each_notice_is_a_compact_line_with_the_full_text_one_tap_away(cast, client):
    obligation = make_obligation(cast["alice"].department, D("2025-06-20"))
    notice(cast["alice"], Notification.Kind.RETURNED, obligation=obligation, subject="您单位的义务被退回修改")
    html = page_of(client, cast["alice"])
    line = re.search(r'<div class="notice-line">(.*?)</div>', html, re.S).group(1)
    assert "退回修改" in line  # the kind
    assert obligation.clause.citation in line  # the obligation's citation
    assert "您单位的义务被退回修改" in line  # one sentence
    assert "2025-06-10 09:00" in line  # when, in Asia/Shanghai
    assert "全文最后一句" not in line
    # The whole text is in a <details>, folded.
    full = re.search(r'<details class="notice-full">(.*?)</details>', html, re.S).group(1)
    assert "<summary>全文</summary>" in full and "全文最后一句" in full


def test_decisions_come_before_reminders_and_reminders_group_by_the_day_they_were_sent(cast, client):
    alice = cast["alice"]
    first, second, third = make_obligations(alice.department, [D("2025-06-20")] * 3)
    notice(alice, Notification.Kind.REMINDER, obligation=first, day="2025-06-13", subject="提醒一")
    notice(alice, Notification.Kind.OVERDUE, obligation=second, day="2025-06-13", hour=10, subject="提醒二")
    notice(alice, Notification.Kind.REMINDER, obligation=third, day="2025-06-06", subject="提醒三")
    notice(alice, Notification.Kind.VERIFIED, obligation=first, day="2025-06-01", subject="核验通过了")
    html = page_of(client, alice)
    # The decision, though the oldest, is listed first, in its own section.
    assert html.index("核验通过了") < html.index('id="reminders"') < html.index("提醒一")
    sweeps = re.findall(r'<li class="card sweep[^"]*">(.*?)</details>\s*</li>', html, re.S)
    assert len(sweeps) == 2  # two days, two entries (not three)
    assert "2025-06-13" in sweeps[0] and "提醒 2 项" in sweeps[0]
    assert "提醒一" in sweeps[0] and "提醒二" in sweeps[0] and "提醒三" not in sweeps[0]
    assert "2025-06-06" in sweeps[1] and "提醒三" in sweeps[1]


def test_a_grouped_reminder_lists_its_obligations(cast, client):
    alice = cast["alice"]
    obligations = make_obligations(alice.department, [D("2025-06-20"), D("2025-06-20")])
    sweep_on("2025-06-13")
    grouped = Notification.objects.get(recipient=alice, payload__target_type="grouped")
    assert grouped.obligation_id is None
    html = page_of(client, alice)
    items = re.search(r'<p class="notice-items">(.*?)</p>', html, re.S).group(1)
    for obligation in obligations:
        assert obligation.clause.citation in items and f"/obligations/{obligation.pk}/" in items


def test_the_filter_by_kind_is_folded_and_narrows_the_list(cast, client):
    alice = cast["alice"]
    notice(alice, Notification.Kind.RETURNED, subject="退回的那条")
    notice(alice, Notification.Kind.EXTENSION_DECIDED, subject="延期结果那条")
    notice(alice, Notification.Kind.REMINDER, subject="提醒那条")
    html = page_of(client, alice)
    assert '<details class="card filters-box no-print">' in html  # folded
    assert "退回的那条" in html and "延期结果那条" in html and "提醒那条" in html
    html = page_of(client, alice, "?kind=returned")
    assert 'filters-box no-print" open' in html
    assert "退回的那条" in html and "延期结果那条" not in html and "提醒那条" not in html
    html = page_of(client, alice, "?kind=reminder")
    assert "提醒那条" in html and "退回的那条" not in html
    # A kind that does not exist: a Chinese error on the form, and nothing hidden.
    html = page_of(client, alice, "?kind=nonsense")
    assert "field-error" in html and "退回的那条" in html


def test_one_regulation_offers_no_regulation_filter(cast, client):
    html = page_of(client, cast["alice"])
    assert 'name="kind"' in html and 'name="regulation"' not in html


def test_the_badge_counts_unread_decisions_and_unacknowledged_notices_not_reminders(cast, client):
    alice = cast["alice"]
    for _ in range(5):
        notice(alice, Notification.Kind.REMINDER)
    decision = notice(alice, Notification.Kind.RETURNED)
    notice(alice, Notification.Kind.VERIFIED, read_at=at("2025-06-11"))
    escalation = notice(alice, Notification.Kind.ESCALATION, requires_ack=True, read_at=at("2025-06-11"))
    notice(cast["bob"], Notification.Kind.RETURNED)  # someone else's
    assert attention_count(alice) == 2  # the unread decision and the escalation awaiting 已知悉
    html = page_of(client, alice)
    assert 'aria-label="未读消息 2 条"' in html and "待处理 2 条" in html
    # The API's count gives the badge's figure beside every unread notice.
    assert client.get("/api/notifications/unread-count/").json() == {"unread": 6, "attention": 2}
    client.post(f"/notifications/{decision.pk}/read/")
    client.post(f"/notifications/{escalation.pk}/acknowledge/")
    assert attention_count(alice) == 0
    html = page_of(client, alice)
    assert 'class="badge"' not in html  # five unread reminders, nothing that needs alice


def test_staff_see_only_their_own_notices(cast, client):
    notice(cast["alice"], Notification.Kind.RETURNED, subject="给 alice 的决定")
    notice(cast["bob"], Notification.Kind.RETURNED, subject="给 bob 的决定")
    notice(cast["carol"], Notification.Kind.REMINDER, subject="给 carol 的提醒")
    html = page_of(client, cast["alice"])
    assert "给 alice 的决定" in html
    assert "给 bob 的决定" not in html and "给 carol 的提醒" not in html


def test_the_sentence_leaves_out_the_email_tag_and_the_citation_the_line_already_shows(cast, client):
    obligation = make_obligation(cast["alice"].department, D("2025-06-20"))
    subject = f"【逾期提醒】{obligation.clause.citation}：已逾期 3 天"
    notice(cast["alice"], Notification.Kind.OVERDUE, obligation=obligation, subject=subject)
    html = page_of(client, cast["alice"])
    text = re.search(r'<span class="notice-text">(.*?)</span>', html, re.S).group(1)
    assert text == "已逾期 3 天"
