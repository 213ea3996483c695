"""Drill: a large export is asked for while the broker cannot be reached.

The request runs in a separate process (as the web server is) whose Celery broker is a closed
port. The job is committed; handing it to the broker fails once, bounded (core.handoff), and
is logged, not raised: the requester is sent to the job's page, which says it is queued. When
the broker is back, beat's `requeue_export_jobs` queues it again and a real worker builds it."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from reports import services
from reports.models import ExportJob
from reports.tasks import REQUEUE_TASK
from tests.factories import make_obligations

from .services import free_port
from .support import Worker, child_env, database_url, run_django, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Far above the bounded hand-off (a refused connection fails at once; a frozen one in about
# 2 s); far below what Celery's default publish retries would cost before failing.
REQUEST_BOUND = 30

REQUEST = """
import time
from django.test import Client
from django.urls import reverse
from accounts.models import User
client = Client()
client.force_login(User.objects.get(username="audrey"))
started = time.monotonic()
response = client.post(reverse("reports:export"), {"format": "csv"})
print(response.status_code, response.get("Location", ""), round(time.monotonic() - started, 3))
"""

REQUEUE = "from reports.tasks import requeue_export_jobs\nprint('queued', requeue_export_jobs())"


def test_an_export_asked_for_with_the_broker_down_answers_and_is_built_when_it_is_back(cast, tmp_path, settings):
    import os

    from tracker.celery import app

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    exports = tmp_path / "exports"
    settings.REPORTS_ROOT = exports
    make_obligations(cast["alice"].department, [dt.date(2026, 12, 31)] * 3)
    extra = {"REPORTS_ROOT": str(exports), "REPORT_SYNC_MAX_ROWS": "1", "ALLOWED_HOSTS": "testserver"}

    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    down = child_env(database_url=database_url(), redis_url=closed, **extra)
    asked = run_django(REQUEST, down)
    assert asked.returncode == 0, asked.stderr[-3000:]
    status, location, seconds = asked.stdout.split()
    job = ExportJob.objects.get()
    assert status == "302" and location == reverse("reports:job", args=[job.id])
    assert float(seconds) < REQUEST_BOUND
    assert f"export job {job.id} waits for requeue_export_jobs" in asked.stderr  # logged, not raised
    assert job.status == ExportJob.Status.PENDING and job.total_rows == 3

    client = Client()
    client.force_login(cast["audrey"])
    assert "排队中" in client.get(reverse("reports:job-status", args=[job.id])).content.decode()

    # Beat leaves a job alone while it may still be on its way through a moving queue.
    assert services.export_jobs_requeue() == 0
    assert any(entry["task"] == REQUEUE_TASK for entry in app.conf.beat_schedule.values())

    # The broker is back (the machine's Redis): beat's run, once the job is old enough.
    ExportJob.objects.filter(id=job.id).update(created_at=job.created_at - services.REQUEUE_AFTER)
    up = child_env(database_url=database_url(), redis_url=os.environ["REDIS_URL"], **extra)
    worker = Worker(up, tmp_path / "worker.log").start()
    try:
        requeued = run_django(REQUEUE, up)
        assert requeued.returncode == 0, requeued.stderr[-3000:]
        assert requeued.stdout.split() == ["queued", "{'recovered':", "0,", "'queued':", "1}"]

        def done():
            job.refresh_from_db()
            return job.finished

        wait_for(done, 120, "the export to be built", worker)
    finally:
        worker.stop()
    assert job.status == ExportJob.Status.DONE, job.error
    assert (exports / job.file_name).stat().st_size == job.size
