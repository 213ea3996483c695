"""The lead's dashboard: a known set of obligations in known states and dates, and every figure
the lead reads from it (headline figures, a body row, a grid cell, the trend), who may see what,
and the filters.

Today is Wednesday 2025-03-12 in Asia/Shanghai; yellow lights run three working days to
Monday 2025-03-17. The set (department: article, status, due date):

    大数据局 DSJ   art.1 not_started 03-01 (overdue 11 days)  art.2 in_progress 03-17 (yellow)
                   art.3 verified 02-28 (verified 02-28 23:30 local: on time)
    发改委 FGW     art.1 submitted 03-10 (in the queue)       art.1 again: verified 03-20 (on time)
                   art.2 verified 03-05 (verified 03-06 00:30 local = 03-05 UTC: late)
                   art.3 in_progress 03-18 (green: the fourth working day)
    历下区 LIXIA   art.1 in_progress 03-11 (returned 03-10: overdue 1 day)  art.2 not_started, no date
                   art.3 verified, no date
    工信局 GXJ     art.1 superseded (never counted)
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from dashboard import selectors
from notifications.models import Reminder
from obligations import audit, services
from obligations.models import LightWindow, Obligation, ProgressEntry
from regulations.models import Article, Chapter, Clause, Regulation
from tests.factories import add_link_evidence

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2025, 3, 12, 10, 0, tzinfo=SH)
S = Obligation.Status


def at(day: str, time: str = "10:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=SH)


def d(day: str | None) -> dt.date | None:
    return None if day is None else dt.date.fromisoformat(day)


def make_regulation(code="reg-test", effective="2025-01-01") -> dict:
    regulation = Regulation.objects.create(
        code=code, title=f"测试条例 {code}", effective_date=d(effective), source_text="…", source_sha256="0" * 64
    )
    ch1 = Chapter.objects.create(regulation=regulation, number=1, label="第一章", title="总则")
    ch2 = Chapter.objects.create(regulation=regulation, number=2, label="第二章", title="保障")
    articles = {
        n: Article.objects.create(regulation=regulation, chapter=ch, number=n, label=label, text="…")
        for n, ch, label in [(1, ch1, "第一条"), (2, ch1, "第二条"), (3, ch2, "第三条")]
    }

    def clause(article: int, paragraph: int = 1) -> Clause:
        return Clause.objects.create(
            regulation=regulation,
            article=articles[article],
            paragraph_number=paragraph,
            text=f"第{article}条第{paragraph}款应当……",
            subject="有关部门",
            kind=Clause.Kind.DUTY,
        )

    return {"regulation": regulation, "c1": clause(1), "c1b": clause(1, 2), "c2": clause(2), "c3": clause(3)}


def obligation(clause, department, status=S.NOT_STARTED, due=None, **fields) -> Obligation:
    return Obligation.objects.create(clause=clause, department=department, status=status, due_date=d(due), **fields)


def status_change(obligation, old, new, when: dt.datetime, actor=None):
    with time_machine.travel(when, tick=False):
        audit.record(
            "obligation.status", obligation=obligation, actor=actor, before={"status": old}, after={"status": new}
        )


@pytest.fixture
def known(departments, cast):
    return build_known(departments, cast)


def build_known(departments, cast) -> dict:
    """The set described in the module docstring, built at its own moments in time."""
    reg = make_regulation()
    dsj, fgw, lixia, gxj = (departments[c] for c in ("JN-DSJ", "JN-FGW", "JN-LIXIA", "JN-GXJ"))
    o = {
        "dsj1": obligation(reg["c1"], dsj, S.NOT_STARTED, "2025-03-01", last_activity_at=at("2025-03-02")),
        "dsj2": obligation(reg["c2"], dsj, S.IN_PROGRESS, "2025-03-17", last_activity_at=at("2025-03-10", "09:00")),
        "dsj3": obligation(reg["c3"], dsj, S.VERIFIED, "2025-02-28", verified_at=at("2025-02-28", "23:30")),
        "fgw1": obligation(
            reg["c1"], fgw, S.SUBMITTED, "2025-03-10", submitted_at=at("2025-03-09"), submitted_by=cast["carol"]
        ),
        "fgw1b": obligation(reg["c1b"], fgw, S.VERIFIED, "2025-03-20", verified_at=at("2025-03-03")),
        "fgw2": obligation(reg["c2"], fgw, S.VERIFIED, "2025-03-05", verified_at=at("2025-03-06", "00:30")),
        "fgw3": obligation(reg["c3"], fgw, S.IN_PROGRESS, "2025-03-18"),
        "lixia1": obligation(reg["c1"], lixia, S.IN_PROGRESS, "2025-03-11", submitted_at=at("2025-03-08")),
        "lixia2": obligation(reg["c2"], lixia, S.NOT_STARTED, None),
        "lixia3": obligation(reg["c3"], lixia, S.VERIFIED, None, verified_at=at("2025-03-01")),
        "gone": obligation(
            reg["c1"], gxj, S.NOT_STARTED, "2025-02-01", superseded_at=at("2025-02-15"), superseded_reason="修订"
        ),
    }
    # History the trend reads: 发改委 art.2 was handed in before its date, verified after it;
    # 历下区 art.1 was handed in, then returned the day before its date.
    status_change(o["fgw2"], "in_progress", "submitted", at("2025-03-04"), cast["carol"])
    status_change(o["fgw2"], "submitted", "verified", at("2025-03-06", "00:30"), cast["lena"])
    status_change(o["fgw1"], "in_progress", "submitted", at("2025-03-09"), cast["carol"])
    status_change(o["lixia1"], "not_started", "in_progress", at("2025-02-01"), cast["dave"])
    status_change(o["lixia1"], "in_progress", "submitted", at("2025-03-08"), cast["dave"])
    status_change(o["lixia1"], "submitted", "in_progress", at("2025-03-10"), cast["lena"])
    ProgressEntry.objects.create(
        obligation=o["dsj1"], department=dsj, author=cast["alice"], text="已起草方案", created_at=at("2025-02-20")
    )
    ProgressEntry.objects.create(
        obligation=o["dsj1"], department=dsj, author=cast["bob"], text="方案征求意见中", created_at=at("2025-03-02")
    )
    return {"reg": reg, "o": o}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def scope_for(user, **filters):
    return selectors.dashboard_scope(user=user, filters=selectors.DashboardFilters(**filters))


# --- Working days and lights --------------------------------------------------------------------


def test_the_yellow_window_skips_the_weekend(db):
    friday = dt.date(2025, 3, 14)
    assert LightWindow.for_day(friday).yellow_until == dt.date(2025, 3, 19)
    assert LightWindow.for_day(dt.date(2025, 3, 12)).yellow_until == dt.date(2025, 3, 17)


def test_yellow_counts_working_days_across_a_weekend(departments, cast):
    reg = make_regulation()
    dsj = departments["JN-DSJ"]
    obligation(reg["c1"], dsj, S.IN_PROGRESS, "2025-03-19")  # Wednesday: third working day after Friday
    obligation(reg["c2"], dsj, S.IN_PROGRESS, "2025-03-20")  # Thursday: fourth
    with time_machine.travel(at("2025-03-14"), tick=False):
        summary = selectors.dashboard_summary(scope=scope_for(cast["lena"]))
        assert summary["due_soon"] == 1
        with override_settings(YELLOW_WORKING_DAYS=4):
            assert selectors.dashboard_summary(scope=scope_for(cast["lena"]))["due_soon"] == 2


# --- Headline figures, body table, chapters, grid ------------------------------------------------


def test_headline_figures(known, cast, frozen):
    summary = selectors.dashboard_summary(scope=scope_for(cast["lena"]))
    assert summary["on"] == dt.date(2025, 3, 12)
    assert summary["yellow_until"] == dt.date(2025, 3, 17)
    assert {k: summary[k] for k in ("total", "not_started", "in_progress", "submitted", "verified")} == {
        "total": 10,
        "not_started": 2,
        "in_progress": 3,
        "submitted": 1,
        "verified": 4,
    }
    assert summary["overdue"] == 2  # DSJ art.1 and LIXIA art.1; the submitted FGW art.1 is off the clock
    assert summary["due_soon"] == 1  # DSJ art.2 on 03-17; FGW art.3 on 03-18 is the fourth working day
    assert summary["due_within_30_days"] == 2
    assert summary["completion_rate"] == 0.4
    # Handed in on time: DSJ art.3 (verified, no submission recorded: 23:30 local on its date),
    # FGW art.1 (submitted 03-09) and FGW art.1b; late: FGW art.2, verified (no submission
    # recorded) at 00:30 local on the day after its date, which is still its due date in UTC.
    # Overdue: DSJ art.1 and LIXIA art.1. On time ÷ (on time + late + overdue) = 3 ÷ 6.
    assert (summary["on_time"], summary["late"], summary["overdue"]) == (3, 1, 2)
    assert summary["on_time_rate"] == 0.5
    assert summary["awaiting_verification"] == 1


def test_body_table_row(known, cast, frozen):
    bodies = {row["code"]: row for row in selectors.dashboard_bodies(scope=scope_for(cast["lena"]))}
    assert set(bodies) == {"JN-DSJ", "JN-FGW", "JN-LIXIA"}
    dsj = bodies["JN-DSJ"]
    assert {k: dsj[k] for k in ("assigned", "in_progress", "submitted", "verified", "overdue")} == {
        "assigned": 3,
        "in_progress": 1,
        "submitted": 0,
        "verified": 1,
        "overdue": 1,
    }
    assert dsj["on_time_rate"] == 0.5  # DSJ art.3 on time, DSJ art.1 overdue
    assert dsj["days_since_activity"] == 2
    assert dsj["light"] == "red"
    assert dsj["tasks_url"] == "/tasks/?department=JN-DSJ"
    fgw = bodies["JN-FGW"]
    assert (fgw["assigned"], fgw["submitted"], fgw["verified"], fgw["overdue"]) == (4, 1, 2, 0)
    assert fgw["on_time_rate"] == 0.6667  # art.1 and art.1b on time, art.2 late
    assert fgw["days_since_activity"] is None
    assert fgw["light"] == "green"
    # Its verified art.3 has no due date and counts neither way; art.1 is overdue.
    assert bodies["JN-LIXIA"]["on_time_rate"] == 0.0


def test_body_table_sorts_on_any_column(known, cast, frozen):
    scope = scope_for(cast["lena"])
    by_assigned = [r["code"] for r in selectors.dashboard_bodies(scope=scope, sort="-assigned")]
    assert by_assigned[0] == "JN-FGW"
    by_on_time = [r["code"] for r in selectors.dashboard_bodies(scope=scope, sort="-on_time_rate")]
    assert by_on_time == ["JN-FGW", "JN-DSJ", "JN-LIXIA"]
    most_idle_first = [r["code"] for r in selectors.dashboard_bodies(scope=scope, sort="-idle")]
    assert most_idle_first[-1] == "JN-DSJ"  # the only body with recent activity
    assert selectors.normalise_body_sort("drop table") == selectors.DEFAULT_BODY_SORT


def test_level_filter_compares_districts_separately(known, cast, frozen):
    bodies = selectors.dashboard_bodies(scope=scope_for(cast["lena"], level="district"))
    assert [b["code"] for b in bodies] == ["JN-LIXIA"]
    summary = selectors.dashboard_summary(scope=scope_for(cast["lena"], level="city"))
    assert summary["total"] == 7


def test_chapter_progress(known, cast, frozen):
    chapters = selectors.dashboard_chapters(scope=scope_for(cast["lena"]))
    assert [(c["label"], c["assigned"], c["verified"], c["overdue"]) for c in chapters] == [
        ("第一章", 7, 2, 2),
        ("第二章", 3, 2, 0),
    ]


def test_grid_cell_shows_the_least_advanced_state_and_the_worst_light(known, cast, frozen):
    grid = selectors.dashboard_grid(scope=scope_for(cast["lena"]))
    codes = [b["code"] for b in grid["bodies"]]
    article1 = next(a for a in grid["articles"] if a["number"] == 1)
    fgw = article1["cells"][codes.index("JN-FGW")]
    assert (fgw["state"], fgw["total"], fgw["light"]) == ("submitted", 2, "green")
    dsj = article1["cells"][codes.index("JN-DSJ")]
    assert (dsj["state"], dsj["light"], dsj["overdue"]) == ("not_started", "red", 1)
    article2 = next(a for a in grid["articles"] if a["number"] == 2)
    assert article2["cells"][codes.index("JN-DSJ")]["light"] == "yellow"
    assert "JN-GXJ" not in codes  # its only obligation is superseded


# --- Lists ---------------------------------------------------------------------------------------


def remind(obligation, recipient, stage: str, sent_at: dt.datetime | None):
    return Reminder.objects.create(
        target_type=Reminder.TargetType.OBLIGATION,
        target_id=obligation.id,
        obligation=obligation,
        stage=stage,
        due_date=obligation.due_date,
        recipient=recipient,
        status=Reminder.Status.SENT if sent_at else Reminder.Status.CLAIMED,
        scheduled_for=(sent_at or NOW).date(),
        sent_at=sent_at,
    )


def test_overdue_list_is_sorted_by_days_overdue_with_the_latest_progress(known, cast, frozen):
    dsj1 = known["o"]["dsj1"]
    remind(dsj1, cast["alice"], "overdue_1", at("2025-03-02", "09:00"))
    remind(dsj1, cast["bob"], "overdue_8", at("2025-03-09", "09:00"))
    remind(dsj1, cast["alice"], "overdue_15", None)  # claimed, not sent: not a reminder yet
    remind(known["o"]["fgw1"], cast["carol"], "due_today", at("2025-03-10", "09:00"))
    overdue = selectors.dashboard_overdue(scope=scope_for(cast["lena"]))
    assert overdue["count"] == 2
    first, second = overdue["results"]
    assert (first["department_code"], first["days_overdue"], first["light"]) == ("JN-DSJ", 11, "red")
    assert first["last_progress_text"] == "方案征求意见中"
    assert first["last_progress_at"] == at("2025-03-02")
    assert first["last_reminder_at"] == at("2025-03-09", "09:00")
    assert (second["department_code"], second["days_overdue"], second["last_progress_text"]) == ("JN-LIXIA", 1, None)


def test_queue_lists_submissions_awaiting_verification(known, cast, frozen):
    queue = selectors.dashboard_queue(scope=scope_for(cast["lena"]))
    assert queue["count"] == 1
    row = queue["results"][0]
    assert (row["id"], row["submitted_by"], row["days_waiting"]) == (known["o"]["fgw1"].id, "carol", 3)
    assert row["url"] == f"/obligations/{known['o']['fgw1'].id}/"


# --- Trend ---------------------------------------------------------------------------------------


def test_trend_counts_completions_and_newly_overdue_per_week(known, cast, frozen):
    trend = selectors.dashboard_trend(scope=scope_for(cast["lena"]))
    # The regulation took effect on 2025-01-01, but the data start with the week of 02-24 (the
    # first due date and completion, 02-28): no eight empty weeks before them.
    assert trend["start"] == dt.date(2025, 2, 24)
    assert trend["total"] == 10
    weeks = {w["week"]: w for w in trend["weeks"]}
    assert (min(weeks), max(weeks)) == (dt.date(2025, 2, 24), dt.date(2025, 3, 10))
    assert weeks[dt.date(2025, 2, 24)]["week_end"] == dt.date(2025, 3, 2)

    def row(day):
        w = weeks[dt.date.fromisoformat(day)]
        return (w["completed"], w["due"], w["newly_overdue"], w["open"], w["planned_open"])

    # Week of 02-24: DSJ art.3 and LIXIA art.3 verified; DSJ art.1 (due 03-01, nothing done)
    # is newly overdue, DSJ art.3 (due 02-28, verified 02-28) is not.
    assert row("2025-02-24") == (2, 2, 1, 8, 8)
    # Week of 03-03: FGW art.1b and art.2 verified; FGW art.2 (due 03-05) was handed in on
    # 03-04 and has no missed date, so it is not newly overdue.
    assert row("2025-03-03") == (2, 1, 0, 6, 7)
    # Week of 03-10: FGW art.1 submitted on time; LIXIA art.1 was returned on 03-10 and is still
    # in progress past its date (03-11): newly overdue, although submitted_at is set.
    assert row("2025-03-10") == (0, 2, 1, 6, 5)


def _newly_overdue(user, week: str) -> int:
    weeks = {w["week"]: w for w in selectors.dashboard_trend(scope=scope_for(user))["weeks"]}
    return weeks[d(week)]["newly_overdue"]


def test_a_late_hand_in_stays_newly_overdue_in_the_week_of_the_missed_date(client, known, cast, frozen):
    dsj1 = known["o"]["dsj1"]  # due Saturday 03-01, never started: overdue since
    assert _newly_overdue(cast["lena"], "2025-02-24") == 1
    add_link_evidence(dsj1, cast["alice"])
    dsj1 = services.obligation_transition(obligation=dsj1, actor=cast["alice"], action="start", expected_version=1)
    dsj1 = services.obligation_transition(
        obligation=dsj1, actor=cast["alice"], action="submit", expected_version=dsj1.version
    )
    dsj1.refresh_from_db()
    assert (dsj1.status, dsj1.missed_due_date) == (S.SUBMITTED, d("2025-03-01"))
    client.force_login(cast["alice"])
    assert client.get(f"/api/obligations/{dsj1.id}/").json()["missed_due_date"] == "2025-03-01"
    services.obligation_transition(obligation=dsj1, actor=cast["lena"], action="verify", expected_version=dsj1.version)
    # Handed in and verified late: no longer overdue, still counted in the week it fell overdue.
    assert selectors.dashboard_summary(scope=scope_for(cast["lena"]))["overdue"] == 1  # LIXIA art.1 only
    assert _newly_overdue(cast["lena"], "2025-02-24") == 1


def test_moving_the_date_of_an_overdue_obligation_keeps_the_date_it_missed(known, cast, frozen):
    dsj1 = known["o"]["dsj1"]
    services.obligation_set_due_date(
        obligation=dsj1, actor=cast["lena"], due_date=d("2025-03-31"), reason="调整计划", expected_version=1
    )
    dsj1.refresh_from_db()
    assert (dsj1.due_date, dsj1.missed_due_date) == (d("2025-03-31"), d("2025-03-01"))
    assert _newly_overdue(cast["lena"], "2025-02-24") == 1
    # A date moved before it passed is no miss: DSJ art.2 (due 03-17) moved to 03-24.
    dsj2 = known["o"]["dsj2"]
    services.obligation_set_due_date(
        obligation=dsj2, actor=cast["lena"], due_date=d("2025-03-24"), reason="调整计划", expected_version=1
    )
    dsj2.refresh_from_db()
    assert dsj2.missed_due_date is None


def test_trend_starts_where_the_data_start(known, cast, departments, frozen):
    # A regulation in force since 2024 whose only obligation fell due on 2025-01-15 (a Wednesday).
    older = make_regulation(code="reg-older", effective="2024-01-01")
    obligation(older["c1"], departments["JN-DSJ"], S.IN_PROGRESS, "2025-01-15")
    trend = selectors.dashboard_trend(scope=scope_for(cast["lena"], regulation=older["regulation"]))
    assert trend["start"] == dt.date(2025, 1, 13)
    assert trend["weeks"][0]["due"] == 1 and trend["weeks"][0]["newly_overdue"] == 1
    # Over everything: the earliest of all the data.
    assert selectors.dashboard_trend(scope=scope_for(cast["lena"]))["start"] == dt.date(2025, 1, 13)
    # A regulation with no obligations yet: the trend is this week alone.
    later = make_regulation(code="reg-later", effective="2025-03-01")
    trend = selectors.dashboard_trend(scope=scope_for(cast["lena"], regulation=later["regulation"]))
    assert (trend["start"], trend["total"], len(trend["weeks"])) == (dt.date(2025, 3, 10), 0, 1)


# --- Who sees what -------------------------------------------------------------------------------


def test_staff_see_only_their_own_body_even_where_they_cooperate(known, cast, departments, frozen):
    known["o"]["fgw3"].cooperating.add(departments["JN-DSJ"])
    scope = scope_for(cast["alice"])
    assert selectors.dashboard_summary(scope=scope)["total"] == 3
    assert [b["code"] for b in selectors.dashboard_bodies(scope=scope)] == ["JN-DSJ"]
    # A filter cannot widen the view: asking for another body gives nothing.
    assert selectors.dashboard_summary(scope=scope_for(cast["alice"], department=departments["JN-FGW"]))["total"] == 0


def test_auditor_and_admin_see_every_body(known, cast, frozen):
    for name in ("audrey", "adam"):
        assert selectors.dashboard_summary(scope=scope_for(cast[name]))["total"] == 10


def test_date_range_filters_by_due_date(known, cast, frozen):
    scope = scope_for(cast["lena"], date_from=d("2025-03-01"), date_to=d("2025-03-11"))
    summary = selectors.dashboard_summary(scope=scope)
    assert summary["total"] == 4  # due 03-01, 03-05, 03-10 and 03-11
    trend = selectors.dashboard_trend(scope=scope)
    assert trend["start"] == dt.date(2025, 2, 24)


def test_two_regulations_keep_their_own_chapters_and_articles(known, cast, departments, frozen):
    other = make_regulation(code="reg-other", effective="2025-02-01")
    obligation(other["c1"], departments["JN-DSJ"], S.VERIFIED, None)
    scope = scope_for(cast["lena"])
    # The grid shows one regulation: the most recently effective one unless the filter picks one.
    grid = selectors.dashboard_grid(scope=scope)
    assert (grid["regulation"]["code"], [a["number"] for a in grid["articles"]]) == ("reg-other", [1])
    grid = selectors.dashboard_grid(scope=scope_for(cast["lena"], regulation=known["reg"]["regulation"]))
    assert (grid["regulation"]["code"], [a["number"] for a in grid["articles"]]) == ("reg-test", [1, 2, 3])
    chapters = selectors.dashboard_chapters(scope=scope)
    assert [(c["label"], c["assigned"]) for c in chapters] == [("第一章", 7), ("第二章", 3), ("第一章", 1)]
    only_other = scope_for(cast["lena"], regulation=other["regulation"])
    assert selectors.dashboard_summary(scope=only_other)["total"] == 1
