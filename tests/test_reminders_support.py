"""Builders for the reminder tests (no tests here): obligations without importing the whole
regulation, and a sweep at a given local time."""

import datetime as dt
import itertools
import zoneinfo

from obligations.parser import int_to_chinese_numeral

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def at(day: dt.date | str, hour: int = 9) -> dt.datetime:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def regulation():
    from obligations.models import Regulation

    reg, _ = Regulation.objects.get_or_create(
        code="test-reminders", defaults={"title": "测试条例", "source_text": "测试", "source_sha256": "0" * 64}
    )
    return reg


def make_obligations(department, due_dates, *, status="not_started", text="市大数据主管部门应当建设公共数据平台。"):
    """One obligation per due date, each on its own article (第N条第一款)."""
    from obligations.models import Article, Clause, Obligation

    reg = regulation()
    start = Article.objects.filter(regulation=reg).order_by("-number").values_list("number", flat=True).first() or 0
    articles = Article.objects.bulk_create(
        [
            Article(
                regulation=reg, number=start + i + 1, label=f"第{int_to_chinese_numeral(start + i + 1)}条", text=text
            )
            for i in range(len(due_dates))
        ]
    )
    clauses = Clause.objects.bulk_create(
        [
            Clause(regulation=reg, article=a, paragraph_number=1, text=text, subject="市大数据主管部门", kind="duty")
            for a in articles
        ]
    )
    return Obligation.objects.bulk_create(
        [
            Obligation(clause=c, department=department, due_date=d, status=status)
            for c, d in zip(clauses, due_dates, strict=True)
        ]
    )


def make_obligation(department, due_date, **kwargs):
    return make_obligations(department, [due_date], **kwargs)[0]


def sweep_on(day, hour: int = 9):
    from notifications.reminders import sweep

    return sweep(now=at(day, hour))


def ledger(**filters):
    from notifications.models import Reminder

    return list(
        Reminder.objects.filter(**filters).order_by("id").values_list("target_type", "stage", "recipient__username")
    )


class BrokenBackend:
    """An email backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        raise ConnectionRefusedError("connection refused")

    def close(self):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("connection refused")
