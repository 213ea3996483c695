"""Processes the drills run: a Celery worker, `manage.py` commands and short Django scripts,
each a subprocess with its own DATABASE_URL / REDIS_URL (no tests here)."""

import email
import email.policy
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
PYTHON = sys.executable
CELERY = str(Path(sys.executable).parent / "celery")


def database_url(name: str | None = None) -> str:
    """The URL of the database this test runs on (pytest-django's test_<name>)."""
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name or db['NAME']}"


def child_env(*, database_url: str, redis_url: str, mail_dir: Path | None = None, **extra: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tracker.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    if mail_dir is not None:
        env["EMAIL_BACKEND"] = env.get("DRILL_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
        env["EMAIL_FILE_PATH"] = str(mail_dir)
    return env


def slow_mail_sweep_world(body, *, staff: int, obligations: int, redis_url: str, tmp_path: Path, **reminder_settings):
    """`staff` people at `body`, each reminded of `obligations` obligations due 2025-06-20 (a week after
    the drills' sweep), the reminder settings given, and the environment of a worker whose e-mails go
    slowly (0.1 s each) into a folder. Returns (env, mail_dir, the number of e-mails expected)."""
    import datetime as dt

    from accounts.models import User
    from notifications.models import ReminderSettings
    from tests.factories import make_obligations

    User.objects.bulk_create(
        [
            User(username=f"staff{i}", role=User.Role.STAFF, department=body, email=f"staff{i}@example.gov.cn")
            for i in range(staff)
        ]
    )
    make_obligations(body, [dt.date(2025, 6, 20)] * obligations)
    ReminderSettings.objects.update_or_create(
        pk=1, defaults=dict(group_reminders=False, daily_digest_to_leads=False, **reminder_settings)
    )
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = child_env(
        database_url=database_url(),
        redis_url=redis_url,
        mail_dir=mail_dir,
        DRILL_EMAIL_BACKEND="tests.drills.slow_mail.SlowFileBackend",
        DRILL_MAIL_DELAY="0.1",
    )
    return env, mail_dir, staff * obligations


def run_django(code: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """A short script with Django set up, as a separate process (a web request, a command)."""
    script = "import django; django.setup()\n" + code
    return subprocess.run(
        [PYTHON, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


def manage(*args: str, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


class Worker:
    """`celery worker` (prefork, one child) with its log in a file."""

    def __init__(self, env: dict, log_path: Path, *, queues: str | None = None):
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None
        self.queues = queues

    def start(self) -> "Worker":
        self.log = self.log_path.open("ab")
        args = [
            CELERY, "-A", "tracker", "worker", "--pool=prefork", "--concurrency=1", "--loglevel=INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"drill-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        if self.queues:
            args += ["-Q", self.queues]
        self.process = subprocess.Popen(args, cwd=BASE_DIR, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: "ready." in self.text(), 120, "the worker to start", self)
        return self

    def text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


class Gunicorn:
    """The web server as docs/deployment.md runs it (gthread, 2 workers x 2 threads), in production
    settings (DEBUG=0), on a free port, with its log in a file."""

    def __init__(self, env: dict, log_path: Path, *, workers: int = 2, threads: int = 2):
        from .services import free_port

        self.port = free_port()
        self.env = {
            **env,
            "DEBUG": "0",
            "SECRET_KEY": "drill-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
        }
        self.log_path, self.workers, self.threads = log_path, workers, threads
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Gunicorn":
        self.log = self.log_path.open("ab")
        args = [
            PYTHON, "-m", "gunicorn", "tracker.wsgi", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--threads", str(self.threads), "--timeout", "60",
        ]  # fmt: skip
        self.process = subprocess.Popen(args, cwd=BASE_DIR, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

        def answering():
            try:
                return http_request(self.url + "/healthz", timeout=2)[0] == 200
            except OSError:
                return False

        wait_for(answering, 120, "gunicorn to answer", self)
        return self

    def text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


def http_request(url: str, *, method: str = "GET", headers: dict | None = None, body: bytes | None = None,
                 timeout: float = 30) -> tuple[int, dict, bytes]:  # fmt: skip
    """One request; (status, headers, body) whatever the status."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method, headers={"Host": "127.0.0.1", **(headers or {})})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (a local test server)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(condition, timeout: float, what: str, worker=None, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    tail = worker.text()[-4000:] if worker is not None else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tail}")


def read_mail(directory: Path) -> list[email.message.EmailMessage]:
    """Messages written by Django's file-based email backend (one .log file per connection)."""
    messages = []
    for path in sorted(directory.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
    return messages
