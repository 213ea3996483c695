"""The ground floor's tables: the official holiday calendar (core.calendar reads it).

`OfficialCalendar` / `OfficialCalendarDay`: a year's official holiday schedule entered by the admin;
it takes precedence over the `chinesecalendar` package.
"""

from django.core.exceptions import ValidationError
from django.db import models

from .validators import safe_text


class OfficialCalendar(models.Model):
    """A year's official schedule (国务院办公厅关于某年部分节假日安排的通知), entered by the admin.

    When a year has one, it decides that year's working days; otherwise the `chinesecalendar`
    package does; where neither knows the year, only weekends are days off."""

    year = models.PositiveSmallIntegerField("年份", unique=True)
    source = models.CharField("依据文件", max_length=200, blank=True, validators=[safe_text])
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    class Meta:
        db_table = "notifications_officialcalendar"  # moved from notifications; table kept
        verbose_name = "法定节假日安排"
        verbose_name_plural = "法定节假日安排"
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year} 年节假日安排"


class OfficialCalendarDay(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", "放假"
        WORKDAY = "workday", "调休上班"

    calendar = models.ForeignKey(OfficialCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField("日期", unique=True)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    name = models.CharField("节日", max_length=50, blank=True, validators=[safe_text])

    class Meta:
        db_table = "notifications_officialcalendarday"
        verbose_name = "节假日/调休日"
        verbose_name_plural = "节假日/调休日"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"

    def clean(self):
        if self.calendar_id and self.date and self.date.year != self.calendar.year:
            raise ValidationError({"date": "日期须属于该年度"})
