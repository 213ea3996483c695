from django.contrib import admin

from .models import OfficialCalendar, OfficialCalendarDay


class OfficialCalendarDayInline(admin.TabularInline):
    model = OfficialCalendarDay
    extra = 3


@admin.register(OfficialCalendar)
class OfficialCalendarAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "created_at"]
    inlines = [OfficialCalendarDayInline]
