"""The rules for what people type: text (progress notes, descriptions, titles, reasons, notes,
names) and dates. One place, used by the web forms, the API serializers and the list filters.

Text:

- control characters (NUL, bell, escape, C1 codes …) are refused; tab, line feed and carriage
  return are text;
- bidirectional embedding, override and isolate characters (U+202A–U+202E, U+2066–U+2069) are
  refused: they make a text read differently from what it stores ("Trojan Source");
- lone surrogates (possible in JSON as "\\ud800") are refused: they are no character at all;
- text that is empty once whitespace and zero-width characters (U+200B–U+200D, U+2060, U+FEFF)
  are taken away is refused as empty; zero-width joiners inside a text stay (emoji, some scripts);
- the length limit of each field is enforced with an error, never by cutting the text.

Dates: ISO 8601 (2025-03-01) only, from 1900-01-01 to 2199-12-31. Wide enough for any deadline
or report, narrow enough that no date arithmetic downstream (working days, the dashboard's weeks,
reminders) leaves Python's calendar (year 1 to 9999). An impossible date (2025-02-30) or a month
13 never gets this far: the date fields refuse it.

Date-times (the feeds' since/until) have the same date range and an offset from UTC within
±15:59, PostgreSQL's limit.

Each refusal has its own code, which the API returns as the error's `code`
(core.exceptions) when it is the request's only problem; the forms show every
message in Chinese next to its field.
"""

import datetime as dt
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from rest_framework.validators import ProhibitSurrogateCharactersValidator

ALLOWED_CONTROLS = frozenset("\t\n\r")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

# What safe_text covers already.
SUPERSEDED = (ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)

# Machine codes of the refusals here; the API's error `code` when a request has no other problem.
PRECISE_CODES = frozenset(
    {"control_character", "bidi_control", "invalid_unicode", "invisible_text", "date_out_of_range"}
)


def _codepoint(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def safe_text(value) -> None:
    """The validator: refuse control, bidi-control and surrogate characters, and text made of
    nothing visible. Length is each field's own `max_length`."""
    if not isinstance(value, str):
        return
    for ch in value:
        if ch in ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            raise ValidationError(
                "不能包含控制字符（%(char)s），请删除后重试", code="control_character", params={"char": _codepoint(ch)}
            )
        if category == "Cs":
            raise ValidationError(
                "含有无效的字符编码（%(char)s），请检查输入", code="invalid_unicode", params={"char": _codepoint(ch)}
            )
        if ch in BIDI_CONTROLS:
            raise ValidationError(
                "不能包含改变文字方向的控制字符（%(char)s），请删除后重试",
                code="bidi_control",
                params={"char": _codepoint(ch)},
            )
    if value and all(ch.isspace() or ch in ZERO_WIDTH for ch in value):
        raise ValidationError("内容不能只有空白或不可见字符", code="invisible_text")


ISO_DATE_FORMATS = ["%Y-%m-%d"]  # what browsers' date pickers send and the API documents
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)


def sane_date(value) -> None:
    if isinstance(value, dt.date) and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(
            "日期应在 %(earliest)s 至 %(latest)s 之间",
            code="date_out_of_range",
            params={"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
        )


# PostgreSQL's own limit on a time-zone offset: beyond it a timestamp is refused by the database.
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)


def sane_moment(value) -> None:
    """A date-time (the feeds' since/until): its date within 1900–2199 and its offset from UTC
    within ±15:59."""
    if not isinstance(value, dt.datetime):
        return
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValidationError("时区偏移应在 -15:59 至 +15:59 之间", code="date_out_of_range")
    sane_date(value.date())


def guard_fields(fields, *, text: type | tuple, date: type | tuple, moment: type | tuple = ()) -> None:
    """Put the rules on every text and date field of a form or serializer (Django and DRF fields
    alike keep their validators in a list), so that a field added later is covered without a
    thought. safe_text replaces Django's NUL and DRF's surrogate validators: one message each."""
    for field in fields.values():
        child = getattr(field, "child", None)  # a list of values (DRF's ListField)
        for each in (field, child):
            if isinstance(each, text) and safe_text not in each.validators:
                each.validators = [v for v in each.validators if not isinstance(v, SUPERSEDED)] + [safe_text]
            elif isinstance(each, date) and sane_date not in each.validators:
                each.validators = [*each.validators, sane_date]
                each.input_formats = ISO_DATE_FORMATS
            elif isinstance(each, moment) and sane_moment not in each.validators:
                each.validators = [*each.validators, sane_moment]
