"""Working days in mainland China.

Order of authority for a date's year:
1. an official schedule the admin entered in the app (`OfficialCalendar`),
2. the `chinesecalendar` package (statutory holidays and adjusted working days it knows),
3. nothing: only Saturdays and Sundays are days off, and the year counts as "not yet confirmed"
   (`calendar_confirmed(year)` is False, the UI says so). Nothing raises for an unknown year.

A year's official schedule is read from the database once and kept in this process for
`settings.CALENDAR_CACHE_SECONDS`: every request needs the light's window, and the table changes
once a year. An admin's edit clears the kept schedules of the process that saved it at once
(`official_schedule_changed`, connected to the models' signals in core.apps) and again when its
transaction commits; other processes (the other web workers, the Celery worker and beat) read it
again within that many seconds. `WorkCalendar` also remembers each day it has answered for its
own lifetime; the sweep keeps one instance for its whole run, the module-level functions build a
fresh one per call.
"""

import datetime as dt
import time

import chinese_calendar
from django.conf import settings
from django.db import transaction

from .models import OfficialCalendar, OfficialCalendarDay

# year -> (when it was read, time.monotonic(); the year's days, or None if it has no schedule)
_official_schedules: dict[int, tuple[float, dict[dt.date, bool] | None]] = {}


def _read_official_schedule(year: int) -> dict[dt.date, bool] | None:
    if not OfficialCalendar.objects.filter(year=year).exists():
        return None
    return {
        day: kind == OfficialCalendarDay.Kind.WORKDAY
        for day, kind in OfficialCalendarDay.objects.filter(calendar__year=year).values_list("date", "kind")
    }


def official_schedule(year: int) -> dict[dt.date, bool] | None:
    """The admin's schedule of `year` (day -> is a working day), None if there is none; read at
    most once per CALENDAR_CACHE_SECONDS in this process."""
    kept = _official_schedules.get(year)
    now = time.monotonic()
    if kept is not None and now - kept[0] < settings.CALENDAR_CACHE_SECONDS:
        return kept[1]
    schedule = _read_official_schedule(year)
    _official_schedules[year] = (now, schedule)
    return schedule


def forget_official_schedules() -> None:
    """Drop every kept schedule: the next question reads the database again."""
    _official_schedules.clear()


def official_schedule_changed(**kwargs) -> None:
    """Signal receiver (core.apps): forget now, and once more when the saving transaction commits,
    since a read in between would keep what the commit then changes."""
    forget_official_schedules()
    transaction.on_commit(forget_official_schedules)


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    def __init__(self):
        self._official: dict[int, dict[dt.date, bool] | None] = {}
        self._package: dict[int, bool] = {}
        self._days: dict[dt.date, bool] = {}

    def _official_year(self, year: int) -> dict[dt.date, bool] | None:
        if year not in self._official:
            self._official[year] = official_schedule(year)
        return self._official[year]

    def _package_year(self, year: int) -> bool:
        if year not in self._package:
            self._package[year] = _package_knows(year)
        return self._package[year]

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._days:
            return self._days[day]
        official = self._official_year(day.year)
        if official is not None:
            result = official.get(day, day.weekday() < 5)
        elif self._package_year(day.year):
            result = chinese_calendar.is_workday(day)
        else:
            result = day.weekday() < 5
        self._days[day] = result
        return result

    def confirmed(self, year: int) -> bool:
        return self._official_year(year) is not None or self._package_year(year)

    def working_day_on_or_before(self, day: dt.date) -> dt.date:
        # The longest run of days off in China is 8–9 days; the bound only guards against a
        # mis-entered schedule that marks a whole year as holidays.
        for _ in range(366):
            if self.is_working_day(day):
                return day
            day -= dt.timedelta(days=1)
        return day

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        for _ in range(366):
            if self.is_working_day(day):
                return day
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after `start` (before it when n < 0); `start` itself for n = 0."""
        step = dt.timedelta(days=1 if n >= 0 else -1)
        remaining = abs(n)
        day = start
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


def is_working_day(day: dt.date) -> bool:
    return WorkCalendar().is_working_day(day)


def add_working_days(start: dt.date, n: int) -> dt.date:
    return WorkCalendar().add_working_days(start, n)


def calendar_confirmed(year: int) -> bool:
    """Whether the holidays of `year` are known (entered by the admin or in the package)."""
    return WorkCalendar().confirmed(year)


def unconfirmed_notice(day: dt.date | None) -> str:
    """The sentence the UI shows next to a date whose year's holidays are not known yet."""
    if day is None or calendar_confirmed(day.year):
        return ""
    return f"{day.year} 年法定节假日安排尚未确认，暂按周六、周日休息计算工作日。"
