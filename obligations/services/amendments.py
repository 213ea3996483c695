"""Amendments: a new version of a regulation carries every obligation over, clause by clause.

`regulation_amend` imports the amended text as the regulation's next version (regulations.
importing.import_amendment: the old clauses keep their words) and, for each duty of the old text,
does what its lineage (regulations.lineage) says:

- unchanged, moved: the obligation keeps its state and history; its clause becomes the new one and
  the old one stays visible (`Obligation.former_clause`: 原第十条第二款);
- reworded, split, merged: the obligation keeps its state and history and goes back to its body
  for review (待复核, `review_since`); a verified one stays verified until the lead reopens it or the
  body confirms; the body confirms (`obligation_review_confirm`) or objects (services.assignment);
  the further parts of a split become obligations of their own, and where several duties of one
  body merge into one, the others end as 并入 (superseded);
- new: new obligations; repealed: the obligations end as 已废止 with the reason and keep their
  history (never overdue, not in the on-time rate: obligations.models.open_q);
- a body the new words add is assigned, a body they drop is released, like a reassignment.

Every change writes its audit entry, a Carryover row (the 修订对照表) and, where the body must
hear of it, an event (Event.AMENDED).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core import clock
from core.errors import InvalidTransition, NotAllowed
from regulations import importing
from regulations.lineage import CHANGED_WORDS, NEW, REPEALED, SPLIT, Lineage, Link
from regulations.models import Clause, Regulation, RegulationVersion

from .. import audit
from ..audit import AuditAction
from ..models import Carryover, Obligation
from ..outbox import Event, in_bulk, outbox_write
from ..permissions import Action, can
from .locking import check_version, fresh_obligation, update_row

Outcome = Carryover.Outcome
REASON_REPEALED = "法规修订删除了该条款（{version}，自{effective}起施行）"
REASON_RELEASED = "法规修订后该条款不再由本单位承担（{version}）"
REASON_MERGED = "法规修订将该条款并入{citation}（{version}）"


@dataclass
class AmendmentResult:
    regulation: Regulation
    version: RegulationVersion
    lineage: Lineage
    report: importing.ImportReport
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def _require_lead(actor: User | None) -> None:
    """The lead or the admin amends; a command run by the operator has no actor."""
    if actor is not None and not (actor.is_admin_role or actor.is_lead):
        raise NotAllowed("只有牵头部门或系统管理员可以导入法规修订")


def find_regulation(title_or_id: str) -> Regulation | None:
    """The regulation an --amends names: its id, code or title (with or without 《》)."""
    value = (title_or_id or "").strip().strip("《》")
    if value.isdigit():
        found = Regulation.objects.filter(pk=int(value)).first()
        if found:
            return found
    return Regulation.objects.filter(code=value).first() or Regulation.objects.filter(title=value).first()


class _Carrier:
    """One amendment's writes, with what they share (the actor, the version, the moment)."""

    def __init__(self, result: AmendmentResult, actor: User | None, effective: dt.date):
        self.result = result
        self.actor = actor
        self.version = result.version
        self.effective = effective
        now = clock.now()
        start = timezone.make_aware(dt.datetime.combine(effective, dt.time.min))
        # A duty the amendment adds is not the body's before the text is in force.
        self.assigned_at = max(now, start)
        self.synced = {s.clause.pk: s for s in result.report.clauses}

    # --- the rows ---------------------------------------------------------------------------

    def _record(self, obligation, old: Clause | None, new: Clause | None, link: Link, outcome: str, reason=""):
        Carryover.objects.create(
            version=self.version,
            obligation=obligation,
            old_clause=old,
            new_clause=new,
            lineage=link.kind,
            outcome=outcome,
            effective_on=self.effective,
            reason=reason,
        )
        self.result.count(outcome)

    def _event(self, obligation, outcome: str, old: Clause | None, new: Clause | None, link: Link, reason=""):
        outbox_write(
            event=Event.AMENDED,
            obligation=obligation,
            actor=self.actor,
            payload={
                "outcome": outcome,
                "lineage": link.kind,
                "old_citation": old.citation if old else "",
                "new_citation": new.citation if new else "",
                "version": self.version.label,
                "effective": self.effective.isoformat(),
                "reason": reason,
            },
        )

    def _after(self, new: Clause | None, link: Link, **extra) -> dict:
        return {
            "clause": new.pk if new else None,
            "citation": new.citation if new else "",
            "text": new.text if new else "",
            "lineage": link.kind,
            "regulation_version": self.version.number,
            "effective": self.effective.isoformat(),
            **extra,
        }

    # --- what happens to an obligation --------------------------------------------------------

    def carry(self, obligation: Obligation, old: Clause, new: Clause, link: Link) -> None:
        review = link.kind in CHANGED_WORDS
        fields: dict[str, Any] = {"clause": new, "former_clause": old}
        if review:
            fields["review_since"] = clock.now()
        update_row(obligation, obligation.version, **fields)
        audit.record(
            AuditAction.OBLIGATION_CARRIED,
            obligation=obligation,
            actor=self.actor,
            before={"clause": old.pk, "citation": old.citation, "text": old.text},
            after=self._after(new, link, review=review),
        )
        outcome = Outcome.REVIEW if review else Outcome.KEPT
        self._record(obligation, old, new, link, outcome)
        if review or old.citation != new.citation:
            self._event(obligation, outcome, old, new, link)

    def repeal(self, obligation: Obligation, old: Clause, link: Link) -> None:
        reason = REASON_REPEALED.format(version=self.version.label, effective=f"{self.effective:%Y年%m月%d日}")
        before = obligation.status
        update_row(obligation, obligation.version, status=Obligation.Status.REPEALED, review_since=None)
        audit.record(
            AuditAction.OBLIGATION_STATUS,
            obligation=obligation,
            actor=self.actor,
            before={"status": before},
            after={"status": Obligation.Status.REPEALED, "reason": reason, **self._after(None, link)},
        )
        self._record(obligation, old, None, link, Outcome.REPEALED, reason)
        self._event(obligation, Outcome.REPEALED, old, None, link, reason)

    def end(self, obligation: Obligation, old: Clause, new: Clause | None, link: Link, outcome: str, reason: str):
        """Release a body the new words drop, or end a duplicate a merger leaves (superseded)."""
        update_row(obligation, obligation.version, superseded_at=clock.now(), superseded_reason=reason[:200])
        audit.record(
            AuditAction.OBLIGATION_SUPERSEDED,
            obligation=obligation,
            actor=self.actor,
            after={"reason": reason, **self._after(new, link)},
        )
        self._record(obligation, old, new, link, outcome, reason)
        self._event(obligation, outcome, old, new, link, reason)

    def assign(self, new: Clause, department, link: Link, old: Clause | None) -> Obligation:
        obligation = Obligation.objects.create(
            clause=new,
            department=department,
            former_clause=old,
            created_at=self.assigned_at,
        )
        synced = self.synced.get(new.pk)
        if synced is not None:
            obligation.cooperating.set(synced.cooperating)
        audit.record(
            AuditAction.OBLIGATION_CREATED,
            obligation=obligation,
            actor=self.actor,
            after={"department": department.code, **self._after(new, link)},
        )
        self._record(obligation, old, new, link, Outcome.ASSIGNED)
        self._event(obligation, Outcome.ASSIGNED, old, new, link)
        self.result.report.obligations_created += 1
        return obligation


def _live(clause: Clause) -> list[Obligation]:
    return list(
        clause.obligations.filter(superseded_at__isnull=True)
        .exclude(status__in=Obligation.ENDED_STATUSES)
        .select_related("department")
        .order_by("department__sort_order", "id")
    )


@in_bulk()  # an event per obligation carried over: delivered by one sweep, not ahead of decisions
@transaction.atomic
def regulation_amend(
    *,
    regulation: Regulation,
    text: str,
    effective: dt.date,
    actor: User | None,
    kind: str = RegulationVersion.Kind.AMENDED,
    corrections: list[tuple] | None = None,
) -> AmendmentResult:
    """Import `text` as the next version of `regulation`, in force from `effective`, and carry
    every obligation over. `corrections` are the lead's: (kind, old ref, new ref) links that replace
    the matcher's for those duties (regulations.lineage.correct). All or nothing: any refusal
    leaves the database as it was."""
    _require_lead(actor)
    report = importing.import_amendment(
        text, regulation=regulation, effective=effective, kind=kind, corrections=corrections
    )
    result = AmendmentResult(
        regulation=report.regulation, version=report.version, lineage=report.lineage, report=report
    )
    carrier = _Carrier(result, actor, effective)
    clauses = {c.pk: c for c in report.old_clauses}
    clauses.update({s.clause.pk: s.clause for s in report.clauses})

    # Each old duty's obligations, per body.
    placed: dict[tuple[int, int], Obligation] = {}  # (new clause, body) -> obligation on it
    by_old: dict[int, list[Link]] = {}
    for link in report.lineage.links:
        if link.old is not None:
            by_old.setdefault(link.old.key, []).append(link)
    for old_id, links in by_old.items():
        old = clauses[old_id]
        live = _live(old)
        if not live:
            continue
        if links[0].kind == REPEALED:
            for obligation in live:
                carrier.repeal(obligation, old, links[0])
            continue
        # A split: the part closest to the old words keeps the obligation; the others are assigned below.
        primary = max(links, key=lambda link: link.score) if links[0].kind == SPLIT else links[0]
        new = clauses[primary.new.key]
        wanted = {d.pk for d in _bodies(carrier, new)}
        for obligation in live:
            if obligation.department_id not in wanted:
                reason = REASON_RELEASED.format(version=result.version.label)
                carrier.end(obligation, old, new, primary, Outcome.RELEASED, reason)
            elif (new.pk, obligation.department_id) in placed:
                reason = REASON_MERGED.format(citation=new.citation, version=result.version.label)
                carrier.end(obligation, old, new, primary, Outcome.MERGED_AWAY, reason)
            else:
                carrier.carry(obligation, old, new, primary)
                placed[(new.pk, obligation.department_id)] = obligation

    # Every body each new duty names has its obligation: new duties, further parts of a split,
    # bodies the new words add.
    for link in report.lineage.links:
        if link.new is None:
            continue
        new = clauses[link.new.key]
        old = clauses[link.old.key] if link.old is not None and link.kind != NEW else None
        for department in _bodies(carrier, new):
            if (new.pk, department.pk) in placed or new.obligations.filter(department=department).exists():
                continue
            placed[(new.pk, department.pk)] = carrier.assign(new, department, link, old)

    audit.record(
        AuditAction.REGULATION_AMENDED,
        actor=actor,
        after={
            "regulation": result.regulation.code,
            "title": result.regulation.title,
            "version": result.version.number,
            "kind": result.version.kind,
            "effective": effective.isoformat(),
            "source_sha256": result.version.source_sha256,
            "lineage": result.lineage.counts(),
            "corrections": [list(c) for c in corrections or []],
            "outcomes": result.outcomes,
        },
    )
    return result


def _bodies(carrier: _Carrier, clause: Clause) -> list:
    synced = carrier.synced.get(clause.pk)
    return list(synced.responsible) if synced is not None else []


@transaction.atomic
def obligation_review_confirm(*, obligation: Obligation, actor: User, expected_version: Any) -> Obligation:
    """The body (or the lead) confirms the duty's new words: 待复核 ends; the work goes on."""
    obligation = fresh_obligation(obligation)
    if not (can(actor, Action.OBJECT, obligation) or can(actor, Action.REOPEN, obligation)):
        raise NotAllowed()
    check_version(obligation, expected_version)
    if obligation.review_since is None:
        raise InvalidTransition("该义务没有待复核的条文修改", code="no_review")
    update_row(obligation, expected_version, review_since=None)
    audit.record(
        AuditAction.OBLIGATION_REVIEWED,
        obligation=obligation,
        actor=actor,
        before={"review": True},
        after={"review": False, "citation": obligation.citation},
    )
    return obligation
