"""The state machine and optimistic locking."""

import threading

import pytest
from django.db import connection, connections

from core import errors
from obligations import services
from obligations.models import AuditEntry, Obligation
from tests.factories import add_link_evidence, fast_passwords, make_obligation

S = Obligation.Status


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    fast_passwords(settings)


def move(o, user, action, reason=""):
    o.refresh_from_db()
    return services.obligation_transition(
        obligation=o, actor=user, action=action, reason=reason, expected_version=o.version
    )


@pytest.mark.django_db
def test_full_cycle_records_who_and_when_and_audits_each_step(cast):
    alice, lena = cast["alice"], cast["lena"]
    o = make_obligation("JN-DSJ")
    move(o, alice, "start")
    add_link_evidence(o, alice)
    o = move(o, alice, "submit")
    assert o.status == S.SUBMITTED and o.submitted_by == alice and o.submitted_at
    o = move(o, lena, "return", "佐证材料不全")
    assert o.status == S.IN_PROGRESS
    move(o, alice, "submit")
    o = move(o, lena, "verify")
    assert o.status == S.VERIFIED and o.verified_by == lena
    o = move(o, lena, "reopen", "发现问题")
    assert o.status == S.IN_PROGRESS and o.verified_at is None
    assert o.version == 7
    entries = list(AuditEntry.objects.filter(obligation=o, action="obligation.status").order_by("id"))
    assert [(e.before["status"], e.after["status"]) for e in entries] == [
        ("not_started", "in_progress"),
        ("in_progress", "submitted"),
        ("submitted", "in_progress"),
        ("in_progress", "submitted"),
        ("submitted", "verified"),
        ("verified", "in_progress"),
    ]
    assert entries[2].after["reason"] == "佐证材料不全"
    assert "reason" not in entries[0].after


@pytest.mark.django_db
def test_submit_without_evidence_is_refused_and_changes_nothing(cast):
    o = make_obligation("JN-DSJ", status=S.IN_PROGRESS)
    audit_count = AuditEntry.objects.count()
    with pytest.raises(errors.InvalidTransition) as exc:
        move(o, cast["alice"], "submit")
    assert exc.value.code == "evidence_required" and "佐证材料" in exc.value.message
    o.refresh_from_db()
    assert o.status == S.IN_PROGRESS and o.version == 1 and AuditEntry.objects.count() == audit_count


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status,action,user",
    [
        (S.NOT_STARTED, "submit", "alice"),
        (S.NOT_STARTED, "verify", "lena"),
        (S.IN_PROGRESS, "start", "alice"),
        (S.IN_PROGRESS, "verify", "lena"),
        (S.SUBMITTED, "reopen", "lena"),
        (S.VERIFIED, "return", "lena"),
        (S.VERIFIED, "start", "alice"),
    ],
)
def test_illegal_transition_gets_a_clear_error_and_changes_nothing(cast, status, action, user):
    o = make_obligation("JN-DSJ", status=status)
    add_link_evidence(o, cast["alice"])
    with pytest.raises(errors.InvalidTransition) as exc:
        move(o, cast[user], action, "理由")
    assert "当前状态为" in exc.value.message or "佐证" in exc.value.message
    o.refresh_from_db()
    assert o.status == status and o.version == 1
    assert not AuditEntry.objects.filter(obligation=o, action="obligation.status").exists()


@pytest.mark.django_db
def test_return_and_reopen_need_a_reason(cast):
    o = make_obligation("JN-DSJ", status=S.SUBMITTED)
    with pytest.raises(errors.InvalidInput) as exc:
        move(o, cast["lena"], "return", "  ")
    assert exc.value.details == {"reason": ["请填写原因"]}


@pytest.mark.django_db
def test_staff_cannot_verify_own_submission(cast):
    o = make_obligation("JN-DSJ", status=S.SUBMITTED)
    with pytest.raises(errors.NotAllowed):
        move(o, cast["alice"], "verify")


@pytest.mark.django_db
def test_cooperating_staff_cannot_move_status(cast):
    o = make_obligation("JN-DSJ", cooperating=["JN-FGW"])
    with pytest.raises(errors.NotAllowed):
        move(o, cast["carol"], "start")


@pytest.mark.django_db
def test_stale_version_is_refused_with_who_changed_what(cast):
    alice, bob = cast["alice"], cast["bob"]
    o = make_obligation("JN-DSJ", status=S.IN_PROGRESS)
    add_link_evidence(o, alice)
    seen_by_bob = o.version
    move(o, alice, "submit")
    with pytest.raises(errors.StaleVersion) as exc:
        services.obligation_transition(obligation=o, actor=bob, action="submit", expected_version=seen_by_bob)
    assert exc.value.status == 409
    assert (
        "alice" in exc.value.message and "推进中 → 待核验" in exc.value.message and "请刷新后重试" in exc.value.message
    )
    o.refresh_from_db()
    assert o.version == 2


@pytest.mark.django_db
def test_missing_version_is_a_validation_error(cast):
    o = make_obligation("JN-DSJ")
    with pytest.raises(errors.InvalidInput) as exc:
        services.obligation_transition(obligation=o, actor=cast["alice"], action="start", expected_version=None)
    assert "version" in exc.value.details


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writes_with_the_same_version_cannot_both_succeed(cast):
    """Writer A updates inside an open transaction; writer B, with the same version, blocks on the
    row, and once A commits finds no row with that version any more."""
    lena = cast["lena"]
    o = make_obligation("JN-DSJ")
    import datetime as dt

    a_updated, a_may_commit = threading.Event(), threading.Event()
    results = {}

    def writer_a():
        from django.db import transaction

        try:
            with transaction.atomic():
                services.obligation_set_due_date(
                    obligation=o, actor=lena, due_date=dt.date(2027, 1, 1), reason="A", expected_version=1
                )
                a_updated.set()
                a_may_commit.wait(20)
            results["a"] = "ok"
        except Exception as exc:  # noqa: BLE001
            results["a"] = exc
        finally:
            connections.close_all()

    def writer_b():
        try:
            services.obligation_set_due_date(
                obligation=o, actor=lena, due_date=dt.date(2027, 2, 1), reason="B", expected_version=1
            )
            results["b"] = "ok"
        except Exception as exc:  # noqa: BLE001
            results["b"] = exc
        finally:
            connections.close_all()

    ta = threading.Thread(target=writer_a)
    ta.start()
    assert a_updated.wait(20)
    tb = threading.Thread(target=writer_b)
    tb.start()
    # Wait until B is really blocked on A's row lock (not a timing guess: ask PostgreSQL).
    with connection.cursor() as cursor:
        for _ in range(400):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.05)
    a_may_commit.set()
    ta.join(20)
    tb.join(20)
    assert results["a"] == "ok"
    assert isinstance(results["b"], errors.StaleVersion), results
    o.refresh_from_db()
    assert o.version == 2 and o.due_date == dt.date(2027, 1, 1)
    assert o.due_date_changes.count() == 1
