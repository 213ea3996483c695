from django.apps import AppConfig


class RegulationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "regulations"
    verbose_name = "法规"
