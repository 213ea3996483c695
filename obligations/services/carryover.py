"""Carrying obligations over to a regulation's new version, clause by clause (the mechanics of
an amendment; the lead's decision, its timing and its withdrawal are services.amendments).

`carry_over` imports the amended text as the regulation's next version (regulations.importing.
import_amendment: the old clauses keep their words) and, for each duty of the old text, does what
its lineage (regulations.lineage) says, step by step as `plan` lists them:

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
hear of it, an event (Event.AMENDED), attributed to the lead who confirmed the amendment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core import clock
from regulations import importing
from regulations.lineage import CHANGED_WORDS, NEW, REPEALED, SPLIT, Lineage, Link
from regulations.models import Amendment, Clause, Regulation, RegulationVersion

from .. import audit
from ..audit import AuditAction
from ..models import Carryover, Obligation
from ..outbox import Event, outbox_write
from .locking import update_row

Outcome = Carryover.Outcome
REASON_REPEALED = "法规修订删除了该条款（{version}，自{effective}起施行）"
REASON_RELEASED = "法规修订后该条款不再由本单位承担（{version}）"
REASON_MERGED = "法规修订将该条款并入{citation}（{version}）"


@dataclass
class AmendmentResult:
    regulation: Regulation
    version: RegulationVersion | None  # None while the amendment waits for its effective date
    lineage: Lineage
    report: importing.ImportReport | None
    outcomes: dict[str, int] = field(default_factory=dict)
    amendment: Amendment | None = None
    pending: bool = False  # confirmed before its effective date: nothing carried over yet

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


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
        self.carryovers: list[Carryover] = []

    def flush(self) -> None:
        Carryover.objects.bulk_create(self.carryovers, batch_size=1000)
        self.carryovers = []

    # --- the rows ---------------------------------------------------------------------------

    def _record(self, obligation, old: Clause | None, new: Clause | None, link: Link, outcome: str, reason=""):
        # Written together at the end (`flush`): one INSERT per thousand rows, not one per obligation.
        self.carryovers.append(
            Carryover(
                version=self.version,
                obligation=obligation,
                old_clause=old,
                new_clause=new,
                lineage=link.kind,
                outcome=outcome,
                effective_on=self.effective,
                reason=reason,
            )
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
        update_row(obligation, obligation.version, reread=False, **fields)
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
        update_row(obligation, obligation.version, reread=False, status=Obligation.Status.REPEALED, review_since=None)
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
        update_row(
            obligation, obligation.version, reread=False, superseded_at=clock.now(), superseded_reason=reason[:200]
        )
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


def live_obligations_on(clause_ids) -> dict[Any, list[Obligation]]:
    """The obligations still at work on each of these clauses, each clause's in registry order
    (one query for the whole regulation, not one per clause)."""
    live: dict[Any, list[Obligation]] = {}
    for obligation in (
        Obligation.objects.filter(clause_id__in=clause_ids, superseded_at__isnull=True)
        .exclude(status__in=Obligation.ENDED_STATUSES)
        .select_related("department")
        .order_by("department__sort_order", "id")
    ):
        live.setdefault(obligation.clause_id, []).append(obligation)
    return live


def live_of(links: list[Link]) -> Callable:
    """`plan`'s `live`: every old duty's obligations at work, read in one query for all the links."""
    live_on = live_obligations_on([link.old.key for link in links if link.old is not None])
    return lambda old: live_on.get(old, [])


# --- the plan: what the lineage does to each obligation, before anything is written -------------

CARRY, REPEAL, RELEASE, MERGE, ASSIGN = "carry", "repeal", "release", "merge", "assign"


@dataclass
class Step:
    """One thing the amendment does: to an obligation of an old duty, or (ASSIGN) for a body a new
    duty names. `old` and `new` are the lineage's keys (clause ids once the text is stored)."""

    action: str
    link: Link
    old: Any
    new: Any
    obligation: Obligation | None = None
    department: Any = None

    @property
    def outcome(self) -> str:
        if self.action == CARRY:
            return Outcome.REVIEW if self.link.kind in CHANGED_WORDS else Outcome.KEPT
        return {REPEAL: Outcome.REPEALED, RELEASE: Outcome.RELEASED, MERGE: Outcome.MERGED_AWAY}.get(
            self.action, Outcome.ASSIGNED
        )

    @property
    def tells_the_body(self) -> bool:
        """Whether the body hears of it: all but a duty kept word for word under its old number."""
        if self.action != CARRY or self.outcome == Outcome.REVIEW:
            return True
        return self.link.old.citation != self.link.new.citation


def plan(links: list[Link], *, live: Callable, bodies: Callable, taken: Callable = lambda new, body: False):
    """The steps, in the order they are taken. `live(old)` the old duty's obligations still at
    work, `bodies(new)` the bodies a new duty names, `taken(new, body)` whether that body already
    has an obligation on it."""
    steps: list[Step] = []
    placed: set = set()  # (new duty, body) with its obligation
    by_old: dict[Any, list[Link]] = {}
    for link in links:
        if link.old is not None:
            by_old.setdefault(link.old.key, []).append(link)
    for old, old_links in by_old.items():
        obligations = live(old)
        if not obligations:
            continue
        if old_links[0].kind == REPEALED:
            steps += [Step(REPEAL, old_links[0], old, None, obligation) for obligation in obligations]
            continue
        # A split: the part closest to the old words keeps the obligation; the others are assigned below.
        primary = max(old_links, key=lambda link: link.score) if old_links[0].kind == SPLIT else old_links[0]
        new = primary.new.key
        wanted = {d.pk for d in bodies(new)}
        for obligation in obligations:
            if obligation.department_id not in wanted:
                steps.append(Step(RELEASE, primary, old, new, obligation))
            elif (new, obligation.department_id) in placed:
                steps.append(Step(MERGE, primary, old, new, obligation))
            else:
                steps.append(Step(CARRY, primary, old, new, obligation))
                placed.add((new, obligation.department_id))
    # Every body each new duty names has its obligation: new duties, further parts of a split,
    # bodies the new words add.
    for link in links:
        if link.new is None:
            continue
        new = link.new.key
        old = link.old.key if link.old is not None and link.kind != NEW else None
        for department in bodies(new):
            if (new, department.pk) in placed or taken(new, department):
                continue
            steps.append(Step(ASSIGN, link, old, new, department=department))
            placed.add((new, department.pk))
    return steps


def carry_over(amendment: Amendment) -> AmendmentResult:
    """Import the amendment's text as the next version and take every step of its plan."""
    regulation = amendment.regulation
    # The lead's 通过/公布 dates, where given, override the text's (passed only then).
    dates = {k: getattr(amendment, k) for k in ("adopted_on", "promulgated_on") if getattr(amendment, k)}
    report = importing.import_amendment(
        amendment.source_text,
        regulation=regulation,
        effective=amendment.effective_on,
        kind=amendment.kind,
        corrections=[tuple(c) for c in amendment.corrections] or None,
        **dates,
    )
    result = AmendmentResult(
        regulation=report.regulation,
        version=report.version,
        lineage=report.lineage,
        report=report,
        amendment=amendment,
    )
    actor = amendment.confirmed_by
    carrier = _Carrier(result, actor, amendment.effective_on)
    clauses = {c.pk: c for c in report.old_clauses}
    clauses.update({s.clause.pk: s.clause for s in report.clauses})
    steps = plan(
        report.lineage.links,
        live=live_of(report.lineage.links),
        bodies=lambda new: _bodies(carrier, clauses[new]),
        taken=lambda new, body: clauses[new].obligations.filter(department=body).exists(),
    )
    # Thousands of audit entries in one all-or-nothing transaction: the chain is held once.
    with transaction.atomic(), audit.chain_held():
        for step in steps:
            old = clauses[step.old] if step.old is not None else None
            new = clauses[step.new] if step.new is not None else None
            if step.action == REPEAL:
                carrier.repeal(step.obligation, old, step.link)
            elif step.action == RELEASE:
                reason = REASON_RELEASED.format(version=result.version.label)
                carrier.end(step.obligation, old, new, step.link, Outcome.RELEASED, reason)
            elif step.action == MERGE:
                reason = REASON_MERGED.format(citation=new.citation, version=result.version.label)
                carrier.end(step.obligation, old, new, step.link, Outcome.MERGED_AWAY, reason)
            elif step.action == CARRY:
                carrier.carry(step.obligation, old, new, step.link)
            else:
                carrier.assign(new, step.department, step.link, old)

        carrier.flush()
        amendment.state = Amendment.State.APPLIED
        amendment.applied_at = clock.now()
        amendment.version = result.version
        amendment.save(update_fields=["state", "applied_at", "version"])
        audit.record(
            AuditAction.REGULATION_AMENDED,
            actor=actor,
            after={
                "regulation": result.regulation.code,
                "title": result.regulation.title,
                "version": result.version.number,
                "kind": result.version.kind,
                "effective": amendment.effective_on.isoformat(),
                "source_sha256": result.version.source_sha256,
                "adopted": result.version.adopted_on.isoformat() if result.version.adopted_on else None,
                "promulgated": result.version.promulgated_on.isoformat() if result.version.promulgated_on else None,
                "lineage": result.lineage.counts(),
                "corrections": [list(c) for c in amendment.corrections],
                "outcomes": result.outcomes,
                "amendment": amendment.pk,
                "confirmed_at": amendment.confirmed_at.isoformat(),
            },
        )
    return result


# --- the lead's decision -------------------------------------------------------------------------


def _bodies(carrier: _Carrier, clause: Clause) -> list:
    synced = carrier.synced.get(clause.pk)
    return list(synced.responsible) if synced is not None else []
