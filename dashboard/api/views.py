"""The dashboard's aggregates as JSON: the same selectors as the page, one endpoint each."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..forms import DashboardFilterForm
from . import serializers

FILTER_PARAMETERS = [
    OpenApiParameter("regulation", OpenApiTypes.STR, description="法规代码（code）"),
    OpenApiParameter("level", OpenApiTypes.STR, enum=["city", "district", "zone"], description="机构层级"),
    OpenApiParameter("department", OpenApiTypes.STR, description="责任单位代码，如 JN-DSJ"),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="完成期限不早于"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="完成期限不晚于"),
]
LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    OpenApiTypes.INT,
    description=f"最多返回条数（默认 {selectors.DEFAULT_LIST_LIMIT}，上限 {selectors.MAX_LIST_LIMIT}）",
)
OFFSET_PARAMETER = OpenApiParameter("offset", OpenApiTypes.INT, description="跳过前若干条（分页）")
SORT_PARAMETER = OpenApiParameter(
    "sort",
    OpenApiTypes.STR,
    enum=selectors.BODY_SORT_CHOICES,
    description="排序列，前缀 - 为降序",
)


def local_times(page: dict, fields: tuple[str, ...]) -> dict:
    """A list page as its serializer describes it, without DRF's field-by-field walk over a page
    of up to 500 rows: the selector's rows are already in the serializer's shape and JSON types
    (the renderer writes dates as DRF does), except the moments, which DRF writes in
    Asia/Shanghai. tests/test_dashboard_api.py compares the two."""
    for row in page["results"]:
        for field in fields:
            if row[field] is not None:
                row[field] = timezone.localtime(row[field])
    return page


BODY_FIELDS = tuple(serializers.BodyRowSerializer().fields)


def body_rows(rows: list[dict]) -> list[dict]:
    """The body table as BodyRowSerializer describes it, without DRF's walk over 704 rows x 22
    fields (270 ms of a 300 ms request at province scale): the selector's values are already JSON
    types but for the last activity, a moment DRF writes in Asia/Shanghai.
    tests/test_dashboard_api.py compares the two."""
    answer = []
    for row in rows:
        out = {name: row[name] for name in BODY_FIELDS}
        if out["last_activity_at"] is not None:
            out["last_activity_at"] = timezone.localtime(out["last_activity_at"])
        answer.append(out)
    return answer


class DashboardAPIView(APIView):
    # The project's authentication classes (settings.REST_FRAMEWORK): hashed API tokens first, so
    # that the tokens /api/auth/token/ issues work here and an anonymous caller gets 401, not 403.
    permission_classes = [IsAuthenticated]

    def scope(self, request) -> selectors.DashboardScope:
        form = DashboardFilterForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        return selectors.dashboard_scope(user=request.user, filters=form.to_filters())


class SummaryView(DashboardAPIView):
    @extend_schema(
        operation_id="dashboard_summary",
        summary="总体指标",
        parameters=FILTER_PARAMETERS,
        responses=serializers.SummarySerializer,
        tags=["dashboard"],
    )
    def get(self, request):
        data = selectors.dashboard_summary(scope=self.scope(request))
        return Response(serializers.SummarySerializer(data).data)


class BodiesView(DashboardAPIView):
    @extend_schema(
        operation_id="dashboard_bodies",
        summary="按责任单位统计",
        parameters=[*FILTER_PARAMETERS, SORT_PARAMETER],
        responses=serializers.BodyRowSerializer(many=True),
        tags=["dashboard"],
    )
    def get(self, request):
        sort = request.query_params.get("sort")
        if sort is not None and selectors.normalise_body_sort(sort) != sort:
            # The page falls back to the default order; the API refuses, so a typo never passes.
            choices = "、".join(selectors.BODY_SORT_CHOICES)
            raise ValidationError({"sort": [f"不支持的排序列：{sort or '（空）'}（可选：{choices}）"]})
        data = selectors.dashboard_bodies(scope=self.scope(request), sort=sort)
        return Response(body_rows(data))


class ChaptersView(DashboardAPIView):
    @extend_schema(
        operation_id="dashboard_chapters",
        summary="按章统计",
        parameters=FILTER_PARAMETERS,
        responses=serializers.ChapterRowSerializer(many=True),
        tags=["dashboard"],
    )
    def get(self, request):
        data = selectors.dashboard_chapters(scope=self.scope(request))
        return Response(serializers.ChapterRowSerializer(data, many=True).data)


class GridView(DashboardAPIView):
    @extend_schema(
        operation_id="dashboard_grid",
        summary="条文 × 责任单位 状态网格",
        parameters=FILTER_PARAMETERS,
        responses=serializers.GridSerializer,
        tags=["dashboard"],
    )
    def get(self, request):
        # The selector's dict is already what GridSerializer describes, in JSON types only: a
        # regulation's grid is tens of thousands of cells, and DRF field-by-field serialisation
        # would cost more than the database does (test_dashboard_api checks the shape).
        return Response(selectors.dashboard_grid(scope=self.scope(request)))


class OverdueView(DashboardAPIView):
    @extend_schema(
        operation_id="dashboard_overdue",
        summary="逾期清单（按逾期天数降序）",
        parameters=[*FILTER_PARAMETERS, LIMIT_PARAMETER, OFFSET_PARAMETER],
        responses=serializers.OverdueSerializer,
        tags=["dashboard"],
    )
    def get(self, request):
        limit = selectors.clamp_limit(request.query_params.get("limit"))
        offset = selectors.clamp_offset(request.query_params.get("offset"))
        data = selectors.dashboard_overdue(scope=self.scope(request), limit=limit, offset=offset)
        return Response(local_times(data, ("last_progress_at", "last_reminder_at")))


class TrendView(DashboardAPIView):
    @extend_schema(
        operation_id="dashboard_trend",
        summary="按周趋势与燃尽",
        parameters=FILTER_PARAMETERS,
        responses=serializers.TrendSerializer,
        tags=["dashboard"],
    )
    def get(self, request):
        data = selectors.dashboard_trend(scope=self.scope(request))
        return Response(serializers.TrendSerializer(data).data)


class QueueView(DashboardAPIView):
    @extend_schema(
        operation_id="dashboard_queue",
        summary="待核验队列",
        parameters=[*FILTER_PARAMETERS, LIMIT_PARAMETER, OFFSET_PARAMETER],
        responses=serializers.QueueSerializer,
        tags=["dashboard"],
    )
    def get(self, request):
        limit = selectors.clamp_limit(request.query_params.get("limit"))
        offset = selectors.clamp_offset(request.query_params.get("offset"))
        data = selectors.dashboard_queue(scope=self.scope(request), limit=limit, offset=offset)
        return Response(local_times(data, ("submitted_at",)))
