from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: what every app uses (errors, input rules, the clock, working days). It
    imports no other app of the project."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "基础设置"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .calendar import official_schedule_changed
        from .models import OfficialCalendar, OfficialCalendarDay

        # An admin's edit of the holiday schedule is seen at once by the process that saved it.
        for model in (OfficialCalendar, OfficialCalendarDay):
            post_save.connect(official_schedule_changed, sender=model, dispatch_uid=f"calendar-save-{model.__name__}")
            post_delete.connect(
                official_schedule_changed, sender=model, dispatch_uid=f"calendar-delete-{model.__name__}"
            )
