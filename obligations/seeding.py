"""Seed the work from the law: one obligation per body a duty names, kept in step with the text.

`import_regulation` stores the text through regulations.importing and then creates, restores or
supersedes obligations clause by clause. Running it again on the same text changes nothing; an
obligation is never deleted (each has its place in the audit trail) but marked superseded.
"""

from django.db import transaction

from core import clock
from regulations import importing
from regulations.importing import ImportReport
from regulations.models import Clause

from . import audit
from .audit import AuditAction
from .models import Obligation


def _has_history(obligation: Obligation) -> bool:
    return (
        obligation.status != Obligation.Status.NOT_STARTED
        or obligation.due_date is not None
        or obligation.progress_entries.exists()
        or obligation.evidence.exists()
        or obligation.milestones.exists()
    )


@transaction.atomic
def import_regulation(text: str, *, code: str, actor=None) -> ImportReport:
    report = importing.import_text(text, code=code)
    now = clock.now()
    for synced in report.clauses:
        _sync_obligations(synced.clause, synced.responsible, synced.cooperating, now, report, actor)
    for clause in report.dropped:
        _sync_obligations(clause, [], [], now, report, actor)
    importing.forget(report, [c for c in report.dropped if not c.obligations.exists()])
    return report


def _sync_obligations(clause: Clause, responsible: list, cooperating: list, now, report: ImportReport, actor) -> None:
    current = {o.department_id: o for o in clause.obligations.all()}
    for dept in responsible:
        obligation = current.pop(dept.id, None)
        if obligation is None:
            obligation = Obligation.objects.create(clause=clause, department=dept)
            obligation.cooperating.set(cooperating)
            audit.record(
                AuditAction.OBLIGATION_CREATED, obligation=obligation, actor=actor, after={"department": dept.code}
            )
            report.obligations_created += 1
        elif obligation.superseded_at is not None:
            obligation.superseded_at = None
            obligation.superseded_reason = ""
            obligation.save(update_fields=["superseded_at", "superseded_reason", "updated_at"])
            audit.record(AuditAction.OBLIGATION_RESTORED, obligation=obligation, actor=actor)
    for obligation in current.values():
        if obligation.superseded_at is not None:
            continue
        # Obligations are never deleted: each already has its place in the audit trail.
        touched = _has_history(obligation)
        obligation.superseded_at = now
        still_in_text = clause.superseded_at is None and responsible
        obligation.superseded_reason = "法规修订后该条款不再适用于本单位" if still_in_text else "法规修订后该条款已删除"
        obligation.save(update_fields=["superseded_at", "superseded_reason", "updated_at"])
        audit.record(
            AuditAction.OBLIGATION_SUPERSEDED,
            obligation=obligation,
            actor=actor,
            after={"reason": obligation.superseded_reason},
        )
        if touched:
            report.superseded.append(f"{obligation.citation} · {obligation.department.short_name}")
