"""API paging as scripts use it: ?page_size= up to a documented maximum, and cursor links that
walk a long list in order without OFFSET or a count on every page."""

import datetime as dt
import itertools

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.pagination import MAX_PAGE_SIZE
from obligations.models import Obligation
from tests.factories import make_obligation

pytestmark = pytest.mark.django_db
S = Obligation.Status
NOW = dt.datetime(2025, 3, 10, 2, 0, tzinfo=dt.UTC)


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def mixed(cast):
    """Obligations with every kind of sort key: overdue, equal due dates, undated, handed in."""
    dates = [dt.date(2025, 3, 1), dt.date(2025, 3, 12), dt.date(2025, 3, 12), None, dt.date(2025, 2, 1)]
    made = []
    for n, (due, status) in enumerate(zip(itertools.islice(itertools.cycle(dates), 23), itertools.cycle(S))):
        made.append(make_obligation("JN-DSJ" if n % 3 else "JN-FGW", due_date=due, status=status, text=f"应当{n}"))
    return made


def walk(client, url):
    """Every id the next links lead to, and the bodies of the pages."""
    ids, pages = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        pages.append(body)
        ids += [row["id"] for row in body["results"]]
        url = body["next"]
        assert len(pages) < 100
    return ids, pages


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("ordering", ["", "ordering=due_date", "ordering=-status,due_date", "ordering=-id"])
def test_cursor_links_walk_every_obligation_once_in_the_lists_order(cast, mixed, ordering):
    lena = client_for(cast["lena"])
    expected = [row["id"] for row in lena.get(f"/api/obligations/?page_size=500&{ordering}").json()["results"]]
    assert len(expected) == len(mixed)
    ids, pages = walk(lena, f"/api/obligations/?page_size=4&{ordering}")
    assert ids == expected
    assert pages[0]["count"] == len(mixed) and all("count" not in page for page in pages[1:])
    assert "cursor=" in pages[0]["next"] and pages[0]["previous"] is None and pages[-1]["next"] is None


@time_machine.travel(NOW, tick=False)
def test_previous_links_lead_back_through_the_same_pages(cast, mixed):
    lena = client_for(cast["lena"])
    _, forward = walk(lena, "/api/obligations/?page_size=5")
    url, backward = forward[-1]["previous"], []
    while url:
        body = lena.get(url).json()
        backward.append([row["id"] for row in body["results"]])
        url = body["previous"]
    assert backward == [[row["id"] for row in page["results"]] for page in reversed(forward[:-1])]


@time_machine.travel(NOW, tick=False)
def test_page_numbers_still_answer_with_the_total_and_page_links(cast, mixed):
    body = client_for(cast["lena"]).get("/api/obligations/?page=2&page_size=10").json()
    assert body["count"] == len(mixed) and len(body["results"]) == 10
    assert "page=3" in body["next"] and "page_size=10" in body["next"]


def test_staff_cursor_pages_stay_within_their_body(cast, mixed):
    ids, _ = walk(client_for(cast["alice"]), "/api/obligations/?page_size=3")
    own = set(Obligation.objects.filter(department__code="JN-DSJ").values_list("id", flat=True))
    assert set(ids) == own and len(ids) == len(own)


@pytest.mark.parametrize("size", ["0", str(MAX_PAGE_SIZE + 1), "abc", "-5", "²"])
def test_page_size_outside_the_documented_range_is_refused(cast, size):
    response = client_for(cast["lena"]).get(f"/api/obligations/?page_size={size}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "page_size" in response.json()["details"]


@pytest.mark.parametrize("cursor", ["garbage", "eyJwIjogWzFdfQ", "%E4%B8%AD"])
def test_a_cursor_not_from_a_next_link_is_refused(cast, mixed, cursor):
    response = client_for(cast["lena"]).get(f"/api/obligations/?cursor={cursor}")
    assert response.status_code == 400 and "cursor" in response.json()["details"]


def test_schema_documents_page_size_with_its_maximum_and_the_cursor(cast):
    schema = client_for(cast["lena"]).get("/api/schema/?format=json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/obligations/"]["get"]["parameters"]}
    assert parameters["page_size"]["schema"]["maximum"] == MAX_PAGE_SIZE
    assert "cursor" in parameters and "page" in parameters


@pytest.mark.parametrize("ordering", ["", "ordering=id"])
def test_a_deep_cursor_page_costs_what_the_first_does_without_the_count(cast, mixed, ordering):
    """The urgency order (the default) sorts every matching row anyway, so its first page counts
    them in the same query (count(*) OVER ()); an order an index gives counts in a query of its
    own. A deep page counts nothing and has no OFFSET."""
    lena = client_for(cast["lena"])
    first = lena.get(f"/api/obligations/?page_size=2&{ordering}").json()
    for _ in range(5):
        deep_url = lena.get(first["next"]).json()["next"]
        first = lena.get(deep_url).json()

    def queries(url):
        with CaptureQueriesContext(connection) as ctx:
            assert lena.get(url).status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    start, deep = queries(f"/api/obligations/?page_size=2&{ordering}"), queries(deep_url)
    counted_in_page = ordering == ""
    assert any("COUNT(*) OVER ()" in sql for sql in start) == counted_in_page
    assert len(deep) == len(start) - (0 if counted_in_page else 1)
    assert not any("COUNT(" in sql.upper() for sql in deep) and not any("OFFSET" in sql.upper() for sql in deep)


def test_the_first_pages_count_is_every_matching_row_and_zero_when_none_match(cast, mixed):
    """The count read from the page's own query (urgency order) equals the COUNT query's."""
    lena = client_for(cast["lena"])
    for query in ["", "status=submitted", "department=JN-FGW", "overdue=true"]:
        expected = len(lena.get(f"/api/obligations/?page=1&page_size=500&{query}").json()["results"])
        for ordering in ["", "ordering=id"]:
            body = lena.get(f"/api/obligations/?page_size=2&{query}&{ordering}").json()
            assert body["count"] == expected, (query, ordering)
            assert all("page_total_" not in row for row in body["results"])
    empty = lena.get("/api/obligations/?department=JN-NONE").json()
    assert empty["count"] == 0 and empty["results"] == []
