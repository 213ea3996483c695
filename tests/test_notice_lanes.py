"""A decision's notice is not held back by a backlog: the workers of `make run` (the `celery …
worker` lines of scripts/run.sh, started as they are written there) on the test Redis DB and the
test database. A thousand undelivered events wait with a delivery task each in the default
queue (an outage's catch-up); a lead's decision made then reaches the staff member while most of
them still wait, and the backlog is still delivered, each event once. Ordering, not time: the
figures are bench/notice_bench.py's."""

import signal
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.notice_bench import make_run_workers
from notifications.models import Notification
from obligations import services
from obligations.models import OutboxMessage
from tests.drills.support import child_env, database_url, wait_for
from tests.factories import make_obligations
from tests.test_celery_worker import redis_url  # noqa: F401 (fixture)
from tracker.celery import app

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BACKLOG = 1000
BASE_DIR = Path(settings.BASE_DIR)


class RunWorkers:
    """The worker processes of scripts/run.sh, each with its log in a file."""

    def __init__(self, env: dict, tmp_path: Path):
        self.env, self.tmp_path, self.processes, self.logs = env, tmp_path, [], []

    def start(self) -> "RunWorkers":
        for number, command in enumerate(make_run_workers()):
            log = self.tmp_path / f"worker-{number}.log"
            out = log.open("ab")
            self.processes.append(subprocess.Popen(command, cwd=BASE_DIR, env=self.env, stdout=out, stderr=out))
            self.logs.append(log)
        ready = lambda: all("ready." in log.read_text(errors="replace") for log in self.logs)  # noqa: E731
        wait_for(ready, 120, "the workers", self)
        return self

    def text(self) -> str:
        return "\n".join(log.read_text(errors="replace")[-3000:] for log in self.logs if log.exists())

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def test_run_sh_starts_a_worker_for_each_queue_and_the_notices_one_serves_nothing_else():
    queues = []
    for command in make_run_workers():
        assert "-Q" in command, command
        queues.append(command[command.index("-Q") + 1])
    assert sorted(queues) == sorted([settings.NOTICE_QUEUE, settings.CELERY_TASK_DEFAULT_QUEUE])


def test_a_decision_reaches_the_staff_while_a_thousand_undelivered_events_are_still_being_delivered(
    cast,
    redis_url,  # noqa: F811 (the imported fixture)
    tmp_path,
):
    if connection.vendor != "postgresql":
        pytest.skip("the worker test needs PostgreSQL")
    body = cast["alice"].department
    backlog_obligation, decided = make_obligations(body, [timezone.localdate()] * 2)
    services.obligation_set_due_date(
        obligation=backlog_obligation, actor=cast["lena"], due_date=backlog_obligation.due_date.replace(year=2030),
        reason="积压", expected_version=backlog_obligation.version,
    )  # fmt: skip
    model = OutboxMessage.objects.get(obligation=backlog_obligation)
    OutboxMessage.objects.filter(pk=model.pk).update(delivered_at=timezone.now())

    env = child_env(
        database_url=database_url(), redis_url=redis_url, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
    )
    workers = RunWorkers(env, tmp_path).start()
    try:
        backlog = OutboxMessage.objects.bulk_create(
            OutboxMessage(event=model.event, obligation=backlog_obligation, actor=model.actor, payload=model.payload)
            for _ in range(BACKLOG)
        )
        ids = [m.id for m in backlog]
        with app.connection_for_write() as conn:
            for message_id in ids:
                app.send_task(
                    "notifications.tasks.deliver_outbox_message",
                    args=[message_id],
                    connection=conn,
                    queue=settings.CELERY_TASK_DEFAULT_QUEUE,
                )
        waiting = OutboxMessage.objects.filter(id__in=ids, delivered_at=None)

        services.obligation_set_due_date(
            obligation=decided, actor=cast["lena"], due_date=decided.due_date.replace(year=2031),
            reason="新的决定", expected_version=decided.version,
        )  # fmt: skip
        notice = Notification.objects.filter(recipient=cast["alice"], obligation=decided)
        wait_for(notice.exists, 120, "the decision's notice", workers)
        still_waiting = waiting.count()
        assert still_waiting > BACKLOG // 2, f"only {still_waiting} of {BACKLOG} backlog events waited"

        wait_for(lambda: not waiting.exists(), 900, "the backlog to be delivered", workers, interval=1)
    finally:
        workers.stop()
    told = Notification.objects.filter(obligation=backlog_obligation, recipient=cast["alice"])
    assert told.count() == BACKLOG
    assert notice.count() == 1
