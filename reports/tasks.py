from pathlib import Path

from celery import shared_task

from . import services
from .models import ExportJob


# A province-wide export takes minutes, more than the default limits (settings: broker).
@shared_task(
    name=services.RUN_EXPORT_TASK,
    bind=True,
    soft_time_limit=1800,
    time_limit=1860,
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_export_job(self, job_id: str) -> str | None:
    """Build one export job's file. Takes the id and re-fetches; a job already claimed is skipped,
    which makes a duplicated message harmless.

    A message the broker hands out again because the worker running it died (SIGKILL, OOM, a
    lost machine: acks_late + reject_on_worker_lost, or the visibility timeout) is marked
    redelivered: the job it left "running" is put back to pending and its partial file removed,
    so the export starts again instead of staying "生成中" for ever."""
    if (self.request.delivery_info or {}).get("redelivered"):
        export_job_reset_interrupted(job_id)
    job = services.export_job_run(job_id=job_id)
    return job.status if job else None


REQUEUE_TASK = "reports.tasks.requeue_export_jobs"


# Idempotent: queues again jobs still pending after services.REQUEUE_AFTER (their hand-off failed
# while the broker was down); run every 10 minutes by beat (settings.CELERY_BEAT_SCHEDULE).
@shared_task(name=REQUEUE_TASK, acks_late=True, soft_time_limit=120, time_limit=180)
def requeue_export_jobs() -> dict:
    return {"queued": services.export_jobs_requeue()}


def export_job_reset_interrupted(job_id: str) -> bool:
    reset = ExportJob.objects.filter(id=job_id, status=ExportJob.Status.RUNNING).update(
        status=ExportJob.Status.PENDING, rows_done=0, started_at=None
    )
    if reset:
        for part in Path(services.reports_root()).glob(f".{job_id}.*.part"):
            part.unlink(missing_ok=True)
    return bool(reset)
