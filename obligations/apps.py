from django.apps import AppConfig


class ObligationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "obligations"
    verbose_name = "法规义务"

    def ready(self):
        from . import checks  # noqa: F401 (registers the deploy checks)
