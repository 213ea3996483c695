"""期限提醒 on the notices page, one entry per reminder sweep: a weekly list that has not changed is
said once ("与上次提醒相同的 N 项仍未完成"), not listed again; notices from before sweeps had an
identity keep their grouping by the day sent. Real sweeps (notifications.reminders.sweep)."""

import datetime as dt
import re

import pytest

from notifications import selectors
from notifications.models import Notification, ReminderSettings, ReminderSweep
from tests.factories import make_obligations
from tests.test_reminders_support import at, sweep_on

D = dt.date.fromisoformat

pytestmark = pytest.mark.django_db

ENTRY = re.compile(r'<li class="card sweep[^"]*">(.*?)</details>\s*</li>', re.S)


@pytest.fixture
def weekly(cast):
    """alice's body has three obligations overdue from 2025-06-09, a fourth from 2025-06-23;
    the sweep runs on four Mondays and reminds weekly (overdue days 1, 8, 15, 22)."""
    cfg = ReminderSettings.load()
    cfg.overdue_repeat_days = 7
    cfg.save()
    department = cast["alice"].department
    three = make_obligations(department, [D("2025-06-08")] * 3)
    sweep_on("2025-06-09")
    sweep_on("2025-06-16")
    fourth = make_obligations(department, [D("2025-06-22")])[0]
    sweep_on("2025-06-23")
    sweep_on("2025-06-30")
    return {"three": three, "fourth": fourth}


def entries(client, user, query=""):
    client.force_login(user)
    response = client.get(f"/notifications/{query}")
    assert response.status_code == 200
    return ENTRY.findall(response.content.decode())


def test_each_sweep_is_one_entry_and_an_unchanged_list_is_said_once(cast, client, weekly):
    alice = cast["alice"]
    # Each sweep wrote one grouped notice for alice, carrying the sweep's identity.
    mine = Notification.objects.filter(recipient=alice).reminders()
    assert mine.count() == 4 and not mine.filter(sweep__isnull=True).exists()
    assert ReminderSweep.objects.filter(notices__recipient=alice).distinct().count() == 4

    got = entries(client, alice)
    assert len(got) == 4  # one entry per sweep, newest first
    newest, third_week, second_week, first_week = got
    assert "2025-06-30 09:00" in newest and "与上次提醒相同的 4 项仍未完成" in newest
    assert "2025-06-23 09:00" in third_week and "提醒 4 项（新增 1 项）" in third_week
    assert "2025-06-16 09:00" in second_week and "与上次提醒相同的 3 项仍未完成" in second_week
    assert "2025-06-09 09:00" in first_week and "提醒 3 项" in first_week and "新增" not in first_week
    # A repeated list is not listed again; a changed one names every obligation.
    for entry in (newest, second_week):
        assert '<p class="notice-items">' not in entry
    listed = re.search(r'<p class="notice-items">(.*?)</p>', third_week, re.S).group(1)
    for obligation in [*weekly["three"], weekly["fourth"]]:
        assert f"/obligations/{obligation.pk}/" in listed
    assert "与上次提醒相同" not in third_week + first_week


def test_the_comparison_reaches_across_pages(cast, client, weekly, monkeypatch):
    monkeypatch.setattr(selectors, "SWEEP_DAYS_PER_PAGE", 2)
    first_page = entries(client, cast["alice"])
    assert len(first_page) == 2
    # The page's last entry (2025-06-23) is compared with the one on the next page.
    assert "2025-06-23" in first_page[1] and "提醒 4 项（新增 1 项）" in first_page[1]
    second_page = entries(client, cast["alice"], "?rpage=2")
    assert len(second_page) == 2
    assert "与上次提醒相同的 3 项仍未完成" in second_page[0] and "提醒 3 项" in second_page[1]


def test_notices_without_a_sweep_keep_grouping_by_the_day_sent(cast, client, weekly):
    alice = cast["alice"]
    obligation = weekly["three"][0]
    for hour in (9, 10):
        Notification.objects.create(
            recipient=alice,
            kind=Notification.Kind.REMINDER,
            subject="旧提醒",
            body="旧提醒",
            obligation=obligation,
            created_at=at("2025-06-02", hour),
        )
    got = entries(client, alice)
    assert len(got) == 5  # four sweeps and one day
    assert '<time datetime="2025-06-02">2025-06-02</time>' in got[-1] and "提醒 1 项" in got[-1]
    assert got[-1].count("旧提醒") >= 2
    # The first sweep after them names the same obligation among others: not "the same list".
    assert "与上次提醒相同" not in got[-2]


def test_another_persons_sweeps_are_not_shown(cast, client, weekly):
    assert entries(client, cast["carol"]) == []
