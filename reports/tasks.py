from celery import shared_task

from . import services


# A province-wide export takes minutes, more than the default limits (settings: broker).
@shared_task(
    name=services.RUN_EXPORT_TASK,
    bind=True,
    soft_time_limit=services.EXPORT_SOFT_TIME_LIMIT,
    time_limit=services.EXPORT_TIME_LIMIT,
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_export_job(self, job_id: str) -> str | None:
    """Build one export job's file. Takes the id and re-fetches; a job already claimed is skipped,
    which makes a duplicated message harmless.

    A message the broker hands out again because the worker running it died (SIGKILL, OOM, a
    lost machine: acks_late + reject_on_worker_lost, or the visibility timeout) is marked
    redelivered: the job it left "running" is put back to pending and its partial file removed,
    so the export starts again instead of staying "生成中" for ever. Without a redelivery (the
    message was lost with the broker) beat's requeue_export_jobs recovers it after its lease."""
    if (self.request.delivery_info or {}).get("redelivered"):
        services.export_job_reset_interrupted(job_id)
    job = services.export_job_run(job_id=job_id)
    return job.status if job else None


REQUEUE_TASK = "reports.tasks.requeue_export_jobs"


# Idempotent; run every 10 minutes by beat (settings.CELERY_BEAT_SCHEDULE): jobs running past
# their lease are put back and queued, pending jobs whose message is missing are queued again.
@shared_task(name=REQUEUE_TASK, acks_late=True, soft_time_limit=120, time_limit=180)
def requeue_export_jobs() -> dict:
    recovered = services.export_jobs_recover()
    return {"recovered": recovered, "queued": services.export_jobs_requeue()}
