from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "提醒与通知"

    def ready(self):
        from . import receivers  # noqa: F401 (connects the listeners)
