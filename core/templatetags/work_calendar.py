"""Template helpers for working days: `{% load work_calendar %}`.

- `{{ some_date|calendar_notice }}`: the "holidays not yet confirmed" sentence, or "".
- `{% if some_date|calendar_confirmed %}` / `{{ some_date|is_working_day }}`.
"""

import datetime as dt

from django import template

from core import calendar

register = template.Library()


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int):
        return dt.date(value, 1, 1)
    return None


@register.filter
def calendar_notice(value) -> str:
    return calendar.unconfirmed_notice(_as_date(value))


@register.filter
def calendar_confirmed(value) -> bool:
    day = _as_date(value)
    return True if day is None else calendar.calendar_confirmed(day.year)


@register.filter
def is_working_day(value) -> bool:
    day = _as_date(value)
    return False if day is None else calendar.is_working_day(day)
