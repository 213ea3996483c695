"""Drill: stopping the Celery worker the way docs/deployment.md's unit does, while a task runs.

The unit says KillMode=mixed: systemd sends SIGTERM to the worker's main process only (not to its
pool processes), waits TimeoutStopSec, then SIGKILLs what is left. A real worker (prefork, one
child) runs the reminder sweep with a slow email backend; when some emails are out the test sends
SIGTERM to the main process only. Celery's warm shutdown lets the sweep finish: every reminder
sent once, the worker exits 0 by itself. The unit's TimeoutStopSec must exceed the longest task's
hard time limit, read from the tasks themselves."""

import re
import signal
from pathlib import Path

import pytest

from notifications.models import Reminder

from .services import PrivateRedis
from .support import BASE_DIR, Worker, read_mail, run_django, slow_mail_sweep_world, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

NOW = "2025-06-13T09:00:00+08:00"
STAFF = 6
OBLIGATIONS = 10
SWEEP = f"from notifications.tasks import send_reminders\nsend_reminders.delay(now={NOW!r})\nprint('queued')"


def unit(name: str) -> dict[str, str]:
    """The [Service] settings of one systemd unit in docs/deployment.md."""
    text = (Path(BASE_DIR) / "docs" / "deployment.md").read_text(encoding="utf-8")
    block = re.search(rf"# /etc/systemd/system/{name}\.service.*?```", text, re.S)[0]
    return dict(re.findall(r"^(\w+)=(.*)$", block, re.M))


def test_the_documented_units_stop_the_main_process_and_wait_past_the_longest_task():
    from tracker.celery import app

    app.loader.import_default_modules()  # every app's tasks, as the worker finds them
    worker = unit("tracker-worker")
    assert worker["KillMode"] == "mixed"
    longest = max(
        task.time_limit or app.conf.task_time_limit or 0
        for name, task in app.tasks.items()
        if not name.startswith("celery.")
    )
    assert int(worker["TimeoutStopSec"]) > longest
    # The notices worker runs only what is routed to its queue: its stop waits past those tasks.
    notices = unit("tracker-notices")
    routed = [app.tasks[name] for name, route in app.conf.task_routes.items() if route["queue"] == "notices"]
    assert routed and "-Q notices" in notices["ExecStart"] and notices["KillMode"] == "mixed"
    assert int(notices["TimeoutStopSec"]) > max(task.time_limit or app.conf.task_time_limit for task in routed)
    assert "-Q celery" in worker["ExecStart"]
    for name in ("tracker-web", "tracker-beat"):
        assert unit(name)["KillMode"] == "mixed" and int(unit(name)["TimeoutStopSec"]) > 0


@pytest.fixture
def private_redis():
    with PrivateRedis() as redis:
        yield redis


def test_sigterm_to_the_main_process_lets_the_running_sweep_finish(departments, private_redis, tmp_path):
    env, mail_dir, expected = slow_mail_sweep_world(
        departments["JN-DSJ"],
        staff=STAFF,
        obligations=OBLIGATIONS,
        redis_url=private_redis.url,
        tmp_path=tmp_path,
        send_batch_size=10,
    )
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        queued = run_django(SWEEP, env)
        assert queued.returncode == 0, queued.stderr[-3000:]
        wait_for(lambda: len(read_mail(mail_dir)) >= 10, 120, "the first emails", worker)
        stopped_at = len(read_mail(mail_dir))
        worker.process.send_signal(signal.SIGTERM)  # KillMode=mixed: the main process only
        returncode = worker.process.wait(300)
        log = worker.text()
    finally:
        worker.stop()

    assert stopped_at < expected, "the sweep finished before the stop: raise DRILL_MAIL_DELAY"
    assert returncode == 0, log[-4000:]
    assert "Warm shutdown" in log and "WorkerLostError" not in log
    assert re.search(r"send_reminders\[[0-9a-f-]+\] succeeded", log), log[-4000:]
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == expected
    assert len(read_mail(mail_dir)) == expected
    print(f"\nworker stop drill: SIGTERM after {stopped_at}/{expected} emails; the sweep finished, worker exited 0")
