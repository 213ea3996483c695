"""Issue 14, item 1: simultaneous objections by one body give one objection, not four.

The requests run in threads, each with its own PostgreSQL connection. The test holds the
obligation's row lock so that every request has passed the service's "already pending?" check
before any of them may insert: without the database's constraint all four would be written.
"""

import threading

import pytest
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from obligations.models import AuditEntry, Objection, Obligation
from tests.factories import make_obligation

REQUESTS = 4


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        # Statistics views are a snapshot per transaction: take a fresh one each time.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_objections_by_one_body_give_one_201_and_409s_and_write_one_objection(cast):
    alice = cast["alice"]
    o = make_obligation("JN-DSJ")
    barrier = threading.Barrier(REQUESTS)
    statuses, bodies, errors = [], [], []

    def post():
        try:
            client = APIClient()
            client.force_authenticate(alice)
            barrier.wait(20)
            url = f"/api/obligations/{o.pk}/objections/"
            response = client.post(url, {"reason": "该职责属于科技部门"}, format="json")
            statuses.append(response.status_code)
            bodies.append(response.json())
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(REQUESTS)]
    with transaction.atomic():
        # The inserts' foreign-key check (FOR KEY SHARE on the obligation) waits for this lock.
        Obligation.objects.select_for_update().get(pk=o.pk)
        for t in threads:
            t.start()
        for _ in range(400):
            if _waiting_on_locks() >= REQUESTS:
                break
            threading.Event().wait(0.05)
        assert _waiting_on_locks() >= REQUESTS, "the requests never reached the insert together"
    for t in threads:
        t.join(60)
    assert not errors, errors

    assert sorted(statuses) == [201] + [409] * (REQUESTS - 1), bodies
    refused = [b for s, b in zip(statuses, bodies, strict=True) if s == 409]
    assert all(b["code"] == "objection_pending" and b["message"] == "已有一项待处理的异议" for b in refused)
    assert Objection.objects.filter(obligation=o).count() == 1
    assert AuditEntry.objects.filter(obligation=o, action="objection.raised").count() == 1


@pytest.mark.django_db
def test_another_body_may_object_while_the_former_bodys_objection_is_pending(cast):
    """The rule is one pending objection per obligation and body (the database's constraint)."""
    from obligations import services

    o = make_obligation("JN-DSJ")
    services.objection_raise(obligation=o, actor=cast["alice"], reason="不是我们")
    Obligation.objects.filter(pk=o.pk).update(department=cast["carol"].department)
    services.objection_raise(obligation=o, actor=cast["carol"], reason="也不是我们")
    assert Objection.objects.filter(obligation=o, status="pending").count() == 2
