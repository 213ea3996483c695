"""Writes of the reports app: who may export what, the export itself (recorded in the audit
trail), and the export jobs that build large reports outside the request."""

import datetime as dt
import logging
import os
import tempfile
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from accounts.models import Department
from core import clock
from core.clock import today
from core.handoff import hand_off
from obligations import audit
from obligations.audit import AuditAction
from obligations.models import AuditCheckpoint
from regulations.models import Regulation, RegulationVersion

from . import amendments, asof, bundle, docx, pdf, xlsx
from . import csv as csv_report
from .models import ExportJob

# Queued by name after the commit: reports.tasks imports this module, not the other way round.
RUN_EXPORT_TASK = "reports.tasks.run_export_job"

logger = logging.getLogger(__name__)
# The export task's limits (reports.tasks): a province-wide export takes minutes.
EXPORT_SOFT_TIME_LIMIT = 1800
EXPORT_TIME_LIMIT = 1860
# A job "running" longer than the hard limit has no live worker (past it the worker kills the
# task): beat puts it back to pending and queues it, whether or not the broker hands its message
# back (acks_late does, after the visibility timeout; a lost message never).
EXPORT_LEASE = dt.timedelta(seconds=EXPORT_TIME_LIMIT + 60)
# A job never handed to the broker (its hand-off failed) is queued by beat this long after it was
# asked for: by then the request's own hand-off is long over.
REQUEUE_AFTER = dt.timedelta(minutes=10)
# A job handed over waits in the queue, however long it is backed up: only a job still pending
# this long after it was queued has lost its message (a broker restarted empty), and is queued
# again. The broker's visibility timeout (an hour) is the same bound for a message taken.
REQUEUE_QUEUED_AFTER = dt.timedelta(hours=1)

# format -> (writer, content type, file extension)
FORMATS = {
    ExportJob.Format.XLSX: (xlsx.write, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ExportJob.Format.PDF: (pdf.write, "application/pdf", "pdf"),
    ExportJob.Format.CSV: (csv_report.write, "text/csv; charset=utf-8", "csv"),
    ExportJob.Format.BUNDLE: (bundle.write, "application/zip", "zip"),
}
# A PDF of more than REPORT_PDF_MAX_ROWS obligations: a ZIP of one PDF per responsible body.
PDF_BY_BODY = (pdf.write_by_body, "application/zip", "zip")


class ReportError(Exception):
    """A refusal to show a person: machine code, Chinese message, HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, details: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.details = code, message, status, details or {}

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


def report_scope(*, user, filters: asof.ReportFilters) -> asof.ReportFilters:
    """Auditors, the lead and admins export anything; staff only their own body's obligations."""
    if user is None:  # the management command, run by an operator on the server
        return filters
    if not user.is_authenticated:
        raise ReportError("not_authenticated", "请先登录。", 401)
    if user.sees_everything:
        return filters
    if user.department_id is None:
        raise ReportError("permission_denied", "您的账号未归属任何机构，不能导出报告。", 403)
    if filters.department and not user.visible_bodies().filter(code=filters.department).exists():
        raise ReportError("permission_denied", "经办人只能导出本单位的义务。", 403, {"department": filters.department})
    return filters.with_department(user.department.code)


def report_context(*, user, filters: asof.ReportFilters, regulation: Regulation | None = None) -> asof.ReportContext:
    filters = report_scope(user=user, filters=filters)
    if filters.as_of and filters.as_of > today():
        raise ReportError("invalid_as_of", "截至日期不能晚于今天。", 400, {"as_of": filters.as_of.isoformat()})
    if filters.due_from and filters.due_to and filters.due_from > filters.due_to:
        raise ReportError("invalid_date_range", "期限起始日期不能晚于结束日期。", 400)
    if regulation is None and filters.regulation:
        regulation = Regulation.objects.filter(code=filters.regulation).first()
        if regulation is None:
            raise ReportError("unknown_regulation", "没有该法规。", 400, {"regulation": filters.regulation})
    regulation = regulation or Regulation.objects.order_by("id").first()
    if regulation is None:
        raise ReportError("no_regulation", "尚未导入法规，无可导出的内容。", 404)
    if user is None:
        generated_by = "系统管理命令"
    else:
        dept = user.department.name if user.department_id else "未归属机构"
        generated_by = f"{user.display_name}（{dept}，{user.get_role_display()}）"
    return asof.ReportContext(
        regulation=regulation,
        filters=filters,
        generated_by=generated_by,
        generated_at=clock.now(),
        head=audit.chain_head_info(),
        departments={d.code: d for d in Department.objects.all()},
        restrict_to_user=user if user is not None and not user.sees_everything else None,
    )


def report_record_export(*, ctx: asof.ReportContext, fmt: str, user, job: ExportJob | None = None) -> None:
    """Every export is itself in the audit trail, with the chain head the report states."""
    audit.record(
        AuditAction.REPORT_EXPORTED,
        actor=user,
        after={
            "format": fmt,
            "regulation": ctx.regulation.code,
            "filters": ctx.filters.to_params(),
            "as_of": ctx.on.isoformat(),
            "historical": ctx.historical,
            "chain_head": ctx.head.hash,
            "chain_head_id": ctx.head.entry_id,
            "job": str(job.id) if job else None,
        },
    )
    # Sign the head that now includes this export: a later rewrite or cut of what the report
    # stated is caught even without the report at hand.
    audit.checkpoint_write(reason=AuditCheckpoint.Reason.REPORT)


def report_format(*, fmt: str, total: int | None = None) -> tuple:
    """(writer, content type, extension) for a format and the selection's size."""
    if fmt == ExportJob.Format.PDF and total is not None and total > settings.REPORT_PDF_MAX_ROWS:
        return PDF_BY_BODY
    return FORMATS[fmt]


def report_write(*, ctx: asof.ReportContext, fmt: str, out, progress=None, total: int | None = None):
    writer = report_format(fmt=fmt, total=total)[0]
    return writer(ctx, out, progress)


def report_download_name(*, ctx: asof.ReportContext, fmt: str, total: int | None = None) -> str:
    ext = report_format(fmt=fmt, total=total)[2]
    if fmt == ExportJob.Format.BUNDLE:
        stem = "佐证材料包"
    elif ext != FORMATS[fmt][2]:
        stem = "义务履行情况报告_分单位PDF"
    else:
        stem = "义务履行情况报告"
    scope = f"_{ctx.filters.department}" if ctx.filters.department else ""
    return f"{stem}{scope}_{ctx.on:%Y%m%d}.{ext}"


def export_job_content_type(job: ExportJob) -> str:
    """What the job's file is, decided as when it was written (a large PDF job's file is a ZIP)."""
    return report_format(fmt=job.format, total=job.total_rows)[1]


def report_is_large(*, ctx: asof.ReportContext) -> tuple[bool, int]:
    total = asof.count(ctx)
    return total > settings.REPORT_SYNC_MAX_ROWS, total


def export_job_create(*, user, fmt: str, filters: asof.ReportFilters, total: int) -> ExportJob:
    with transaction.atomic():
        job = ExportJob.objects.create(requested_by=user, format=fmt, params=filters.to_params(), total_rows=total)
        # Queued after commit: the worker must find the row.
        transaction.on_commit(partial(export_job_queue, job.id))
    return job


def export_job_queue(job_id) -> bool:
    """Hand the job to a worker, bounded (core.handoff), and stamp `queued_at`. Never raises: the
    job is committed as pending, the page says it is queued, and `export_jobs_requeue` (beat)
    queues it when the broker is back."""
    queued = hand_off(RUN_EXPORT_TASK, args=[str(job_id)], waiting=f"export job {job_id} waits for requeue_export_jobs")
    if queued:
        ExportJob.objects.filter(id=job_id).update(queued_at=clock.real_now())
    return queued


def export_jobs_requeue() -> int:
    """Queue again the pending jobs whose message is missing: never queued and asked for over
    REQUEUE_AFTER ago, or queued over REQUEUE_QUEUED_AFTER ago. A job queued within that window
    waits its turn, so a backed-up queue gets no duplicate every run (a duplicate is harmless
    anyway: only the worker that moves a job from pending runs it). Returns how many were handed
    over. created_at and queued_at are the wall clock, so the cut-offs are too."""
    now = clock.real_now()
    missing = Q(queued_at=None, created_at__lt=now - REQUEUE_AFTER) | Q(queued_at__lt=now - REQUEUE_QUEUED_AFTER)
    waiting = ExportJob.objects.filter(missing, status=ExportJob.Status.PENDING)
    return sum(export_job_queue(job_id) for job_id in waiting.values_list("id", flat=True)[:1000])


def export_job_reset_interrupted(job_id) -> bool:
    """Put a job left "running" by a dead worker back to pending (never queued, so that beat
    queues it) and remove its partial file. False if it was not running."""
    reset = ExportJob.objects.filter(id=job_id, status=ExportJob.Status.RUNNING).update(
        status=ExportJob.Status.PENDING, rows_done=0, started_at=None, queued_at=None
    )
    if reset:
        for part in reports_root().glob(f".{job_id}.*.part"):
            part.unlink(missing_ok=True)
    return bool(reset)


def export_jobs_recover() -> int:
    """Beat: every job running past its lease (started over EXPORT_LEASE ago) is reset and queued
    again. Returns how many were recovered."""
    expired = ExportJob.objects.filter(status=ExportJob.Status.RUNNING, started_at__lt=clock.now() - EXPORT_LEASE)
    recovered = 0
    for job_id in expired.values_list("id", flat=True)[:1000]:
        if export_job_reset_interrupted(job_id):
            logger.warning("export job %s was running past its lease: its worker died; queued again", job_id)
            export_job_queue(job_id)
            recovered += 1
    return recovered


def reports_root() -> Path:
    root = Path(settings.REPORTS_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def export_job_run(*, job_id) -> ExportJob | None:
    """Build a job's file. Claimed without a lock: only the worker that moves it from pending runs it."""
    now = clock.now()
    # A job left "running" by a worker that died (the message is redelivered: acks_late) is
    # taken again once it is past its lease, older than any real run.
    claimable = Q(status=ExportJob.Status.PENDING) | Q(
        status=ExportJob.Status.RUNNING, started_at__lt=now - EXPORT_LEASE
    )
    claimed = ExportJob.objects.filter(claimable, id=job_id).update(status=ExportJob.Status.RUNNING, started_at=now)
    if not claimed:
        return None  # gone, or another worker got there first
    job = ExportJob.objects.select_related("requested_by__department").get(id=job_id)
    root = reports_root()
    ext = report_format(fmt=job.format, total=job.total_rows)[2]
    final = root / f"{job.id}.{ext}"
    # Written under a dot-name in the same directory, then renamed: a reader sees the whole file or none.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{job.id}.", suffix=".part", dir=root)
    try:
        ctx = report_context(user=job.requested_by, filters=asof.ReportFilters.from_params(job.params))
        report_record_export(ctx=ctx, fmt=job.format, user=job.requested_by, job=job)

        def progress(done: int) -> None:
            ExportJob.objects.filter(id=job.id).update(rows_done=done)

        with os.fdopen(fd, "wb") as out:
            report_write(ctx=ctx, fmt=job.format, out=out, progress=progress, total=job.total_rows)
            out.flush()
            os.fsync(out.fileno())
        hasher = audit.new_hasher("sha256")
        with open(tmp_name, "rb") as fh:
            while chunk := fh.read(1024 * 1024):
                hasher.update(chunk)
        os.replace(tmp_name, final)
    except Exception as exc:
        Path(tmp_name).unlink(missing_ok=True)
        message = exc.message if isinstance(exc, ReportError) else "生成报告时发生错误，请联系系统管理员。"
        logger.exception("export job %s failed", job.id)
        ExportJob.objects.filter(id=job.id).update(
            status=ExportJob.Status.FAILED, error=message, finished_at=clock.now()
        )
        job.refresh_from_db()
        return job
    ExportJob.objects.filter(id=job.id).update(
        status=ExportJob.Status.DONE,
        file_name=final.name,
        download_name=report_download_name(ctx=ctx, fmt=job.format, total=job.total_rows),
        size=final.stat().st_size,
        sha256=hasher.hexdigest(),
        rows_done=job.total_rows,
        finished_at=clock.now(),
    )
    job.refresh_from_db()
    return job


def export_job_path(job: ExportJob) -> Path | None:
    if job.status != ExportJob.Status.DONE or not job.file_name:
        return None
    path = Path(settings.REPORTS_ROOT) / job.file_name
    return path if path.is_file() else None


# --- The implementation report (实施情况报告): the lead's Word document ------------------------

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def implementation_report_context(*, user, as_of: dt.date | None = None, regulation: str = "") -> asof.ReportContext:
    """The whole regulation as of a day; for those who see everything (the lead reports it,
    auditors and admins may read it). `user` None is the operator's command."""
    if user is not None and user.is_authenticated and not user.sees_everything:
        raise ReportError("permission_denied", "实施情况报告由牵头部门导出，经办人不能导出。", 403)
    return report_context(user=user, filters=asof.ReportFilters(as_of=as_of, regulation=regulation))


def implementation_report_write(*, ctx: asof.ReportContext, user, out) -> docx.ReportData:
    """Write the Word report and record the export in the audit trail."""
    report_record_export(ctx=ctx, fmt="docx", user=user)
    return docx.write(ctx, out)


def implementation_report_name(*, ctx: asof.ReportContext) -> str:
    return f"{ctx.regulation.title}实施情况报告_{ctx.on:%Y%m%d}.docx"


# --- 修订对照表 (reports.amendments) ----------------------------------------------------------------

AMENDMENT_FORMATS = {
    ExportJob.Format.XLSX: (amendments.write_xlsx, FORMATS[ExportJob.Format.XLSX][1], "xlsx"),
    ExportJob.Format.PDF: (amendments.write_pdf, FORMATS[ExportJob.Format.PDF][1], "pdf"),
}


def amended_versions() -> list[RegulationVersion]:
    """Every version after the first of every regulation: each has a 修订对照表 (newest first)."""
    return list(
        RegulationVersion.objects.filter(number__gte=2)
        .select_related("regulation")
        .order_by("regulation_id", "-number")
    )


def amendment_table_allowed(user) -> None:
    """The 修订对照表 is for the lead, auditors and admins only, as the implementation report."""
    if user is not None and user.is_authenticated and not user.sees_everything:
        raise ReportError("permission_denied", "修订对照表由牵头部门或审计人员导出，经办人不能导出。", 403)


def amendment_table_version(*, user, regulation: str, number: int | None = None) -> RegulationVersion:
    """The version whose 修订对照表 `user` asks for (the latest when `number` is None)."""
    amendment_table_allowed(user)
    reg = Regulation.objects.filter(code=regulation).first()
    if reg is None:
        raise ReportError("not_found", f"未找到法规：{regulation}", 404)
    versions = reg.versions.order_by("-number")
    chosen = versions.filter(number=number).first() if number else versions.first()
    if chosen is None or chosen.number < 2:
        if versions.filter(number__gte=2).exists():
            raise ReportError("no_such_version", f"《{reg.title}》没有第{number}版修订，请选择现有的修订版本。")
        raise ReportError("not_amended", f"《{reg.title}》尚未修订，没有修订对照表。")
    return chosen


def amendment_table_write(*, version: RegulationVersion, fmt: str, user, out) -> int:
    """Write the 修订对照表 and record the export in the audit trail, as every report."""
    if fmt not in AMENDMENT_FORMATS:
        raise ReportError("invalid_format", "修订对照表可导出为 Excel（xlsx）或 PDF。")
    count = AMENDMENT_FORMATS[fmt][0](version, out)
    audit.record(
        AuditAction.REPORT_EXPORTED,
        actor=user,
        after={
            "format": fmt,
            "report": "amendment_table",
            "regulation": version.regulation.code,
            "version": version.number,
            "rows": count,
        },
    )
    audit.checkpoint_write(reason=AuditCheckpoint.Reason.REPORT)
    return count


def amendment_table_name(*, version: RegulationVersion, fmt: str) -> str:
    return f"{version.regulation.title}修订对照表_第{version.number}版.{AMENDMENT_FORMATS[fmt][2]}"


def amendment_table_content_type(fmt: str) -> str:
    return AMENDMENT_FORMATS[fmt][1]
