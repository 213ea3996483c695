from django.contrib import admin

from .models import OfficialCalendar, OfficialCalendarDay


class ReadOnlyAdmin(admin.ModelAdmin):
    """Look, never add, edit or delete (no delete action either)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OfficialCalendarDayInline(admin.TabularInline):
    model = OfficialCalendarDay
    extra = 3


@admin.register(OfficialCalendar)
class OfficialCalendarAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "created_at"]
    inlines = [OfficialCalendarDayInline]
