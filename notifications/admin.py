from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import (
    Delivery,
    Notification,
    NotificationPreference,
    Reminder,
    ReminderSettings,
    WebhookEndpoint,
)


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(admin.ModelAdmin):
    """A singleton: one row, edited in place, never deleted."""

    fieldsets = [
        ("提醒时间", {"fields": ["before_days", "remind_on_due_day", "overdue_repeat_days", "shift_to_working_day"]}),
        (
            "提醒对象",
            {
                "fields": [
                    "notify_responsible_staff",
                    "escalate_after_days",
                    "escalate_to_leads",
                    "escalation_to_staff",
                    "remind_milestones",
                    "remind_extensions",
                    "daily_digest_to_leads",
                    "group_reminders",
                ]
            },
        ),
        (
            "发送",
            {
                "fields": [
                    "claim_lease_seconds",
                    "max_delivery_attempts",
                    "retry_backoff_seconds",
                    "webhook_timeout_seconds",
                    "send_batch_size",
                ]
            },
        ),
    ]

    def has_add_permission(self, request):
        return not ReminderSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        from django.shortcuts import redirect

        settings_row = ReminderSettings.load()
        return redirect("admin:notifications_remindersettings_change", settings_row.pk)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "url", "active"]
    list_filter = ["active"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "in_app", "webhook", "webhook_endpoint"]
    raw_id_fields = ["user"]


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ["channel", "endpoint", "status", "attempts", "last_error", "next_attempt_at", "sent_at"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "kind", "subject", "read_at", "requires_ack", "acknowledged_at"]
    list_filter = ["kind", "requires_ack"]
    search_fields = ["subject", "recipient__username", "recipient__full_name"]
    inlines = [DeliveryInline]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["target_type", "target_id", "stage", "due_date", "recipient", "status", "scheduled_for", "sent_at"]
    list_filter = ["target_type", "status"]
    search_fields = ["recipient__username"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "notification", "channel", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["channel", "status"]
