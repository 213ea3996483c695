from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "用户与机构"

    def ready(self):
        from . import receivers, schema  # noqa: F401 (signal receivers; the OpenAPI extension)
