from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: what every app uses (errors, input rules, the clock, working days). It
    imports no other app of the project."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "基础设置"
