"""Beat's requeue_export_jobs against a real broker (the test Redis DB) and a real worker:
a job waiting in a backed-up queue gets no duplicate message every run, a job whose message is
missing is queued again, and a job left "running" by a dead worker whose message never comes back
is recovered after its lease and built."""

import datetime as dt
import os

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection

from core import clock
from reports import services
from reports.models import ExportJob
from reports.tasks import requeue_export_jobs
from tests.drills.support import Worker, child_env, database_url, wait_for
from tests.factories import make_obligations

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker():
    """The test Redis DB, emptied; yields a function counting the messages in the default queue."""
    url = os.environ.get("REDIS_URL") or django_settings.REDIS_URL
    if not url:
        pytest.skip("REDIS_URL is not set")
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    yield lambda: client.llen(django_settings.CELERY_TASK_DEFAULT_QUEUE)
    client.flushdb()


def pending_job(user, **fields) -> ExportJob:
    return ExportJob.objects.create(requested_by=user, format=ExportJob.Format.CSV, total_rows=3, **fields)


def test_a_job_waiting_in_a_backed_up_queue_is_not_queued_again_every_run(cast, broker):
    job = pending_job(cast["audrey"])
    assert services.export_job_queue(job.id) and broker() == 1
    job.refresh_from_db()
    queued_at = job.queued_at
    assert queued_at is not None

    later = clock.real_now()
    for minutes in (11, 21, 31, 59):  # beat's runs while no worker takes the queue
        with time_machine.travel(later + dt.timedelta(minutes=minutes)):
            assert services.export_jobs_requeue() == 0
    assert broker() == 1

    # An hour after it was queued and still pending, its message is taken for lost: once more.
    with time_machine.travel(queued_at + services.REQUEUE_QUEUED_AFTER + dt.timedelta(minutes=1)):
        assert services.export_jobs_requeue() == 1
        assert services.export_jobs_requeue() == 0
    assert broker() == 2
    job.refresh_from_db()
    assert job.queued_at > queued_at


def test_a_job_never_handed_over_is_queued_by_the_next_run_after_the_window(cast, broker, monkeypatch):
    monkeypatch.setattr(services, "hand_off", lambda *args, **kwargs: False)  # the broker is down
    job = pending_job(cast["audrey"])
    assert not services.export_job_queue(job.id)
    job.refresh_from_db()
    assert job.queued_at is None and broker() == 0
    monkeypatch.undo()

    assert services.export_jobs_requeue() == 0  # its own hand-off may still be under way
    with time_machine.travel(job.created_at + services.REQUEUE_AFTER + dt.timedelta(seconds=30)):
        assert services.export_jobs_requeue() == 1
    job.refresh_from_db()
    assert job.queued_at is not None and broker() == 1


def test_a_job_left_running_by_a_dead_worker_is_recovered_after_its_lease_and_built(cast, broker, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker test needs PostgreSQL")
    exports = tmp_path / "exports"
    exports.mkdir()
    settings.REPORTS_ROOT = exports
    make_obligations(cast["alice"].department, [dt.date(2026, 12, 31)] * 3)
    now = clock.now()
    # Its worker was SIGKILLed and the broker lost the message: nothing will hand it back.
    dead = pending_job(
        cast["audrey"],
        status=ExportJob.Status.RUNNING,
        started_at=now - services.EXPORT_LEASE - dt.timedelta(minutes=1),
        queued_at=now - services.EXPORT_LEASE - dt.timedelta(minutes=2),
        rows_done=2,
    )
    partial = exports / f".{dead.id}.abc.part"
    partial.write_bytes(b"half a report")
    # Running within its lease: a live worker may be building it.
    alive = pending_job(cast["audrey"], status=ExportJob.Status.RUNNING, started_at=now - dt.timedelta(minutes=20))

    env = child_env(database_url=database_url(), redis_url=os.environ.get("REDIS_URL") or settings.REDIS_URL)
    env["REPORTS_ROOT"] = str(exports)
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        assert requeue_export_jobs() == {"recovered": 1, "queued": 0}
        assert not partial.exists()

        def built():
            dead.refresh_from_db()
            return dead.finished

        wait_for(built, 120, "the recovered export to be built", worker)
        assert requeue_export_jobs() == {"recovered": 0, "queued": 0}
    finally:
        worker.stop()
    assert dead.status == ExportJob.Status.DONE, dead.error
    assert (exports / dead.file_name).stat().st_size == dead.size
    alive.refresh_from_db()
    assert alive.status == ExportJob.Status.RUNNING
