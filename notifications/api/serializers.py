from rest_framework import serializers

from core.serializers import InputSerializer
from notifications.models import Notification, WebhookEndpoint


class NotificationSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "kind_display",
            "subject",
            "body",
            "url",
            "obligation",
            "department",
            "created_at",
            "read_at",
            "requires_ack",
            "acknowledged_at",
        ]
        read_only_fields = fields


class AcknowledgementSerializer(serializers.ModelSerializer):
    recipient = serializers.CharField(source="recipient.display_name", read_only=True)
    recipient_username = serializers.CharField(source="recipient.username", read_only=True)
    recipient_department = serializers.CharField(source="recipient.department.short_name", default="", read_only=True)
    department = serializers.CharField(source="department.short_name", default="", read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "subject",
            "recipient",
            "recipient_username",
            "recipient_department",
            "department",
            "created_at",
            "acknowledged_at",
        ]
        read_only_fields = fields


class WorkingDaysSerializer(InputSerializer):
    start = serializers.DateField(required=False)
    n = serializers.IntegerField(min_value=-3650, max_value=3650)


class PreferenceSerializer(serializers.Serializer):
    email = serializers.BooleanField()
    in_app = serializers.BooleanField()
    webhook = serializers.BooleanField()
    webhook_endpoint = serializers.PrimaryKeyRelatedField(
        queryset=WebhookEndpoint.objects.filter(active=True), allow_null=True, required=False
    )
