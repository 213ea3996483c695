"""The 台账 import at size: its queries grow by a fixed few per row, not by what each service
would read again, and a row refused half-way (no savepoint of its own) still leaves nothing.
Behaviour, not time: the figures in seconds are the bench's (bench/paths_bench.py)."""

import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from obligations import audit, ledger
from obligations.models import Obligation
from tests.factories import make_obligation, make_obligations
from tests.test_ledger import export, fill, statuses, written

pytestmark = pytest.mark.django_db

# A row with 本期进展 and 完成比例: its progress entry. Its activity stamp and the audit entries (the
# service's and the ledger's own of the row) are written together at the end (services.rows_held,
# audit.chain_held(buffered=True)), a query per thousand; the service checks before it writes and
# needs no savepoint. It was 9 a row before the rows were held under lock once for the whole ledger.
QUERIES_PER_PROGRESS_ROW = 1.1


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


def _queries(actor, data: bytes, apply: bool) -> int:
    """The queries of one import, undone afterwards so that the next one finds the same data."""
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            result = ledger.ledger_import(actor=actor, data=data, apply=apply)
        transaction.set_rollback(True)
    assert result.ok, [str(e) for e in result.errors]
    assert result.applied is apply and not result.skipped
    return len(captured)


# A row that also hands in a link and asks 提交核验: the evidence (its savepoint and row) and the
# transition (its savepoint, the evidence check, the versioned UPDATE and its re-read, the event).
QUERIES_PER_SUBMITTING_ROW = 10.1

PROGRESS_ROW = {"本期进展": "已部署", "完成比例": 50}
SUBMITTING_ROW = {
    "本期进展": "已完成",
    "完成比例": 100,
    "佐证链接或发文字号": "https://example.gov.cn/a",
    "状态申请": "提交核验",
}


@pytest.mark.parametrize("apply", [False, True], ids=["preview", "apply"])
@pytest.mark.parametrize(
    ("cells", "per_row_limit"),
    [(PROGRESS_ROW, QUERIES_PER_PROGRESS_ROW), (SUBMITTING_ROW, QUERIES_PER_SUBMITTING_ROW)],
    ids=["progress", "submitting"],
)
def test_import_queries_grow_by_a_fixed_few_per_row(cast, departments, apply, cells, per_row_limit):
    alice, dsj = cast["alice"], departments["JN-DSJ"]
    obligations = make_obligations(dsj, [dt.date(2025, 9, 30)] * 100, status=Obligation.Status.IN_PROGRESS)
    blank = export(alice, dsj)

    def filled(n: int) -> bytes:
        return fill(blank, {o.pk: cells for o in obligations[:n]})

    before = written()
    counts = [_queries(alice, filled(50), apply), _queries(alice, filled(100), apply)]
    assert written() == before
    per_row = (counts[1] - counts[0]) / 50
    assert per_row <= per_row_limit, counts
    # The fixed part (reading the body, locking the rows, the earlier imports, the chain's head).
    assert counts[0] - 50 * per_row <= 15, counts


def test_a_row_refused_half_way_leaves_nothing_of_the_ledger(cast, departments):
    """Progress written, then the submission refused (no evidence): the row's progress entry, the
    rows before and after it, their audit entries and events are all undone, the chain holds."""
    alice, dsj = cast["alice"], departments["JN-DSJ"]
    first, refused, last = (make_obligation(dsj, status=Obligation.Status.IN_PROGRESS) for _ in range(3))
    data = fill(
        export(alice, dsj),
        {
            first.pk: {"本期进展": "已部署"},
            refused.pk: {"本期进展": "已完成", "状态申请": "提交核验"},
            last.pk: {"本期进展": "已部署", "状态申请": "提交核验", "佐证链接或发文字号": "https://example.gov.cn/a"},
        },
    )
    before = written()
    result = ledger.ledger_import(actor=alice, data=data, apply=True)
    assert not result.ok and not result.applied
    [error] = result.errors
    assert error.column == "状态申请" and "佐证" in error.message
    # The row after the refused one was still checked through the services, and would have passed.
    plan = {p.obligation_id: p for p in result.rows}
    assert plan[last.pk].changes[-1] == "状态：推进中 → 待核验" and not plan[last.pk].errors
    assert written() == before
    assert statuses([first, refused, last]) == ["in_progress"] * 3
    assert not last.outbox_messages.exists()
    assert audit.verify_chain().ok


def test_every_applied_row_stamps_its_activity_and_a_preview_none(cast, departments):
    """The activity stamps are written together at the end of the run (services.rows_held): a row
    with progress only, and one whose progress is followed by a transition, are both stamped."""
    alice, dsj = cast["alice"], departments["JN-DSJ"]
    progress_only = make_obligation(dsj, status=Obligation.Status.IN_PROGRESS)
    started = make_obligation(dsj)
    untouched = make_obligation(dsj, status=Obligation.Status.IN_PROGRESS)
    data = fill(
        export(alice, dsj),
        {progress_only.pk: {"本期进展": "已部署"}, started.pk: {"本期进展": "已启动", "状态申请": "开始办理"}},
    )

    def stamps():
        return dict(
            Obligation.objects.filter(pk__in=[progress_only.pk, started.pk, untouched.pk]).values_list(
                "pk", "last_activity_at"
            )
        )

    before = stamps()
    assert ledger.ledger_import(actor=alice, data=data, apply=False).ok
    assert stamps() == before
    now = dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC)
    assert ledger.ledger_import(actor=alice, data=data, apply=True).applied
    after = stamps()
    assert after[progress_only.pk] == now and after[started.pk] == now
    assert after[untouched.pk] == before[untouched.pk]
    started.refresh_from_db()
    assert (started.status, started.version) == (Obligation.Status.IN_PROGRESS, 2)
    assert audit.verify_chain().ok
