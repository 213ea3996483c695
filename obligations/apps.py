from django.apps import AppConfig


class ObligationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "obligations"
    verbose_name = "法规义务"

    def ready(self):
        from . import account_audit, checks  # noqa: F401 (the deploy checks; audit of account changes)
