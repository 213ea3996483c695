from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core import calendar
from core.clock import today
from core.filters import BooleanFilter, FilterSet
from notifications import selectors, services
from notifications.models import Notification

from .serializers import (
    AcknowledgementSerializer,
    NotificationSerializer,
    PreferenceSerializer,
    WorkingDaysSerializer,
)


class NotificationFilterSet(FilterSet):
    unread = BooleanFilter(field_name="read_at", lookup_expr="isnull", label="未读")
    unacknowledged = BooleanFilter(method="filter_unacknowledged", label="待确认")

    class Meta:
        model = Notification
        fields = ["kind", "unread", "requires_ack"]

    def filter_unacknowledged(self, queryset, name, value):
        if value:
            return queryset.filter(requires_ack=True, acknowledged_at__isnull=True)
        return queryset


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in user's in-app messages (站内消息)."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet
    search_fields = ["subject", "body"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.notifications_for(self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = services.notification_mark_read(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses={200: OpenApiResponse(description="{'updated': n}")})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"updated": services.notifications_mark_all_read(user=request.user)})

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        notification = services.notification_acknowledge(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        responses={
            200: OpenApiResponse(
                description="{'unread': n, 'attention': m}: every unread notice, and what needs the "
                "person (unread decisions and notices awaiting 已知悉), the figure the nav badge shows"
            )
        }
    )
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response(
            {"unread": selectors.unread_count(request.user), "attention": selectors.attention_count(request.user)}
        )


class AcknowledgementViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Escalations and who acknowledged them (lead, auditors, admins)."""

    serializer_class = AcknowledgementSerializer
    filterset_fields = ["department"]
    search_fields = []

    def get_queryset(self):
        return selectors.acknowledgements(self.request.user)

    def list(self, request, *args, **kwargs):
        if not selectors.can_see_acknowledgements(request.user):
            raise PermissionDenied("仅牵头部门、审计及管理员可查看确认情况")
        return super().list(request, *args, **kwargs)


class WorkingDaysView(APIView):
    """N working days from a date (default today), with China's holidays and adjusted working days."""

    @extend_schema(parameters=[WorkingDaysSerializer], responses={200: OpenApiResponse(description="date")})
    def get(self, request):
        params = WorkingDaysSerializer(data=request.query_params)
        if not params.is_valid():
            raise ValidationError(params.errors)
        start = params.validated_data.get("start") or today()
        result = calendar.add_working_days(start, params.validated_data["n"])
        return Response(
            {
                "start": start,
                "n": params.validated_data["n"],
                "date": result,
                "confirmed": calendar.calendar_confirmed(result.year) and calendar.calendar_confirmed(start.year),
                "notice": calendar.unconfirmed_notice(result) or calendar.unconfirmed_notice(start),
            }
        )


class PreferenceView(APIView):
    """The signed-in user's channels (no row yet: email and in-app)."""

    @extend_schema(responses=PreferenceSerializer)
    def get(self, request):
        pref = services.preference_for(request.user)
        return Response(PreferenceSerializer(pref).data)

    @extend_schema(request=PreferenceSerializer, responses=PreferenceSerializer)
    def put(self, request):
        serializer = PreferenceSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            raise ValidationError(serializer.errors)
        pref = services.preference_update(user=request.user, **serializer.validated_data)
        return Response(PreferenceSerializer(pref).data)
