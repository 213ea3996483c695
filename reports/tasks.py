from celery import shared_task

from . import services


@shared_task(acks_late=True)
def run_export_job(job_id: str) -> str | None:
    """Build one export job's file. Takes the id and re-fetches; a job already claimed is skipped,
    which makes a redelivered message harmless."""
    job = services.export_job_run(job_id=job_id)
    return job.status if job else None
