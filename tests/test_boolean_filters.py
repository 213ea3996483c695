"""Every boolean filter of the API takes true/false/1/0 and refuses anything else with 400: a value
it did not understand used to be read as "not given", answering with the whole list."""

import datetime as dt

import pytest
from django.test import Client

from obligations.models import Obligation
from tests.factories import make_obligation

pytestmark = pytest.mark.django_db


def boolean_query_parameters() -> list[tuple[str, str]]:
    """(path, parameter) for every GET operation without path parameters, from the served schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, methods in schema["paths"].items():
        operation = methods.get("get")
        if operation is None or "{" in path:
            continue
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "boolean":
                found.append((path, parameter["name"]))
    return found


BOOLEANS = boolean_query_parameters()


def test_the_schema_documents_the_boolean_filters_we_know_of():
    assert {("/api/obligations/", "overdue"), ("/api/notifications/", "unread")} <= set(BOOLEANS)
    assert {("/api/notifications/", "requires_ack"), ("/api/notifications/", "unacknowledged")} <= set(BOOLEANS)


@pytest.mark.parametrize(("path", "name"), BOOLEANS)
def test_every_boolean_filter_refuses_what_it_does_not_understand(cast, path, name):
    client = Client()
    client.force_login(cast["lena"])
    for value in ["yes", "2", "True", "on", "ja"]:
        response = client.get(path, {name: value})
        assert response.status_code == 400, (path, name, value)
        body = response.json()
        assert body["code"] == "invalid" and body["details"] == {name: ["只能是 true、false、1 或 0"]}
    # A control character is refused before any filter reads it, naming the parameter.
    response = client.get(path, {name: "\x00"})
    assert response.status_code == 400 and response.json()["code"] == "control_character"
    assert list(response.json()["details"]) == [name]
    for value in ["true", "false", "1", "0", ""]:
        assert client.get(path, {name: value}).status_code == 200, (path, name, value)


def test_overdue_one_and_zero_filter_as_true_and_false(cast):
    today = dt.date.today()
    late = make_obligation("JN-DSJ", due_date=today - dt.timedelta(days=3))
    on_time = make_obligation("JN-DSJ", due_date=today + dt.timedelta(days=30))
    make_obligation("JN-DSJ", due_date=today - dt.timedelta(days=3), status=Obligation.Status.VERIFIED)
    client = Client()
    client.force_login(cast["lena"])

    def ids(value):
        return {row["id"] for row in client.get("/api/obligations/", {"overdue": value}).json()["results"]}

    assert ids("1") == ids("true") == {late.pk}
    assert on_time.pk in ids("0") and late.pk not in ids("false")
