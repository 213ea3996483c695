"""Drill: the Celery worker process building a report export is killed (SIGKILL) half-way.

A real worker (prefork, one child) on a private Redis builds a CSV export of 20,000 obligations
into a temporary REPORTS_ROOT. When the job has written its first rows the test kills the pool
child. The message was not acknowledged (acks_late), so the worker's parent requeues it
(reject_on_worker_lost) marked redelivered; the task puts the interrupted job back to pending,
removes its partial file, and builds it again. The job ends done, with one complete file whose
digest is the one recorded, and nothing half-written is ever offered for download."""

import csv
import datetime as dt
import hashlib
import io
import os
import signal

import pytest
from django.test import Client

from reports.columns import OBLIGATION_COLUMNS
from reports.models import ExportJob
from tests.factories import make_obligations

from .services import PrivateRedis
from .support import Worker, child_env, database_url, run_django, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROWS = 20_000
QUEUE = "from reports.tasks import run_export_job\nrun_export_job.delay({job_id!r})\nprint('queued')"


@pytest.fixture
def private_redis():
    with PrivateRedis() as redis:
        yield redis


def download(client: Client, job: ExportJob):
    return client.get(f"/api/reports/jobs/{job.id}/download/")


def test_an_export_whose_worker_is_killed_is_redelivered_and_completes_whole(cast, private_redis, tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    exports = tmp_path / "exports"
    settings.REPORTS_ROOT = exports
    make_obligations(cast["alice"].department, [dt.date(2026, 12, 31)] * ROWS)
    job = ExportJob.objects.create(requested_by=cast["lena"], format=ExportJob.Format.CSV, params={}, total_rows=ROWS)
    client = Client()
    client.force_login(cast["lena"])

    env = child_env(database_url=database_url(), redis_url=private_redis.url, REPORTS_ROOT=str(exports))
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        queued = run_django(QUEUE.format(job_id=str(job.id)), env)
        assert queued.returncode == 0, queued.stderr[-3000:]

        def writing():
            job.refresh_from_db()
            return job.status == ExportJob.Status.RUNNING and job.rows_done > 0

        wait_for(writing, 120, "the export to be half-way", worker, interval=0.05)
        [child] = worker.children()
        os.kill(child, signal.SIGKILL)
        killed_at = job.rows_done
        assert [p.name for p in exports.iterdir() if p.name.endswith(".part")], "no partial file at the kill"

        # Whatever the moment, the download never serves a partial file.
        early = download(client, job)
        assert early.status_code in (200, 404)

        def done():
            job.refresh_from_db()
            return job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED)

        wait_for(done, 180, "the redelivered export to finish", worker)
        log = worker.text()
    finally:
        worker.stop()

    assert "WorkerLostError" in log or "signal 9" in log
    assert job.status == ExportJob.Status.DONE, job.error
    assert sorted(p.name for p in exports.iterdir()) == [job.file_name]  # no leftover .part file
    body = (exports / job.file_name).read_bytes()
    assert hashlib.sha256(body).hexdigest() == job.sha256 and len(body) == job.size
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    table = [row for row in rows if len(row) == len(OBLIGATION_COLUMNS)]
    assert len(table) - 1 == ROWS  # the column titles, then every obligation once

    response = download(client, job)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == body
    if early.status_code == 200:  # the rerun was already done: it served the whole file
        assert b"".join(early.streaming_content) == body
    print(f"\nexport drill: killed after {killed_at}/{ROWS} rows; redelivered export complete")
