"""Every request has an id (X-Request-ID); every 5xx is one JSON log line on tracker.errors with
that id and the traceback (core/requestlog.py)."""

import json
import logging

import pytest
from django.test import Client

from core.requestlog import ERRORS_LOGGER, JsonFormatter

pytestmark = pytest.mark.django_db


class Kept(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def errors():
    handler = Kept()
    logger = logging.getLogger(ERRORS_LOGGER)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_every_answer_carries_a_request_id_a_sane_one_from_the_proxy_is_kept(client):
    first, second = client.get("/accounts/login/"), client.get("/accounts/login/")
    assert len(first["X-Request-ID"]) == 32 and first["X-Request-ID"] != second["X-Request-ID"]
    sent = client.get("/accounts/login/", headers={"X-Request-ID": "nginx-4f2a9c1e"})
    assert sent["X-Request-ID"] == "nginx-4f2a9c1e"
    forged = client.get("/accounts/login/", headers={"X-Request-ID": "x\x1b[31m" + "y" * 100})
    assert len(forged["X-Request-ID"]) == 32


def test_a_server_error_is_one_json_line_with_its_request_id_and_traceback(cast, settings, errors):
    settings.ROOT_URLCONF = "tests.error_urls"
    client = Client(raise_request_exception=False)
    client.force_login(cast["alice"])
    response = client.get("/boom/")
    assert response.status_code == 500
    [record] = errors.records
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == response["X-Request-ID"]
    assert (line["method"], line["path"], line["status"], line["user_id"]) == ("GET", "/boom/", 500, cast["alice"].pk)
    assert "RuntimeError: a bug" in line["traceback"] and "in fail" in line["traceback"]


def test_an_api_server_error_is_logged_the_same_way(cast, settings, errors, monkeypatch):
    from obligations.api import views

    def broken(*args, **kwargs):
        raise ZeroDivisionError("in a view")

    monkeypatch.setattr(views.ObligationViewSet, "list", broken)
    client = Client(raise_request_exception=False)
    client.force_login(cast["lena"])
    response = client.get("/api/obligations/")
    assert response.status_code == 500
    [record] = errors.records
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == response["X-Request-ID"] and "ZeroDivisionError: in a view" in line["traceback"]


def test_answers_below_500_are_not_error_logged(cast, errors):
    client = Client()
    client.force_login(cast["alice"])
    assert client.get("/no-such-page/").status_code == 404
    assert client.get("/api/obligations/?stauts=1").status_code == 400
    assert errors.records == []


def test_other_log_records_made_during_a_request_carry_its_id(cast, caplog):
    from core.requestlog import RequestIdFilter

    seen = []

    class Spy(logging.Handler):
        def emit(self, record):
            seen.append(record)

    spy = Spy()
    spy.addFilter(RequestIdFilter())
    request_logger = logging.getLogger("django.request")
    request_logger.addHandler(spy)
    try:
        response = Client().get("/no-such-page/")
    finally:
        request_logger.removeHandler(spy)
    assert seen and seen[0].request_id == response["X-Request-ID"]


def test_the_load_scenario_finds_the_traceback_of_each_5xx_by_its_request_id(cast, settings, errors):
    from bench.scenarios import server_error_tracebacks

    settings.ROOT_URLCONF = "tests.error_urls"
    client = Client(raise_request_exception=False)
    ids = {client.get("/boom/")["X-Request-ID"] for _ in range(2)}
    log = "\n".join(
        ["[2026-12-07 10:00:00 +0000] [1] [INFO] Booting worker with pid: 2", "not json {"]
        + [JsonFormatter().format(record) for record in errors.records]
    )
    found = server_error_tracebacks(log, ids | {"gone"})
    assert set(found) == ids | {"gone"}
    assert all("RuntimeError: a bug" in found[rid] for rid in ids)
    assert "no traceback" in found["gone"]
