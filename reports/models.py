"""Export jobs: a large report is built by a Celery worker; the requester follows its progress."""

import uuid

from django.conf import settings
from django.db import models


class ExportJob(models.Model):
    class Format(models.TextChoices):
        XLSX = "xlsx", "Excel 表格"
        PDF = "pdf", "PDF 文档"
        CSV = "csv", "CSV 表格"
        BUNDLE = "bundle", "佐证材料包（ZIP）"

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "生成中"
        DONE = "done", "已完成"
        FAILED = "failed", "生成失败"

    # A UUID: the download link of someone's report should not be guessable by counting.
    id = models.UUIDField("编号", primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT, related_name="export_jobs"
    )
    format = models.CharField("格式", max_length=16, choices=Format.choices)
    params = models.JSONField("筛选条件", default=dict, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField("义务总数", default=0)
    rows_done = models.PositiveIntegerField("已处理", default=0)
    file_name = models.CharField("文件", max_length=200, blank=True)
    download_name = models.CharField("下载文件名", max_length=200, blank=True)
    size = models.PositiveBigIntegerField("大小（字节）", null=True, blank=True)
    sha256 = models.CharField("文件摘要", max_length=64, blank=True)
    error = models.TextField("错误信息", blank=True)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    # The last time the job was handed to the broker (None: never, its hand-off failed). Beat
    # queues again a job never queued, and a job queued long ago whose message must be lost, but
    # never one that waits its turn in a queue that is backed up (reports.services.export_jobs_requeue).
    queued_at = models.DateTimeField("排队时间", null=True, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "报告导出任务"
        verbose_name_plural = "报告导出任务"
        ordering = ["-created_at"]
        indexes = [
            # The reports page lists the requester's recent jobs.
            models.Index(fields=["requested_by", "-created_at"], name="exportjob_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} · {self.get_status_display()}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.rows_done * 100 // self.total_rows)

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}
