"""Schemathesis over the whole OpenAPI schema, as each role, in-process: no request may end in a 5xx
nor in an error the server logged.

The schema is read from /api/schema/ through the WSGI application (the Django that serves
production), with an API token of the role, and every request carries that token. Besides
what Schemathesis generates from the schema, parameters are drawn half the time from dictionaries:
ids of rows this module creates (so that the fuzzer reaches the code behind existing objects, not
only 404s), dates at the edges of the calendar, integers at the edges of the database's types,
and hostile text (NUL, bidi overrides, zero-width and control characters, very long strings).
Each parameter is bound by its type in the schema, so a new endpoint is covered as it is.

Runs are derandomized (the same code sends the same requests) and a failure prints the request
that reproduces it as a curl command. `pytest tests/test_api_fuzz.py` alone takes about a minute
on two cores; FUZZ_EXAMPLES raises the examples per operation for a longer hunt.
"""

import datetime as dt
import logging
import os

import pytest
import schemathesis
from django.core.files.base import ContentFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error

from accounts.models import ApiToken
from accounts.services import api_token_create
from notifications.models import Notification
from obligations import services
from obligations.models import Obligation
from reports.models import ExportJob
from tests.factories import PDF, fast_passwords, make_obligation

ROLES = {"staff": "alice", "lead": "lena", "auditor": "audrey", "admin": "adam"}
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
# Schemathesis' coverage phase (boundary values of every field, one at a time) takes about 40 s
# per role here: on for `make fuzz`, off in the suite.
COVERAGE_PHASE = os.environ.get("FUZZ_COVERAGE") == "1"

DATES = ["0001-01-01", "9999-12-31", "2024-02-29"]
INTEGERS = [0, -1, 2**31, 2**63]
FUZZ_TOKEN_ID = 7_654_321  # not in INTEGERS, far from the ids build_world creates
MOMENTS = [
    "2025-01-01T00:00:00+16:00",
    "9999-12-31T23:59:59-15:00",
    "0001-01-01T00:00:00+15:59",
    "2025-01-01T00:00:00Z",
]
# Tampered cursors (base64 JSON of the shape the lists hand out, with values of the wrong type
# or beyond the database's range) and ones that are no cursor at all.
CURSORS = [
    "eyJwIjpbeyJhIjoxfV19",  # {"p":[{"a":1}]}
    "eyJwIjpbMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBdfQ",  # {"p":[1e30 as an integer]}
    "eyJwIjpbIlx1MDAwMCJdfQ",  # {"p":["\u0000"]}
    "eyJwIjpbIjk5OTktMTItMzFUMjM6NTk6NTktMTU6MDAiLDFdfQ",  # a date-time past year 9999 in UTC
    "eyJwIjpbTmFOXX0",  # {"p":[NaN]}
    "eyJwIjpbdHJ1ZSwxXSwiciI6MX0",  # {"p":[true,1],"r":1}
    "!!!",
    "\x00",
]
TEXT = ["\x00", "a\x00b", "\u200b\ufeff", "\u202eexe.pdf", "\u2066\u2069", "\x07\x1b[31m", " ", "长" * 6000]


class LoggedErrors(logging.Handler):
    """Every record at ERROR or above (Django logs an unhandled exception there) during a call."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def report(self) -> str:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return "\n".join(formatter.format(record) for record in self.records)


def build_world(cast) -> dict[str, list]:
    """A few rows of every kind the API addresses by id; returns the ids per path parameter."""
    alice, lena = cast["alice"], cast["lena"]
    future = dt.date.today() + dt.timedelta(days=30)
    own = make_obligation("JN-DSJ", cooperating=["JN-FGW"], due_date=future)
    other = make_obligation("JN-LIXIA", due_date=dt.date.today() - dt.timedelta(days=3))
    submitted = make_obligation("JN-DSJ", status=Obligation.Status.SUBMITTED)
    services.progress_add(obligation=own, actor=alice, text="已起草方案", percent=20)
    evidence = services.evidence_add(
        obligation=own, actor=alice, kind="file", description="方案", file=ContentFile(PDF, name="方案.pdf")
    )
    milestone = services.milestone_add(obligation=own, actor=alice, title="征求意见", due_date=future)
    extension = services.extension_request(
        obligation=own, actor=alice, requested_date=future + dt.timedelta(days=30), reason="等待批复"
    )
    objection = services.objection_raise(obligation=own, actor=alice, reason="该职责属于科技部门")
    notifications = [
        Notification.objects.create(
            recipient=user, kind=Notification.Kind.ESCALATION, subject="逾期升级", body="请处理", requires_ack=True
        )
        for user in cast.values()
    ]
    job = ExportJob.objects.create(requested_by=lena, format=ExportJob.Format.CSV)
    return {
        "id": [own.pk, other.pk, submitted.pk] + [n.pk for n in notifications],
        "eid": [evidence.pk],
        "mid": [milestone.pk],
        "rid": [extension.pk],
        "oid": [objection.pk],
        "job_id": [str(job.pk)],
    }


def _resolve(raw: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = raw["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _dictionary_for(schema: dict) -> str | None:
    if schema.get("format") == "date":
        return "dates"
    if schema.get("format") == "date-time":
        return "moments"
    return {"integer": "integers", "string": "text"}.get(schema.get("type"))


def fuzz_config(raw: dict, ids: dict[str, list]) -> schemathesis.Config:
    """Bind every path, query and body parameter of the schema to the dictionary of its type."""
    bindings = {}
    for operations in raw["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                location, name = parameter["in"], parameter["name"]
                if location == "query" and name == "cursor":
                    bindings["query.cursor"] = {"dictionary": "cursors", "probability": 0.5}
                elif location == "path" and name in ids:
                    bindings[f"path.{name}"] = {"dictionary": f"ids-{name}", "probability": 0.5}
                elif location in ("path", "query") and (dictionary := _dictionary_for(parameter["schema"])):
                    bindings[f"{location}.{name}"] = {"dictionary": dictionary, "probability": 0.5}
            for content in operation.get("requestBody", {}).get("content", {}).values():
                for name, prop in _resolve(raw, content["schema"]).get("properties", {}).items():
                    if dictionary := _dictionary_for(_resolve(raw, prop)):
                        bindings[f"body.{name}"] = {"dictionary": dictionary, "probability": 0.5}
    dictionaries = {"dates": DATES, "integers": INTEGERS, "text": TEXT, "moments": MOMENTS, "cursors": CURSORS}
    dictionaries |= {f"ids-{name}": values for name, values in ids.items()}
    return schemathesis.Config.from_dict(
        {
            "dictionaries": {name: {"values": values} for name, values in dictionaries.items()},
            "parameters": bindings,
            "phases": {"coverage": {"enabled": COVERAGE_PHASE}},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                # The role's token is sent with every call; random credentials would only test 401.
                "with-security-parameters": False,
            },
        }
    )


@pytest.fixture(params=list(ROLES))
def role(request):
    return request.param


@pytest.fixture
def logged_errors(caplog):
    # 4xx answers are the point of fuzzing: keep their warnings out of a failure's report.
    caplog.set_level(logging.ERROR, logger="django.request")
    caplog.set_level(logging.ERROR, logger="axes")
    handler = LoggedErrors()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.fixture
def token_headers(role, cast):
    # The role's token gets an id far from the small integers the fuzzer draws for
    # DELETE /api/auth/tokens/{id}/, so the fuzzer cannot log itself out half-way through
    # (a lost token fails the run: see test_no_server_errors).
    token, key = api_token_create(user=cast[ROLES[role]], name="fuzz")
    ApiToken.objects.filter(pk=token.pk).update(id=FUZZ_TOKEN_ID)
    return {"Authorization": f"Token {key}"}


@pytest.fixture
def api_schema(db, cast, token_headers, settings, tmp_path):
    from tracker.wsgi import application

    fast_passwords(settings)
    settings.MEDIA_ROOT = tmp_path / "evidence"
    settings.REPORTS_ROOT = tmp_path / "exports"
    ids = build_world(cast)
    raw = APIClient().get("/api/schema/?format=json", headers=token_headers).json()
    schema = schemathesis.openapi.from_dict(raw, config=fuzz_config(raw, ids))
    schema.app = application
    # Like Django's test client: the connection, and the test's transaction, outlive a request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schema
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema").exclude(
    # Revokes the very token the fuzzer calls with; tests/test_api_obligations.py covers it.
    method="DELETE",
    path="/api/auth/token/",
)


@settings(
    max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@schema.parametrize()
def test_no_server_errors(case, token_headers, logged_errors):
    logged_errors.records.clear()
    response = case.call(headers=token_headers)
    if logged_errors.records:
        pytest.fail(
            f"The server logged an error (answered {response.status_code}):\n{logged_errors.report()}\n"
            f"Reproduce with: {case.as_curl_command(headers=token_headers)}"
        )
    case.validate_response(response, checks=[not_a_server_error], headers=token_headers)
    # Every call carries a valid token: a 401 means the run lost it and is only testing refusals.
    assert response.status_code != 401, f"the role's token was refused: {case.as_curl_command(headers=token_headers)}"


def _fill(path: str, ids: dict[str, list]) -> str:
    for name, values in ids.items():
        path = path.replace(f"{{{name}}}", str(values[0]))
    return path


@pytest.mark.parametrize("depth", [40, 5000])
def test_nested_json_on_every_json_operation_is_never_a_server_error(
    role, cast, token_headers, depth, settings, tmp_path
):
    """Every operation that takes a JSON body, as each role: a body nested deeper than any the
    schema documents is refused (400 parse_error) or the call is refused before its body is read
    (401/403/404/405): never a 5xx."""
    fast_passwords(settings)
    settings.MEDIA_ROOT = tmp_path / "evidence"
    settings.REPORTS_ROOT = tmp_path / "exports"
    ids = build_world(cast)
    client = APIClient()
    raw = client.get("/api/schema/?format=json", headers=token_headers).json()
    nested = "[" * depth + "]" * depth
    tried, parsed = [], 0
    for template, operations in raw["paths"].items():
        for method, operation in operations.items():
            if "application/json" not in operation.get("requestBody", {}).get("content", {}):
                continue
            if (method, template) == ("delete", "/api/auth/token/"):
                continue
            path = _fill(template, ids)
            body = ('{"text": ' + nested + ', "reason": ' + nested + "}").encode()
            response = client.generic(method.upper(), path, body, "application/json", headers=token_headers)
            tried.append(f"{method.upper()} {path}: {response.status_code}")
            assert response.status_code < 500, tried[-1]
            if response.status_code == 400:
                assert response.json()["code"] == "parse_error", (tried[-1], response.json())
                parsed += 1
    assert len(tried) >= 10 and parsed >= 1, tried
