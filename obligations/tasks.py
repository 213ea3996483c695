"""Celery tasks of the obligations app: thin interfaces over the audit trail."""

from celery import shared_task

CHECKPOINT_TASK = "obligations.tasks.write_audit_checkpoint"


# Idempotent (an unchanged head is not signed twice) and cheap: one COUNT over the chain. The
# limits keep a stuck database from holding a worker for ever; the next run catches up.
@shared_task(name=CHECKPOINT_TASK, acks_late=True, reject_on_worker_lost=True, soft_time_limit=120, time_limit=180)
def write_audit_checkpoint() -> dict:
    from . import audit

    checkpoint = audit.checkpoint_write(reason="schedule")
    if checkpoint is None:
        return {"checkpoint": None}
    return {"checkpoint": checkpoint.pk, "entry_id": checkpoint.entry_id}


LEDGER_STASH_SWEEP_TASK = "obligations.tasks.remove_expired_ledger_previews"


# Idempotent: removes the 台账 previews and the regulation uploads (obligations.regulation_upload)
# older than a day; run hourly by beat (settings.CELERY_BEAT_SCHEDULE).
@shared_task(name=LEDGER_STASH_SWEEP_TASK, acks_late=True, soft_time_limit=120, time_limit=180)
def remove_expired_ledger_previews() -> dict:
    from . import ledger, regulation_upload

    return {"removed": ledger.ledger_stash_sweep(), "regulation_uploads": regulation_upload.upload_sweep()}


PREPARE_UPLOAD_TASK = "obligations.tasks.prepare_regulation_upload"


# A large regulation file read (and an amendment's preview prepared) off the request. Takes the
# id and re-fetches; only the caller that moves the row from pending runs it, so a duplicated or
# redelivered message is harmless (a row its dead worker left "reading" is taken again later).
@shared_task(name=PREPARE_UPLOAD_TASK, acks_late=True, reject_on_worker_lost=True)
def prepare_regulation_upload(upload_id: str) -> str | None:
    from . import regulation_upload

    upload = regulation_upload.upload_prepare(upload_id)
    return upload.status if upload else None


EVIDENCE_PARTIAL_SWEEP_TASK = "obligations.tasks.remove_stale_evidence_partials"


# Idempotent: removes hidden `.partial-…` evidence files older than a day (left by a process
# killed mid-write); run hourly by beat (settings.CELERY_BEAT_SCHEDULE).
@shared_task(name=EVIDENCE_PARTIAL_SWEEP_TASK, acks_late=True, soft_time_limit=120, time_limit=180)
def remove_stale_evidence_partials() -> dict:
    from core import storage

    return {"removed": storage.partial_sweep()}


AMENDMENTS_TASK = "obligations.tasks.apply_due_amendments"


# Idempotent: each pending amendment is carried over once (its row locked and its state read under
# the lock, obligations.services.amendments.amendment_apply); a second worker running it at the same
# moment finds nothing left to do. Run hourly by beat, so an amendment is in force within the first
# hour of its effective day (Asia/Shanghai), and a beat that was down catches up.
@shared_task(name=AMENDMENTS_TASK, acks_late=True, soft_time_limit=1200, time_limit=1500)
def apply_due_amendments() -> dict:
    from .services import amendments_apply_due

    results, failed = amendments_apply_due()
    return {"applied": [result.amendment.pk for result in results], "failed": failed}
