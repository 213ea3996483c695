"""In, second step: each filled row through the services in one transaction (a preview is the same run, rolled back)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import Department, User
from core.errors import NotAllowed, ServiceError, StaleVersion
from obligations import selectors

from .. import audit, services
from ..audit import AuditAction
from ..models import AuditEntry, Evidence, Obligation
from ..outbox import in_bulk
from .reading import Ledger, LedgerRow, RowError, read_ledger, refuse
from .template import EVIDENCE, ID, PERCENT, PROGRESS, REQUEST, STATUS_REQUESTS, VERSION, Column

# --------------------------------------------------------------------------------------------
# Back: checking and applying.


@dataclass
class RowPlan:
    row: int
    obligation_id: int | None
    citation: str = ""
    changes: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: str = ""  # why nothing happens on this row (already imported)

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "obligation_id": self.obligation_id,
            "citation": self.citation,
            "changes": self.changes,
            "skipped": self.skipped,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass
class ImportResult:
    department: Department
    rows: list[RowPlan]
    applied: bool
    digest: str

    @property
    def errors(self) -> list[RowError]:
        return [e for plan in self.rows for e in plan.errors]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> list[RowPlan]:
        return [p for p in self.rows if p.changes and not p.errors]

    @property
    def skipped(self) -> list[RowPlan]:
        return [p for p in self.rows if p.skipped]

    def summary(self) -> str:
        if not self.ok:
            return f"台账有 {len(self.errors)} 处错误，未导入任何内容"
        verb = "已导入" if self.applied else "将导入"
        text = f"{verb} {len(self.changed)} 行变更"
        if self.skipped:
            text += f"，{len(self.skipped)} 行此前已导入、跳过"
        return text


class _RowFailed(Exception):
    def __init__(self, error: RowError):
        self.error = error


# A service error's details name a field; the ledger names the column it came from.
DETAIL_COLUMNS = {
    "text": PROGRESS,
    "percent": PERCENT,
    "url": EVIDENCE,
    "document_number": EVIDENCE,
    "description": EVIDENCE,
    "kind": EVIDENCE,
    "version": VERSION,
    "action": REQUEST,
}


def _column_of(exc: ServiceError, default: Column) -> str:
    if isinstance(exc, StaleVersion):
        return VERSION.header
    for name in exc.details:
        if name in DETAIL_COLUMNS:
            return DETAIL_COLUMNS[name].header
    return default.header


def ledger_import(*, actor: User, data: bytes, file_name: str = "", apply: bool) -> ImportResult:
    """Check every row of a returned ledger and, when `apply` and no row is refused, apply them all.

    Raises LedgerRefused when the file is not a ledger the actor may return; otherwise returns
    the plan of every filled row (its changes, or its errors). Nothing is written unless the
    whole ledger is applied."""
    ledger = read_ledger(data)
    department = ledger_department(actor=actor, ledger=ledger)
    return ledger_plan(actor=actor, ledger=ledger, department=department, file_name=file_name, apply=apply)


def ledger_department(*, actor: User, ledger: Ledger) -> Department:
    """The body a returned ledger belongs to, when `actor` may return it (LedgerRefused otherwise)."""
    department = Department.objects.filter(code=ledger.department_code).first()
    if department is None:
        raise refuse(f"台账注明的单位代码不存在：{ledger.department_code}")
    if not actor.may_see_body(department):
        own = actor.department.name if actor.department_id else "未归属任何单位"
        raise refuse(f"这是{department.name}的台账，您（{own}）只能导入本单位的台账")
    return department


def ledger_plan(
    *, actor: User, ledger: Ledger, department: Department, file_name: str = "", apply: bool
) -> ImportResult:
    """`ledger_import` for a ledger already read and its body already checked."""
    if not ledger.rows:
        raise refuse("台账中没有填报任何内容（填报列均为空）")

    # Up to 5,000 rows, each two or three audit entries: the chain is held once for the whole run
    # (audit.chain_held) and its entries written together at the end, not at all for a preview or
    # a refused ledger (nothing in the run reads them back). A service undone by its savepoint
    # leaves the held head behind, but a refused row refuses the whole ledger (below), so no such
    # chain is ever committed.
    # A row's progress tells cooperating bodies: a few hundred events, delivered by one sweep.
    # The services take the ledger's obligations as locked here (services.rows_held) rather than
    # reading each again; their activity stamps are written at the end, with the audit entries.
    with in_bulk(), transaction.atomic(), audit.chain_held(buffered=True):
        locked = _lock(actor, ledger)
        with services.rows_held(locked):
            plans = _run(actor=actor, ledger=ledger, department=department, file_name=file_name, locked=locked)
            result = ImportResult(department=department, rows=plans, applied=False, digest=ledger.digest)
            if apply and result.ok and result.changed:
                audit.record(
                    AuditAction.LEDGER_IMPORTED,
                    actor=actor,
                    after={
                        "department": department.code,
                        "file_name": file_name,
                        "file_digest": ledger.digest,
                        "rows": [p.row for p in result.changed],
                        "skipped": [p.row for p in result.skipped],
                    },
                )
                result.applied = True
            else:
                # A preview, or a ledger with a refused row: nothing of this run stays.
                transaction.set_rollback(True)
    return result


def _lock(actor: User, ledger: Ledger) -> dict[int, Obligation]:
    """The ledger's obligations the actor sees, locked in id order for the whole run: the versions
    checked are the versions written over."""
    ids = {r.obligation_id for r in ledger.rows if r.obligation_id is not None}
    visible = Obligation.objects.visible_to(actor).filter(pk__in=ids).values("pk")
    return {
        o.pk: o
        for o in Obligation.objects.select_for_update(of=("self",))
        .filter(pk__in=visible)
        .select_related(*services.FRESH_RELATED)
        .order_by("pk")
    }


def _run(
    *, actor: User, ledger: Ledger, department: Department, file_name: str, locked: dict[int, Obligation]
) -> list[RowPlan]:
    ids = {r.obligation_id for r in ledger.rows if r.obligation_id is not None}
    keys = {r.key(): r for r in ledger.rows if not r.errors}
    done = dict(
        AuditEntry.objects.filter(
            action=AuditAction.LEDGER_ROW_IMPORTED, obligation_id__in=ids, after__ledger_key__in=list(keys)
        ).values_list("after__ledger_key", "at")
    )
    plans, seen = [], set()
    for row in ledger.rows:
        plan = RowPlan(row=row.row, obligation_id=row.obligation_id, errors=list(row.errors))
        plans.append(plan)
        obligation = locked.get(row.obligation_id)
        if obligation is None and row.obligation_id is not None:
            plan.errors.append(RowError(row.row, ID.header, f"义务编号 {row.obligation_id} 不存在或您无权查看"))
        if obligation is not None:
            plan.citation = obligation.clause.citation
            if obligation.department_id != department.pk:
                plan.errors.append(
                    RowError(
                        row.row, ID.header, f"义务编号 {row.obligation_id} 不属于{department.name}，不能在本台账中填报"
                    )
                )
            if row.obligation_id in seen:
                plan.errors.append(RowError(row.row, ID.header, f"义务编号 {row.obligation_id} 在台账中出现了不止一次"))
        seen.add(row.obligation_id)
        if plan.errors:
            continue
        key = row.key()
        if key in done:
            plan.skipped = f"已于 {timezone.localtime(done[key]):%Y-%m-%d %H:%M} 导入，不再重复记录"
            continue
        if row.version != obligation.version:
            plan.errors.append(RowError(row.row, VERSION.header, stale_message(obligation, row.version)))
            continue
        # No savepoint per row: a refused row refuses the whole ledger (ledger_plan rolls it all
        # back), and each service undoes its own half-done write. What a refused row wrote before
        # its refusal touches only its own obligation, which no other row of the ledger may name.
        try:
            plan.changes = _apply_row(actor=actor, row=row, obligation=obligation, key=key, file_name=file_name)
        except _RowFailed as failed:
            plan.errors.append(failed.error)
    return plans


def stale_message(obligation: Obligation, exported_version: int | None) -> str:
    """What changed since the export, as one statement: the changes themselves, no advice."""
    changes = selectors.changes_since(obligation, exported_version)
    return "导出后已变更：" + "；".join(changes) if changes else "导出后已变更"


def _step(row: LedgerRow, column: Column, what: str, call: Callable[[], object]) -> None:
    try:
        call()
    except NotAllowed:
        raise _RowFailed(RowError(row.row, column.header, f"您无权{what}")) from None
    except ServiceError as exc:
        raise _RowFailed(RowError(row.row, _column_of(exc, column), exc.message)) from None


def _apply_row(*, actor: User, row: LedgerRow, obligation: Obligation, key: str, file_name: str) -> list[str]:
    """One row through the services, in the order the obligation page would take them: evidence
    first (a submission needs it), then the progress entry, then the state."""
    changes, evidence_ids = [], []
    progress_id = None
    for line in row.evidence:
        is_link = line.lower().startswith(("http://", "https://"))
        kind = Evidence.Kind.LINK if is_link else Evidence.Kind.DOCUMENT

        def add(line=line, kind=kind):
            item = services.evidence_add(
                obligation=obligation,
                actor=actor,
                kind=kind,
                description=f"台账填报（第 {row.row} 行）",
                url=line if kind == Evidence.Kind.LINK else "",
                document_number=line if kind == Evidence.Kind.DOCUMENT else "",
            )
            evidence_ids.append(item.pk)

        _step(row, EVIDENCE, "为该义务提交佐证材料", add)
        changes.append(f"新增佐证（{'链接' if is_link else '发文字号'}）：{line}")
    if row.progress:

        def progress():
            nonlocal progress_id
            progress_id = services.progress_add(
                obligation=obligation, actor=actor, text=row.progress, percent=row.percent
            ).pk

        _step(row, PROGRESS, "填报该义务的工作进展", progress)
        percent = f"（完成比例 {row.percent}%）" if row.percent is not None else ""
        changes.append(f"新增工作进展{percent}：{row.progress}")
    if row.status_request:
        action = STATUS_REQUESTS[row.status_request]
        before = obligation.get_status_display()

        def transition():
            nonlocal obligation
            obligation = services.obligation_transition(
                obligation=obligation, actor=actor, action=action, expected_version=row.version
            )

        _step(row, REQUEST, services.TRANSITION_LABELS[action] + "该义务", transition)
        changes.append(f"状态：{before} → {obligation.get_status_display()}")
    audit.record(
        AuditAction.LEDGER_ROW_IMPORTED,
        obligation=obligation,
        actor=actor,
        after={
            "ledger_key": key,
            "row": row.row,
            "file_name": file_name,
            "version": row.version,
            "progress_id": progress_id,
            "evidence_ids": evidence_ids,
            "status_request": row.status_request,
        },
    )
    return changes
