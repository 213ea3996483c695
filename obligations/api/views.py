"""The obligations API. Viewsets declare; every write is one service call."""

from django.contrib.auth import authenticate
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke
from accounts.throttling import LoginLockoutThrottle
from core import errors
from core.exceptions import error_response
from core.filters import FilterBackend
from core.parsers import CompleteMultiPartParser, DepthLimitedJSONParser
from obligations import selectors, services
from obligations.filtersets import AuditFeedFilterSet, ObligationFilterSet, ProgressFeedFilterSet
from obligations.models import AuditEntry, Evidence, ExtensionRequest, Milestone, Objection, Obligation, ProgressEntry
from obligations.permissions import Action, can

from . import serializers as s
from .permissions import MayAttemptWrite

ERROR = OpenApiResponse(description='{"code", "message", "details"}')
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False, description='期望版本号，如 "3"'
)


# An obligation's own lists (progress, evidence, history …) are whole lists: neither the
# obligation list's filters, search and ordering nor its pages apply to them (nor are documented).
NESTED_LIST = {"filter_backends": [], "pagination_class": None}


def _version(request, data) -> object:
    """The version the caller saw: the If-Match header wins over the body's `version` field."""
    header = request.headers.get("If-Match")
    return header if header else data.get("version")


class TokenView(APIView):
    """POST username+password -> {"token": …}; DELETE revokes the token the call was made with.

    Each POST creates a new hashed token (accounts.ApiToken): the key is shown this once and
    never stored. Failed logins count towards the lockout (axes) and are throttled with 429.
    """

    throttle_classes = [LoginLockoutThrottle]

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    def get_authenticators(self):
        if self.request is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    @extend_schema(request=s.TokenInputSerializer, responses={200: s.TokenSerializer, 400: ERROR}, auth=[])
    def post(self, request):
        data = s.TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None or not user.is_active:
            return error_response("invalid_credentials", "用户名或密码错误", status_code=400)
        _, key = api_token_create(user=user, name="API 登录")
        return Response({"token": key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        # Revokes the token the call is made with; a call with a session has none to revoke.
        if isinstance(request.auth, ApiToken):
            api_token_revoke(user=request.user, token_id=request.auth.id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="义务列表（按紧迫程度排序）"),
    retrieve=extend_schema(summary="义务详情"),
)
class ObligationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.ObligationSerializer
    filterset_class = ObligationFilterSet
    search_fields = ["clause__text"]
    ordering_fields = ["due_date", "status", "id", "updated_at", "last_activity_at"]
    parser_classes = [DepthLimitedJSONParser, CompleteMultiPartParser, FormParser]
    permission_classes = [permissions.IsAuthenticated, MayAttemptWrite]
    # The viewset's writing actions and the write (obligations.permissions.WRITES) each one is.
    writes = {
        "transitions": "transition",
        "due_date": "due_date",
        "reassign": "reassign",
        "cooperating": "cooperating",
        "reporting": "reporting",
        "progress": "progress",
        "evidence": "evidence",
        "milestones": "milestone",
        "milestone_done": "milestone",
        "milestone_due_date": "milestone",
        "extension_requests": "extension",
        "extension_decide": "extension_decide",
        "objections": "objection",
        "objection_decide": "objection_decide",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Obligation.objects.none()
        if self.action == "list":
            # Rows as values(), not instances (21 × 5 model instances were a tenth of the request),
            # with the cooperating bodies in the same query where the database can (PostgreSQL).
            listed = selectors.obligation_list(user=self.request.user).values(*s.ObligationSerializer.VALUES)
            return selectors.with_cooperating_codes(listed)
        visible = Obligation.objects.visible_to(self.request.user)
        if self.request.method == "GET" and self.action != "retrieve":
            # An obligation's own lists (progress, evidence, history …) need it only to be visible
            # and to know whether it is superseded (obligations.permissions).
            return visible.only("id", "department_id", "superseded_at", "status")
        obligations = visible.select_related(
            "department",
            "clause__article__chapter",
            "clause__regulation",
            "clause__article__version",
            "former_clause__article",
        ).with_light()
        # What the representation reads; the writes hand the whole row to a service.
        return obligations.only(*s.ObligationSerializer.COLUMNS) if self.action == "retrieve" else obligations

    def filter_queryset(self, queryset):
        # The list's filters, search and ordering belong to the list. For one obligation they are
        # not documented (the request guard refuses them with 400), so building the filter form
        # would be work without effect.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _check(self, obligation, permission):
        if not can(self.request.user, permission, obligation):
            raise errors.NotAllowed()

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _obligation_response(self, obligation, code=status.HTTP_200_OK):
        obligation = self.get_queryset().get(pk=obligation.pk)
        return Response(
            s.ObligationSerializer(obligation).data, status=code, headers={"ETag": f'"{obligation.version}"'}
        )

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = f'"{response.data["version"]}"'
        return response

    # --- state, dates, assignment ------------------------------------------------------------

    @extend_schema(
        request=s.TransitionInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.ObligationSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        obligation = self.get_object()
        data = self._input(s.TransitionInputSerializer)
        obligation = services.obligation_transition(
            obligation=obligation,
            actor=request.user,
            action=data["action"],
            reason=data.get("reason", ""),
            expected_version=_version(request, data),
        )
        return self._obligation_response(obligation)

    @extend_schema(
        request=s.DueDateInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.ObligationSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["put"], url_path="due-date")
    def due_date(self, request, pk=None):
        obligation = self.get_object()
        data = self._input(s.DueDateInputSerializer)
        obligation = services.obligation_set_due_date(
            obligation=obligation,
            actor=request.user,
            due_date=data["due_date"],
            reason=data["reason"],
            expected_version=_version(request, data),
        )
        return self._obligation_response(obligation)

    @extend_schema(
        request=s.ReassignInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.ObligationSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        obligation = self.get_object()
        data = self._input(s.ReassignInputSerializer)
        obligation = services.obligation_reassign(
            obligation=obligation,
            actor=request.user,
            department=data["department"],
            reason=data["reason"],
            expected_version=_version(request, data),
        )
        return self._obligation_response(obligation)

    @extend_schema(
        request=s.CooperatingInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.ObligationSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def cooperating(self, request, pk=None):
        obligation = self.get_object()
        data = self._input(s.CooperatingInputSerializer)
        obligation = services.obligation_add_cooperating(
            obligation=obligation,
            actor=request.user,
            departments=data["departments"],
            expected_version=_version(request, data),
        )
        return self._obligation_response(obligation)

    @extend_schema(
        request=s.ReportingInputSerializer,
        responses={200: s.ReportingSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["post"])
    def reporting(self, request, pk=None):
        obligation = self.get_object()
        data = self._input(s.ReportingInputSerializer)
        requirement = services.reporting_require(obligation=obligation, actor=request.user, **data)
        return Response(s.ReportingSerializer(requirement).data)

    @extend_schema(responses={200: s.AuditEntrySerializer(many=True), 404: ERROR})
    @action(detail=True, methods=["get"], **NESTED_LIST)
    def history(self, request, pk=None):
        obligation = self.get_object()
        self._check(obligation, Action.HISTORY)
        entries = AuditEntry.objects.filter(obligation=obligation).select_related("actor").order_by("id")
        return Response(s.AuditEntrySerializer(entries, many=True).data)

    @extend_schema(responses={200: s.DueDateChangeSerializer(many=True), 404: ERROR})
    @action(detail=True, methods=["get"], url_path="due-date-changes", **NESTED_LIST)
    def due_date_changes(self, request, pk=None):
        obligation = self.get_object()
        changes = obligation.due_date_changes.select_related("changed_by")
        return Response(s.DueDateChangeSerializer(changes, many=True).data)

    # --- progress and evidence ----------------------------------------------------------------

    @extend_schema(methods=["GET"], responses={200: s.ProgressEntrySerializer(many=True), 404: ERROR})
    @extend_schema(
        methods=["POST"],
        request=s.ProgressInputSerializer,
        responses={201: s.ProgressEntrySerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["get", "post"], **NESTED_LIST)
    def progress(self, request, pk=None):
        obligation = self.get_object()
        if request.method == "GET":
            entries = obligation.progress_entries.select_related("department", "author")
            return Response(s.ProgressEntrySerializer(entries, many=True).data)
        data = self._input(s.ProgressInputSerializer)
        milestone = corrects = None
        if data.get("milestone"):
            milestone = Milestone.objects.filter(pk=data["milestone"], obligation=obligation).first()
            if milestone is None:
                raise errors.invalid("milestone", "该节点不属于本义务")
        if data.get("corrects"):
            corrects = ProgressEntry.objects.filter(pk=data["corrects"], obligation=obligation).first()
            if corrects is None:
                raise errors.invalid("corrects", "被更正的进展不属于本义务")
        entry = services.progress_add(
            obligation=obligation,
            actor=request.user,
            text=data["text"],
            percent=data.get("percent"),
            milestone=milestone,
            report_period=data.get("report_period", ""),
            corrects=corrects,
        )
        return Response(s.ProgressEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: s.EvidenceSerializer(many=True), 404: ERROR})
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": s.EvidenceInputSerializer, "application/json": s.EvidenceInputSerializer},
        responses={201: s.EvidenceSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["get", "post"], **NESTED_LIST)
    def evidence(self, request, pk=None):
        obligation = self.get_object()
        if request.method == "GET":
            items = obligation.evidence.select_related("department", "uploaded_by")
            return Response(s.EvidenceSerializer(items, many=True).data)
        data = self._input(s.EvidenceInputSerializer)
        item = services.evidence_add(
            obligation=obligation,
            actor=request.user,
            kind=data["kind"],
            description=data["description"],
            file=data.get("file"),
            url=data.get("url", ""),
            document_number=data.get("document_number", ""),
        )
        return Response(s.EvidenceSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: ERROR})
    @action(detail=True, methods=["get"], url_path=r"evidence/(?P<eid>[0-9]+)/download")
    def download(self, request, pk=None, eid=None):
        obligation = self.get_object()
        self._check(obligation, Action.DOWNLOAD)
        item = get_object_or_404(Evidence, pk=eid, obligation=obligation, kind=Evidence.Kind.FILE)
        return evidence_file_response(item)

    # --- milestones, extensions, objections -------------------------------------------------------

    @extend_schema(methods=["GET"], responses={200: s.MilestoneSerializer(many=True), 404: ERROR})
    @extend_schema(
        methods=["POST"],
        request=s.MilestoneInputSerializer,
        responses={201: s.MilestoneSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["get", "post"], **NESTED_LIST)
    def milestones(self, request, pk=None):
        obligation = self.get_object()
        if request.method == "GET":
            return Response(s.MilestoneSerializer(obligation.milestones.all(), many=True).data)
        data = self._input(s.MilestoneInputSerializer)
        milestone = services.milestone_add(obligation=obligation, actor=request.user, **data)
        return Response(s.MilestoneSerializer(milestone).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.MilestoneSerializer, 403: ERROR, 404: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"], url_path=r"milestones/(?P<mid>[0-9]+)/done")
    def milestone_done(self, request, pk=None, mid=None):
        obligation = self.get_object()
        milestone = get_object_or_404(Milestone, pk=mid, obligation=obligation)
        milestone = services.milestone_complete(milestone=milestone, actor=request.user)
        return Response(s.MilestoneSerializer(milestone).data)

    @extend_schema(
        request=s.MilestoneDueDateInputSerializer,
        responses={200: s.MilestoneSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["put"], url_path=r"milestones/(?P<mid>[0-9]+)/due-date")
    def milestone_due_date(self, request, pk=None, mid=None):
        obligation = self.get_object()
        milestone = get_object_or_404(Milestone, pk=mid, obligation=obligation)
        data = self._input(s.MilestoneDueDateInputSerializer)
        milestone = services.milestone_set_due_date(milestone=milestone, actor=request.user, **data)
        return Response(s.MilestoneSerializer(milestone).data)

    @extend_schema(methods=["GET"], responses={200: s.ExtensionRequestSerializer(many=True), 404: ERROR})
    @extend_schema(
        methods=["POST"],
        request=s.ExtensionInputSerializer,
        responses={201: s.ExtensionRequestSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["get", "post"], url_path="extension-requests", **NESTED_LIST)
    def extension_requests(self, request, pk=None):
        obligation = self.get_object()
        if request.method == "GET":
            items = obligation.extension_requests.select_related("requested_by", "decided_by")
            return Response(s.ExtensionRequestSerializer(items, many=True).data)
        data = self._input(s.ExtensionInputSerializer)
        item = services.extension_request(obligation=obligation, actor=request.user, **data)
        return Response(s.ExtensionRequestSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ExtensionDecideSerializer,
        parameters=[IF_MATCH],
        responses={200: s.ExtensionRequestSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"], url_path=r"extension-requests/(?P<rid>[0-9]+)/decide")
    def extension_decide(self, request, pk=None, rid=None):
        obligation = self.get_object()
        item = get_object_or_404(ExtensionRequest, pk=rid, obligation=obligation)
        data = self._input(s.ExtensionDecideSerializer)
        item = services.extension_decide(
            request=item,
            actor=request.user,
            approve=data["approve"],
            note=data.get("note", ""),
            expected_version=_version(request, data),
        )
        return Response(s.ExtensionRequestSerializer(item).data)

    @extend_schema(methods=["GET"], responses={200: s.ObjectionSerializer(many=True), 404: ERROR})
    @extend_schema(
        methods=["POST"],
        request=s.ObjectionInputSerializer,
        responses={201: s.ObjectionSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["get", "post"], **NESTED_LIST)
    def objections(self, request, pk=None):
        obligation = self.get_object()
        if request.method == "GET":
            items = obligation.objections.select_related("department", "raised_by")
            return Response(s.ObjectionSerializer(items, many=True).data)
        data = self._input(s.ObjectionInputSerializer)
        item = services.objection_raise(
            obligation=obligation,
            actor=request.user,
            reason=data["reason"],
            suggested_department=data.get("suggested_department") or None,
        )
        return Response(s.ObjectionSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ObjectionDecideSerializer,
        parameters=[IF_MATCH],
        responses={200: s.ObjectionSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"], url_path=r"objections/(?P<oid>[0-9]+)/decide")
    def objection_decide(self, request, pk=None, oid=None):
        obligation = self.get_object()
        item = get_object_or_404(Objection, pk=oid, obligation=obligation)
        data = self._input(s.ObjectionDecideSerializer)
        item = services.objection_decide(
            objection=item,
            actor=request.user,
            decision=data["decision"],
            note=data.get("note", ""),
            new_department=data.get("new_department") or None,
            expected_version=_version(request, data),
        )
        return Response(s.ObjectionSerializer(item).data)


def evidence_file_response(item: Evidence) -> FileResponse:
    """Serve an evidence file as an attachment (RFC 5987 filename*), never inline."""
    if not item.file:
        raise Http404
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=item.original_name or f"evidence-{item.pk}",
        content_type=item.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- the long lists across obligations ----------------------------------------------------------
# Everything a user may see, oldest first, read by cursor (core.pagination): a script syncing a
# body's progress or the audit history follows `next` from where it stopped, and a page deep in
# millions of rows costs what the first does. An obligation's own lists stay whole (above).


def _feed_obligations() -> Prefetch:
    """The entries' obligations in a second, small query: one seven-table join took PostgreSQL
    longer to plan (about 12 ms) than the two queries take to run."""
    return Prefetch(
        "obligation", queryset=Obligation.objects.select_related("clause__article", "clause__regulation", "department")
    )


def _visible_entries(queryset, user):
    """Entries of the obligations `user` sees (Obligation.objects.visible_to, the one rule)."""
    if user.sees_everything:
        return queryset.filter(obligation__isnull=False)
    return queryset.filter(obligation__in=Obligation.objects.visible_to(user).values("pk"))


@extend_schema_view(list=extend_schema(summary="工作进展（所有可见义务，按填报先后，游标分页）"))
class ProgressFeedViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ProgressFeedSerializer
    filterset_class = ProgressFeedFilterSet
    filter_backends = [FilterBackend]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProgressEntry.objects.none()
        entries = (
            ProgressEntry.objects.select_related("department", "author")
            .prefetch_related(_feed_obligations())
            .order_by("id")
        )
        return _visible_entries(entries, self.request.user)


@extend_schema_view(list=extend_schema(summary="操作记录（所有可见义务，按时间先后，游标分页）"))
class AuditFeedViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.AuditFeedSerializer
    filterset_class = AuditFeedFilterSet
    filter_backends = [FilterBackend]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEntry.objects.none()
        entries = AuditEntry.objects.select_related("actor").prefetch_related(_feed_obligations()).order_by("id")
        return _visible_entries(entries, self.request.user)
