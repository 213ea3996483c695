from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "提醒与通知"

    def ready(self):
        from django.db.models.signals import post_save

        from obligations.models import AuditEntry

        from .outbox import on_audit_entry

        # The audit entry a service writes is the event: the outbox row joins its transaction.
        post_save.connect(on_audit_entry, sender=AuditEntry, dispatch_uid="notifications.outbox")
