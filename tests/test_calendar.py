"""Working days: statutory holidays, adjusted working days, the admin's schedule, unknown years."""

import datetime as dt

import pytest
from django.template import Context, Template

from core.calendar import WorkCalendar, add_working_days, calendar_confirmed, is_working_day

D = dt.date.fromisoformat
pytestmark = pytest.mark.django_db


def test_national_day_holiday_is_not_a_working_day():
    assert not is_working_day(D("2025-10-01"))
    assert not is_working_day(D("2025-10-08"))
    assert is_working_day(D("2025-09-30"))
    assert is_working_day(D("2025-10-09"))


def test_an_adjusted_working_day_on_a_weekend_is_a_working_day():
    assert D("2025-09-28").weekday() == 6  # a Sunday, worked in exchange for the National Day
    assert is_working_day(D("2025-09-28"))
    assert not is_working_day(D("2025-09-27"))


def test_add_working_days_skips_the_national_day_holiday():
    assert add_working_days(D("2025-09-30"), 1) == D("2025-10-09")
    assert add_working_days(D("2025-09-26"), 1) == D("2025-09-28")  # Sat 27 off, Sun 28 worked
    assert add_working_days(D("2025-10-09"), -1) == D("2025-09-30")
    assert add_working_days(D("2025-06-13"), 0) == D("2025-06-13")


def test_a_year_nobody_knows_has_only_weekends_off_and_is_not_confirmed():
    assert not calendar_confirmed(2027)
    assert calendar_confirmed(2025)
    assert is_working_day(D("2027-10-01"))  # a Friday: would be National Day, but nobody knows yet
    assert not is_working_day(D("2027-10-02"))  # a Saturday
    assert add_working_days(D("2027-12-30"), 3) == D("2028-01-04")
    assert WorkCalendar().working_days_between(D("2027-01-01"), D("2027-01-08")) == 5


def test_the_admins_official_schedule_takes_precedence():
    from core.models import OfficialCalendar, OfficialCalendarDay

    schedule = OfficialCalendar.objects.create(year=2027, source="国办发明电〔2026〕X号")
    OfficialCalendarDay.objects.create(calendar=schedule, date=D("2027-10-01"), kind="holiday", name="国庆节")
    OfficialCalendarDay.objects.create(calendar=schedule, date=D("2027-09-26"), kind="workday", name="国庆节")
    assert calendar_confirmed(2027)
    assert not is_working_day(D("2027-10-01"))
    assert is_working_day(D("2027-09-26"))  # a Sunday, declared a working day
    assert is_working_day(D("2027-10-04"))  # a Monday the schedule does not mention

    # It also overrides what the package says for a year it knows.
    override = OfficialCalendar.objects.create(year=2025)
    OfficialCalendarDay.objects.create(calendar=override, date=D("2025-06-13"), kind="holiday")
    assert not is_working_day(D("2025-06-13"))
    assert is_working_day(D("2025-10-01"))  # not in the admin's (partial) schedule: weekday rule


def test_a_years_schedule_is_read_once_per_process_and_an_edit_here_is_seen_at_once(
    django_assert_num_queries, settings
):
    from core.models import OfficialCalendar, OfficialCalendarDay

    with django_assert_num_queries(1):  # does 2027 have a schedule? (no)
        assert is_working_day(D("2027-10-01"))
    with django_assert_num_queries(0):  # every request asks; the answer is kept
        assert is_working_day(D("2027-10-01"))
        assert not calendar_confirmed(2027)

    # Saved in this process (the admin's form): seen by the next question.
    schedule = OfficialCalendar.objects.create(year=2027)
    day = OfficialCalendarDay.objects.create(calendar=schedule, date=D("2027-10-01"), kind="holiday")
    assert not is_working_day(D("2027-10-01"))
    day.delete()
    assert is_working_day(D("2027-10-01"))

    # Changed by another process (no signal here): seen once the kept copy is older than
    # CALENDAR_CACHE_SECONDS.
    OfficialCalendarDay.objects.create(calendar=schedule, date=D("2027-10-01"), kind="holiday")
    assert not is_working_day(D("2027-10-01"))
    OfficialCalendarDay.objects.filter(date=D("2027-10-01")).update(kind="workday")
    assert not is_working_day(D("2027-10-01"))  # still the kept copy
    settings.CALENDAR_CACHE_SECONDS = 0
    assert is_working_day(D("2027-10-01"))


def test_templates_can_say_a_years_calendar_is_not_yet_confirmed():
    template = Template("{% load work_calendar %}[{{ d|calendar_notice }}]{% if d|calendar_confirmed %}ok{% endif %}")
    assert "2027 年法定节假日安排尚未确认" in template.render(Context({"d": D("2027-03-01")}))
    assert template.render(Context({"d": D("2025-03-01")})) == "[]ok"


def test_reminders_in_an_unknown_year_do_not_crash(django_user_model, departments):
    from notifications.reminders import sweep
    from tests.factories import make_obligation
    from tests.test_reminders_support import at

    make_obligation(departments["JN-DSJ"], D("2027-10-08"))
    for day in ("2027-09-30", "2027-10-01", "2027-10-08", "2027-10-20"):
        sweep(now=at(day))


def test_working_days_api(client, django_user_model):
    user = django_user_model.objects.create_user("u", password="x")
    client.force_login(user)
    body = client.get("/api/calendar/working-days/", {"start": "2025-09-30", "n": 1}).json()
    assert body["date"] == "2025-10-09" and body["confirmed"] is True and body["notice"] == ""
    body = client.get("/api/calendar/working-days/", {"start": "2026-12-30", "n": 5}).json()
    assert body["confirmed"] is False and "2027" in body["notice"]
    error = client.get("/api/calendar/working-days/", {"n": "x"})
    assert error.status_code == 400 and error.json()["code"] == "invalid"
