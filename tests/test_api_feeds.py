"""The long lists across obligations: /api/progress/ and /api/history/.

A script reads every progress entry or audit entry its user may see, oldest first, following
cursor links; staff see only their own body's and the bodies' they cooperate with."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from obligations import services
from obligations.audit import AuditAction
from obligations.models import AuditEntry, ProgressEntry
from tests.factories import make_obligation
from tests.test_api_paging import client_for, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(cast):
    """Progress on obligations of 大数据局 (one shared with 发改委 as cooperating body), of 发改委 and
    of 历下区, written through the services, so each also leaves audit entries."""
    own = [make_obligation("JN-DSJ", text=f"应当{n}") for n in range(3)]
    shared = make_obligation("JN-FGW", text="应当共同推进", cooperating=["JN-DSJ"])
    foreign = make_obligation("JN-FGW", text="应当另行推进")
    district = make_obligation("JN-LIXIA", text="应当在辖区推进")
    writers = [(own[0], cast["alice"]), (own[1], cast["bob"]), (own[2], cast["alice"])]
    writers += [(shared, cast["carol"]), (shared, cast["alice"]), (foreign, cast["carol"]), (district, cast["dave"])]
    for round_ in range(2):
        for obligation, author in writers:
            services.progress_add(obligation=obligation, actor=author, text=f"第{round_ + 1}次进展", percent=None)
    return {"own": own, "shared": shared, "foreign": foreign, "district": district}


def test_the_progress_feed_walks_every_entry_once_oldest_first(cast, work):
    ids, pages = walk(client_for(cast["audrey"]), "/api/progress/?page_size=3")
    assert ids == list(ProgressEntry.objects.order_by("id").values_list("id", flat=True))
    assert len(ids) == 14
    assert pages[0]["count"] == 14 and all("count" not in page for page in pages[1:])
    first = pages[0]["results"][0]
    assert first["obligation"]["citation"].startswith("第") and first["obligation"]["department"] == "JN-DSJ"


def test_staff_read_only_their_bodys_progress_and_what_they_cooperate_on(cast, work):
    ids, _ = walk(client_for(cast["alice"]), "/api/progress/?page_size=4")
    seen = set(ProgressEntry.objects.filter(id__in=ids).values_list("obligation_id", flat=True))
    assert seen == {o.pk for o in work["own"]} | {work["shared"].pk}
    assert len(ids) == 10  # 3 own obligations and the shared one (two writers), twice
    # Asking for another body's work does not widen what they see.
    assert client_for(cast["alice"]).get("/api/progress/?department=JN-LIXIA").json()["results"] == []


def test_the_progress_feed_filters_by_body_obligation_and_time(cast, work):
    lena = client_for(cast["lena"])
    district = lena.get("/api/progress/?department=JN-LIXIA").json()
    assert district["count"] == 2 and {r["obligation"]["id"] for r in district["results"]} == {work["district"].pk}
    one = lena.get(f"/api/progress/?obligation={work['shared'].pk}").json()
    assert one["count"] == 4
    last = ProgressEntry.objects.order_by("id").last()
    since = lena.get("/api/progress/", {"since": last.created_at.isoformat()}).json()
    assert [r["id"] for r in since["results"]][-1] == last.pk
    assert all(r["created_at"] >= last.created_at.isoformat()[:19] for r in since["results"])


@pytest.mark.parametrize("query", ["since=yesterday", "until=2025-13-40", "obligation=abc", "colour=red"])
def test_bad_feed_filters_are_refused_with_a_precise_error(cast, work, query):
    response = client_for(cast["lena"]).get(f"/api/progress/?{query}")
    assert response.status_code == 400
    assert response.json()["code"]


def test_the_history_feed_shows_the_audit_entries_of_visible_obligations(cast, work):
    alice_ids, _ = walk(client_for(cast["alice"]), "/api/history/?page_size=5")
    visible = {o.pk for o in work["own"]} | {work["shared"].pk}
    expected = list(AuditEntry.objects.filter(obligation_id__in=visible).order_by("id").values_list("id", flat=True))
    assert alice_ids == expected and expected
    everyone, _ = walk(client_for(cast["audrey"]), "/api/history/?page_size=500")
    assert set(alice_ids) < set(everyone)
    assert not AuditEntry.objects.filter(id__in=everyone, obligation__isnull=True).exists()


def test_the_history_feed_filters_by_action(cast, work):
    lena = client_for(cast["lena"])
    body = lena.get(f"/api/history/?action={AuditAction.PROGRESS_ADDED.value}&page_size=500").json()
    assert body["count"] == 14 and {r["action"] for r in body["results"]} == {AuditAction.PROGRESS_ADDED.value}
    assert lena.get("/api/history/?action=obligation.invented").status_code == 400


def test_a_deep_feed_page_makes_the_same_queries_as_the_first_minus_the_count(cast, work):
    auditor = client_for(cast["audrey"])
    url = "/api/progress/?page_size=2"
    for _ in range(4):
        url = auditor.get(url).json()["next"]

    def queries(address):
        with CaptureQueriesContext(connection) as ctx:
            assert auditor.get(address).status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    start, deep = queries("/api/progress/?page_size=2"), queries(url)
    assert len(deep) == len(start) - 1
    assert not any("COUNT(" in sql.upper() or "OFFSET" in sql.upper() for sql in deep)


def test_the_schema_documents_the_feeds_and_their_filters(cast):
    schema = client_for(cast["lena"]).get("/api/schema/?format=json").json()
    for path, names in [
        ("/api/progress/", {"obligation", "department", "since", "until", "cursor", "page_size"}),
        ("/api/history/", {"obligation", "department", "action", "since", "until", "cursor", "page_size"}),
    ]:
        parameters = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert names <= parameters, (path, names - parameters)


def test_both_feeds_filter_by_regulation(cast, work):
    """With several regulations in force a script reads one regulation's progress and history."""
    from regulations.models import Clause, Regulation

    other = Regulation.objects.create(code="other-reg", title="另一部条例", source_text="", source_sha256="")
    Clause.objects.filter(pk=work["district"].clause_id).update(regulation=other)
    first = work["own"][0].clause.regulation.code
    lena = client_for(cast["lena"])
    progress = lena.get("/api/progress/?regulation=other-reg").json()
    assert progress["count"] == 2
    assert {r["obligation"]["id"] for r in progress["results"]} == {work["district"].pk}
    assert lena.get(f"/api/progress/?regulation={first}").json()["count"] == 12
    ids, _ = walk(lena, "/api/history/?regulation=other-reg&page_size=500")
    expected = AuditEntry.objects.filter(obligation=work["district"]).order_by("id").values_list("id", flat=True)
    assert ids == list(expected) and ids
    # Staff asking for another regulation see no more than their own work under it.
    assert client_for(cast["alice"]).get("/api/progress/?regulation=other-reg").json()["results"] == []
