"""The reports page: filters and formats; small reports download at once, large ones become jobs."""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from . import csv as csv_report
from . import services
from .forms import AmendmentTableForm, ImplementationReportForm, ReportForm
from .models import ExportJob


@login_required
@require_GET
def index(request):
    form = ReportForm(user=request.user, initial={"format": ExportJob.Format.XLSX})
    jobs = ExportJob.objects.filter(requested_by=request.user)[:10]
    return render(request, "reports/index.html", _page(form, jobs))


def _page(form, jobs) -> dict:
    versions = services.amended_versions()
    return {
        "form": form,
        "jobs": jobs,
        "docx_form": ImplementationReportForm(),
        "amendment_form": AmendmentTableForm(versions=versions) if versions else None,
    }


def export_response(*, user, fmt: str, filters):
    """The one path from a request to a report, shared by the page and the API.

    Returns (response, None) for a report built now, (None, job) for one queued as a job.
    Raises services.ReportError when refused.
    """
    ctx = services.report_context(user=user, filters=filters)
    large, total = services.report_is_large(ctx=ctx)
    if large:
        return None, services.export_job_create(user=user, fmt=fmt, filters=ctx.filters, total=total)
    services.report_record_export(ctx=ctx, fmt=fmt, user=user)
    name = services.report_download_name(ctx=ctx, fmt=fmt, total=total)
    content_type = services.report_format(fmt=fmt, total=total)[1]
    if fmt == ExportJob.Format.CSV:
        response = StreamingHttpResponse(csv_report.stream(ctx), content_type=content_type)
        response["Content-Disposition"] = content_disposition_header(True, name)
        return response, None
    out = tempfile.TemporaryFile()
    services.report_write(ctx=ctx, fmt=fmt, out=out, total=total)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=name, content_type=content_type), None


@login_required
@require_POST
def export(request):
    form = ReportForm(request.POST, user=request.user)
    if not form.is_valid():
        jobs = ExportJob.objects.filter(requested_by=request.user)[:10]
        return render(request, "reports/index.html", _page(form, jobs), status=400)
    try:
        response, job = export_response(user=request.user, fmt=form.cleaned_data["format"], filters=form.filters())
    except services.ReportError as err:
        if err.status == 404:
            raise Http404(err.message) from err
        form.add_error(None, err.message)
        jobs = ExportJob.objects.filter(requested_by=request.user)[:10]
        return render(request, "reports/index.html", _page(form, jobs), status=err.status)
    if job is not None:
        messages.info(request, f"所选范围共 {job.total_rows} 项义务，报告将在后台生成，完成后可在此页下载。")
        return redirect("reports:job", job_id=job.id)
    return response


def _own_job(request, job_id) -> ExportJob:
    # A job is its requester's: anyone else gets a 404, as if it did not exist.
    return get_object_or_404(ExportJob, id=job_id, requested_by=request.user)


@login_required
@require_GET
def job_detail(request, job_id):
    return render(request, "reports/job.html", {"job": _own_job(request, job_id)})


@login_required
@require_GET
def job_status(request, job_id):
    return render(request, "reports/_job_status.html", {"job": _own_job(request, job_id)})


@login_required
@require_GET
def job_download(request, job_id):
    job = _own_job(request, job_id)
    path = services.export_job_path(job)
    if path is None:
        raise Http404("报告尚未生成或已被清理。")
    return FileResponse(
        open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename=job.download_name,
        content_type=services.export_job_content_type(job),
    )


@login_required
@require_POST
def implementation_report(request):
    """《条例》实施情况报告 (Word): the lead's button; the same path as the command."""
    form = ImplementationReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
        return redirect("reports:index")
    try:
        ctx = services.implementation_report_context(
            user=request.user, as_of=form.cleaned_data["as_of"], regulation=form.cleaned_data.get("regulation") or ""
        )
    except services.ReportError as err:
        if err.status in (403, 404):
            raise Http404(err.message) from err
        messages.error(request, err.message)
        return redirect("reports:index")
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    services.implementation_report_write(ctx=ctx, user=request.user, out=out)
    out.seek(0)
    name = services.implementation_report_name(ctx=ctx)
    return FileResponse(out, as_attachment=True, filename=name, content_type=services.DOCX_TYPE)


@login_required
@require_POST
def amendment_table(request):
    """修订对照表 (XLSX or PDF) of one amended version: the lead's and auditors' button; the
    same writer as the command."""
    if not request.user.sees_everything:
        raise PermissionDenied("修订对照表由牵头部门或审计人员导出，经办人不能导出。")
    form = AmendmentTableForm(request.POST, versions=services.amended_versions())
    if not form.is_valid():
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
        return redirect("reports:index")
    code, number = form.regulation_and_number()
    fmt = form.cleaned_data["format"]
    try:
        version = services.amendment_table_version(user=request.user, regulation=code, number=number)
    except services.ReportError as err:
        messages.error(request, err.message)
        return redirect("reports:index")
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    services.amendment_table_write(version=version, fmt=fmt, user=request.user, out=out)
    out.seek(0)
    name = services.amendment_table_name(version=version, fmt=fmt)
    return FileResponse(out, as_attachment=True, filename=name, content_type=services.amendment_table_content_type(fmt))
