from django.contrib import admin
from django_celery_beat import admin as beat_admin  # imported first: it registers the beat models
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule

from .models import OfficialCalendar, OfficialCalendarDay


@admin.display(description="编号", ordering="pk")
def number(obj):
    """The row's id as a list column (Django would head it "ID")."""
    return obj.pk


class ReadOnly:
    """Look, never add, edit or delete (no delete action either)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0
    can_delete = False


class OfficialCalendarDayInline(admin.TabularInline):
    model = OfficialCalendarDay
    extra = 3


@admin.register(OfficialCalendar)
class OfficialCalendarAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "created_at"]
    inlines = [OfficialCalendarDayInline]


# --- django-celery-beat: the schedule of the periodic tasks ----------------------------------
# Only superusers see or change it: a wrong entry stops reminders or audit checkpoints for
# everyone. Its own admin leaves some labels in English (plain strings, not translatable);
# these subclasses name them in Chinese.


class SuperuserOnly:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class TaskNameFilter(admin.AllValuesFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "任务名"


@admin.display(description="任务名", ordering="task")
def task_name(periodic_task):
    return periodic_task.task


class PeriodicTaskInline(beat_admin.PeriodicTaskInline):
    fields = ("name", task_name, "args", "kwargs")
    readonly_fields = fields
    verbose_name = verbose_name_plural = "使用该调度的定时任务"


class PeriodicTaskAdmin(SuperuserOnly, beat_admin.PeriodicTaskAdmin):
    list_display = ("name", "enabled", "schedule", "interval", "start_time", "last_run_at", "one_off")
    list_filter = ["enabled", "one_off", ("task", TaskNameFilter), "start_time", "last_run_at"]

    @admin.display(description="调度")
    def schedule(self, periodic_task):
        return periodic_task.scheduler

    @admin.display(description="Crontab 说明")
    def crontab_translation(self, periodic_task):
        return super().crontab_translation(periodic_task)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if "task" in form.base_fields:
            form.base_fields["task"].label = "任务名"
        return form


class CrontabScheduleAdmin(SuperuserOnly, beat_admin.CrontabScheduleAdmin):
    list_display = ("__str__", "description")
    fields = ("description", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
    readonly_fields = ("description",)
    inlines = [PeriodicTaskInline]

    @admin.display(description="说明")
    def description(self, crontab):
        return crontab.human_readable


class IntervalScheduleAdmin(SuperuserOnly, beat_admin.IntervalScheduleAdmin):
    inlines = [PeriodicTaskInline]


class SolarScheduleAdmin(SuperuserOnly, beat_admin.SolarScheduleAdmin):
    inlines = [PeriodicTaskInline]


class ClockedScheduleAdmin(SuperuserOnly, beat_admin.ClockedScheduleAdmin):
    inlines = [PeriodicTaskInline]


for _model, _admin in [
    (PeriodicTask, PeriodicTaskAdmin),
    (CrontabSchedule, CrontabScheduleAdmin),
    (IntervalSchedule, IntervalScheduleAdmin),
    (SolarSchedule, SolarScheduleAdmin),
    (ClockedSchedule, ClockedScheduleAdmin),
]:
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _admin)
