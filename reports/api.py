"""/api/reports/: the reports page's exports for programs. Same rules, same files, same jobs."""

import tempfile

from django.http import FileResponse
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import InputSerializer
from obligations.models import Obligation

from . import services
from .asof import ReportFilters
from .models import ExportJob
from .views import export_response

ERROR = inline_serializer(
    "ReportError",
    fields={
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "details": serializers.DictField(),
    },
)


class ReportRequestSerializer(InputSerializer):
    format = serializers.ChoiceField(
        choices=ExportJob.Format.choices, help_text="xlsx / pdf / csv / bundle（佐证材料包）"
    )
    department = serializers.CharField(required=False, allow_blank=True, help_text="责任单位机构代码，如 JN-DSJ")
    chapter = serializers.IntegerField(required=False, allow_null=True, min_value=1, help_text="章序号")
    status = serializers.ChoiceField(choices=Obligation.Status.choices, required=False, allow_blank=True)
    due_from = serializers.DateField(required=False, allow_null=True, help_text="完成期限起")
    due_to = serializers.DateField(required=False, allow_null=True, help_text="完成期限止")
    as_of = serializers.DateField(required=False, allow_null=True, help_text="状态截至日期（留空为当前状态）")
    regulation = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="法规代码（留空为最先导入的法规）"
    )

    def filters(self) -> ReportFilters:
        d = self.validated_data
        return ReportFilters(
            department=d.get("department") or "",
            chapter=d.get("chapter"),
            status=d.get("status") or "",
            due_from=d.get("due_from"),
            due_to=d.get("due_to"),
            as_of=d.get("as_of"),
            regulation=d.get("regulation") or "",
        )


class ExportJobSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    percent = serializers.IntegerField(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "format",
            "params",
            "status",
            "status_display",
            "percent",
            "total_rows",
            "rows_done",
            "size",
            "sha256",
            "error",
            "created_at",
            "finished_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, job) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        return reverse("reports-api:job-download", kwargs={"job_id": job.id})


def _error(err: services.ReportError) -> Response:
    return Response(err.as_dict(), status=err.status)


class ReportExportView(APIView):
    @extend_schema(
        summary="导出合规报告",
        description=(
            "按筛选条件生成报告。义务数不超过 REPORT_SYNC_MAX_ROWS 时直接返回文件（200）；"
            "否则创建后台导出任务并返回任务（202），通过任务接口查询进度与下载。"
            "PDF 超过 REPORT_PDF_MAX_ROWS 项义务时，结果为按责任单位分册的 PDF 压缩包（zip）。"
            "审计人员、牵头部门和管理员可导出全部义务；经办人仅可导出本单位义务。每次导出均写入审计记录。"
        ),
        request=ReportRequestSerializer,
        responses={
            200: OpenApiResponse(OpenApiTypes.BINARY, description="报告文件（xlsx / pdf / csv / zip）"),
            202: ExportJobSerializer,
            400: ERROR,
            403: ERROR,
        },
        tags=["reports"],
    )
    def post(self, request):
        serializer = ReportRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return Response(
                {"code": "invalid", "message": "请求参数有误。", "details": serializer.errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            response, job = export_response(
                user=request.user, fmt=serializer.validated_data["format"], filters=serializer.filters()
            )
        except services.ReportError as err:
            return _error(err)
        if job is not None:
            data = ExportJobSerializer(job).data
            location = reverse("reports-api:job", kwargs={"job_id": job.id})
            return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})
        return response


class ExportJobListView(APIView):
    @extend_schema(summary="我的导出任务", responses=ExportJobSerializer(many=True), tags=["reports"])
    def get(self, request):
        jobs = ExportJob.objects.filter(requested_by=request.user)[:50]
        return Response(ExportJobSerializer(jobs, many=True).data)


class ExportJobDetailView(APIView):
    @extend_schema(summary="导出任务进度", responses={200: ExportJobSerializer, 404: ERROR}, tags=["reports"])
    def get(self, request, job_id):
        job = ExportJob.objects.filter(id=job_id, requested_by=request.user).first()
        if job is None:
            return _error(services.ReportError("not_found", "导出任务不存在。", 404))
        return Response(ExportJobSerializer(job).data)


class ExportJobDownloadView(APIView):
    @extend_schema(
        summary="下载导出结果",
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="报告文件"), 404: ERROR},
        tags=["reports"],
    )
    def get(self, request, job_id):
        job = ExportJob.objects.filter(id=job_id, requested_by=request.user).first()
        path = services.export_job_path(job) if job else None
        if path is None:
            return _error(services.ReportError("not_found", "报告不存在或尚未生成。", 404))
        return FileResponse(
            open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
            as_attachment=True,
            filename=job.download_name,
            content_type=services.export_job_content_type(job),
        )


class AmendmentTableRequestSerializer(InputSerializer):
    format = serializers.ChoiceField(choices=list(services.AMENDMENT_FORMATS), help_text="xlsx / pdf")
    regulation = serializers.CharField(max_length=100, help_text="法规代码")
    regulation_version = serializers.IntegerField(
        required=False, allow_null=True, min_value=2, help_text="修订版本序号（留空为最新版本；第1版为原始文本）"
    )


class AmendmentTableView(APIView):
    @extend_schema(
        summary="导出修订对照表",
        description=(
            "法规某一修订版本与前一版本的逐条对照（原条款、新条款、对应关系、原条文、新条文、文字差异、义务处理）。"
            "审计人员、牵头部门和管理员可导出；经办人不能导出（403）。法规尚未修订时返回 400（not_amended）。"
            "每次导出均写入审计记录。"
        ),
        request=AmendmentTableRequestSerializer,
        responses={
            200: OpenApiResponse(OpenApiTypes.BINARY, description="修订对照表（xlsx / pdf）"),
            400: ERROR,
            403: ERROR,
            404: ERROR,
        },
        tags=["reports"],
    )
    def post(self, request):
        try:  # who may ask comes before what is asked
            services.amendment_table_allowed(request.user)
        except services.ReportError as err:
            return _error(err)
        serializer = AmendmentTableRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return Response(
                {"code": "invalid", "message": "请求参数有误。", "details": serializer.errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        data = serializer.validated_data
        try:
            version = services.amendment_table_version(
                user=request.user, regulation=data["regulation"], number=data.get("regulation_version")
            )
        except services.ReportError as err:
            return _error(err)
        out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
        services.amendment_table_write(version=version, fmt=data["format"], user=request.user, out=out)
        out.seek(0)
        return FileResponse(
            out,
            as_attachment=True,
            filename=services.amendment_table_name(version=version, fmt=data["format"]),
            content_type=services.amendment_table_content_type(data["format"]),
        )


app_name = "reports-api"

urlpatterns = [
    path("exports/", ReportExportView.as_view(), name="export"),
    path("amendment-table/", AmendmentTableView.as_view(), name="amendment-table"),
    path("jobs/", ExportJobListView.as_view(), name="jobs"),
    path("jobs/<uuid:job_id>/", ExportJobDetailView.as_view(), name="job"),
    path("jobs/<uuid:job_id>/download/", ExportJobDownloadView.as_view(), name="job-download"),
]
