"""Drill: the API's error shape when the server cannot finish a request.

Against gunicorn in production settings (DEBUG=0):
1. PostgreSQL goes away (a private cluster, stopped): the API answers 503 in its JSON shape
   {code: database_unavailable, message: 中文}; a page that needs the database answers the HTML
   500 page; when the cluster is back the same request answers 200.
2. The evidence disk is full (a storage raising ENOSPC): the upload answers 507
   {code: storage_full, message: 存储空间不足…}; nothing is recorded."""

import datetime as dt
import json
import re
import uuid

import pytest

from accounts.services import api_token_create
from obligations.models import AuditEntry, Evidence
from tests.factories import make_obligation

from .services import PrivatePostgres
from .support import Gunicorn, child_env, database_url, http_request, manage, run_django
from .test_upload_interrupted import multipart

pytestmark = pytest.mark.services

SEED = """
from accounts.models import Department, User
from accounts.services import api_token_create
from regulations.registry import load_departments
load_departments()
user = User.objects.create_user(username="lena", password="pw-Secret-123", role=User.Role.LEAD,
                                department=Department.objects.get(code="JN-GXJ"))
print(api_token_create(user=user)[1])
"""


def api(server: Gunicorn, token: str, path: str, **kwargs):
    headers = {"Authorization": f"Token {token}", "Accept": "application/json", **kwargs.pop("headers", {})}
    return http_request(server.url + path, headers=headers, **kwargs)


def test_a_database_outage_answers_the_api_in_its_json_shape_and_pages_with_the_500_page(tmp_path):
    with PrivatePostgres() as cluster:
        static_root = str(tmp_path / "static")
        env = child_env(database_url=cluster.url, redis_url="redis://127.0.0.1:1/0", STATIC_ROOT=static_root)
        # Pages in production settings need the collected, hashed static files.
        collected = manage("collectstatic", "--noinput", env={**env, "DEBUG": "0", "SECRET_KEY": "drill-" + "x" * 50})
        assert collected.returncode == 0, collected.stderr[-3000:]
        migrated = manage("migrate", "--noinput", env=env)
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        seeded = run_django(SEED, env)
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        token = seeded.stdout.split()[-1]
        server = Gunicorn(env, tmp_path / "gunicorn.log").start()
        try:
            assert api(server, token, "/api/obligations/")[0] == 200
            status, headers, body = http_request(server.url + "/accounts/login/")
            assert status == 200
            csrf = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", ""))[1]

            cluster.stop("fast")
            status, headers, body = api(server, token, "/api/obligations/")
            assert status == 503, body[:2000]
            assert headers["Content-Type"].startswith("application/json")
            error = json.loads(body)
            assert error["code"] == "database_unavailable" and "数据库" in error["message"], error

            status, headers, body = http_request(
                server.url + "/accounts/login/",
                method="POST",
                headers={"Cookie": f"csrftoken={csrf}", "Content-Type": "application/x-www-form-urlencoded"},
                body=f"csrfmiddlewaretoken={csrf}&username=lena&password=pw-Secret-123".encode(),
            )
            assert status == 500 and headers["Content-Type"].startswith("text/html"), body[:2000]

            cluster.start()
            assert api(server, token, "/api/obligations/")[0] == 200
            log = server.text()
        finally:
            server.stop()
    assert "OperationalError" in log  # the traceback is kept in the log


@pytest.mark.django_db(transaction=True)
def test_a_full_evidence_disk_answers_507_storage_full_and_records_nothing(cast, tmp_path):
    obligation = make_obligation(cast["alice"].department, dt.date(2026, 12, 31))
    _, token = api_token_create(user=cast["alice"])
    env = child_env(
        database_url=database_url(), redis_url="redis://127.0.0.1:1/0",
        DJANGO_SETTINGS_MODULE="tests.drills.full_disk_settings", EVIDENCE_ROOT=str(tmp_path / "evidence"),
    )  # fmt: skip
    entries = AuditEntry.objects.count()
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        boundary = uuid.uuid4().hex
        pdf = b"%PDF-1.4\n" + b"0" * 10_000 + b"\n%%EOF\n"
        body = multipart({"kind": "file", "description": "实施方案"}, pdf, boundary)
        status, headers, answer = api(
            server, token, f"/api/obligations/{obligation.id}/evidence/", method="POST", body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip
    finally:
        server.stop()
    assert status == 507, answer[:2000]
    assert headers["Content-Type"].startswith("application/json")
    error = json.loads(answer)
    assert error["code"] == "storage_full" and "存储空间不足" in error["message"], error
    assert not Evidence.objects.exists() and AuditEntry.objects.count() == entries
