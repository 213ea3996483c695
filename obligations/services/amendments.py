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
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Department, User
from core import clock
from core.errors import InvalidTransition, NotAllowed
from regulations import importing
from regulations.lineage import CHANGED_WORDS, NEW, REPEALED, SPLIT, Lineage, Link
from regulations.models import Amendment, Clause, Regulation, RegulationVersion

from .. import audit
from ..audit import AuditAction
from ..models import Carryover, Obligation
from ..outbox import Event, outbox_write
from ..permissions import Action, can
from .locking import check_version, fresh_obligation, update_row

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


def _live(clause_id) -> list[Obligation]:
    return list(
        Obligation.objects.filter(clause_id=clause_id, superseded_at__isnull=True)
        .exclude(status__in=Obligation.ENDED_STATUSES)
        .select_related("department")
        .order_by("department__sort_order", "id")
    )


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


def _carry_over(amendment: Amendment) -> AmendmentResult:
    """Import the amendment's text as the next version and take every step of its plan."""
    regulation = amendment.regulation
    report = importing.import_amendment(
        amendment.source_text,
        regulation=regulation,
        effective=amendment.effective_on,
        kind=amendment.kind,
        corrections=[tuple(c) for c in amendment.corrections] or None,
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
        live=_live,
        bodies=lambda new: _bodies(carrier, clauses[new]),
        taken=lambda new, body: clauses[new].obligations.filter(department=body).exists(),
    )
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
            "lineage": result.lineage.counts(),
            "corrections": [list(c) for c in amendment.corrections],
            "outcomes": result.outcomes,
            "amendment": amendment.pk,
            "confirmed_at": amendment.confirmed_at.isoformat(),
        },
    )
    return result


# --- the lead's decision -------------------------------------------------------------------------


def cn_date(day: dt.date) -> str:
    """2026年6月1日, as the notices and pages write a day."""
    return f"{day.year}年{day.month}月{day.day}日"


def msg_pending(amendment: Amendment) -> str:
    return (
        f"《{amendment.regulation.title}》已有一项待生效的{amendment.get_kind_display()}"
        f"（自{cn_date(amendment.effective_on)}起施行），请待其生效或撤回后再导入新的修订文本"
    )


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
    """The lead confirms `text` as the next version of `regulation`, in force from `effective`.

    On or after the effective date (Asia/Shanghai) every obligation is carried over at once. Before
    it, the amendment waits (`result.pending`, `result.version` None): nothing of the obligations
    changes, the bodies concerned are told what will happen on that day, and the beat task
    (`amendments_apply_due`) carries them over then. `corrections` are the lead's: (kind, old ref,
    new ref) links that replace the matcher's for those duties (regulations.lineage.correct). All or
    nothing: any refusal leaves the database as it was. While one amendment of the regulation
    waits, another is refused."""
    _require_lead(actor)
    # One decision at a time per regulation: two leads confirming at once queue here.
    regulation = Regulation.objects.select_for_update().get(pk=regulation.pk)
    waiting = Amendment.objects.filter(regulation=regulation, state=Amendment.State.PENDING).first()
    if waiting is not None:
        raise InvalidTransition(msg_pending(waiting), code="amendment_pending")
    corrections = [list(c) for c in corrections or []]
    if effective > clock.today():
        return _schedule(regulation, text, effective, actor, kind, corrections)
    amendment = Amendment.objects.create(
        regulation=regulation,
        kind=kind,
        source_text=text,
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        effective_on=effective,
        corrections=corrections,
        confirmed_by=actor,
    )
    return _carry_over(amendment)


def _schedule(regulation, text, effective, actor, kind, corrections) -> AmendmentResult:
    """Record the amendment as pending (待生效) with what it will do, and tell the bodies concerned."""
    parsed, extracted, lineage = importing.preview_amendment(
        text, regulation=regulation, corrections=[tuple(c) for c in corrections] or None
    )
    depts = {d.code: d for d in Department.objects.all()}
    named = {
        (c.article, c.paragraph, c.ordinal): [depts[code] for code in c.departments if code in depts]
        for c in extracted
        if c.kind == Clause.Kind.DUTY
    }
    steps = plan(lineage.links, live=_live, bodies=lambda new: named.get(new, []))
    adopted, _ = importing.dates_of(parsed)
    label = RegulationVersion(
        number=(regulation.versions.count() or 1) + 1, kind=kind, adopted_on=adopted, effective_on=effective
    ).label
    amendment = Amendment.objects.create(
        regulation=regulation,
        kind=kind,
        source_text=text,
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        effective_on=effective,
        corrections=corrections,
        confirmed_by=actor,
        plan=_plan_json(steps, label),
    )
    audit.record(
        AuditAction.AMENDMENT_SCHEDULED,
        actor=actor,
        after={
            "regulation": regulation.code,
            "title": parsed.title,
            "amendment": amendment.pk,
            "kind": kind,
            "effective": effective.isoformat(),
            "source_sha256": amendment.source_sha256,
            "lineage": lineage.counts(),
            "corrections": corrections,
            "outcomes": amendment.plan["counts"],
        },
    )
    for step in steps:
        if step.obligation is not None and step.tells_the_body:
            _tell(step.obligation, actor, amendment, "pending", step.outcome, step.link)
    result = AmendmentResult(
        regulation=regulation, version=None, lineage=lineage, report=None, amendment=amendment, pending=True
    )
    result.outcomes = dict(amendment.plan["counts"])
    return result


def _plan_json(steps: list[Step], label: str) -> dict:
    """What the pages show while the amendment waits: each obligation's fate, the new duties."""
    obligations, assigned, counts = {}, [], {}
    for step in steps:
        counts[step.outcome] = counts.get(step.outcome, 0) + 1
        old = step.link.old.citation if step.link.old is not None and step.old is not None else ""
        new = step.link.new.citation if step.link.new is not None and step.new is not None else ""
        if step.obligation is not None:
            obligations[str(step.obligation.pk)] = {
                "outcome": step.outcome,
                "lineage": step.link.kind,
                "old": old,
                "new": new,
                "tell": step.tells_the_body,
            }
        else:
            assigned.append({"department": step.department.code, "name": step.department.short_name, "new": new})
    return {"version": label, "obligations": obligations, "assigned": assigned, "counts": counts}


def _tell(obligation: Obligation, actor, amendment: Amendment, stage: str, outcome: str, link: Link | None = None):
    """The heads-up (stage "pending") or the all-clear (stage "withdrawn") to the obligation's body."""
    entry = amendment.plan.get("obligations", {}).get(str(obligation.pk), {})
    outbox_write(
        event=Event.AMENDED,
        obligation=obligation,
        actor=actor,
        payload={
            "stage": stage,
            "outcome": outcome,
            "lineage": link.kind if link else entry.get("lineage", ""),
            "old_citation": link.old.citation if link and link.old else entry.get("old", ""),
            "new_citation": link.new.citation if link and link.new else entry.get("new", ""),
            "version": amendment.plan.get("version", ""),
            "kind": amendment.get_kind_display(),
            "effective": amendment.effective_on.isoformat(),
            "amendment": amendment.pk,
            "reason": amendment.withdraw_reason if stage == "withdrawn" else "",
        },
    )


# --- on the effective date -----------------------------------------------------------------------


def amendment_apply(*, amendment_id: int) -> AmendmentResult | None:
    """Carry a pending amendment over, once: the row is locked and its state read under the lock,
    so a second worker (or the operator's command) running at the same moment waits, then finds
    it applied and does nothing. None if it was not pending or is not due yet."""
    with transaction.atomic():
        amendment = Amendment.objects.select_for_update().filter(pk=amendment_id).order_by().first()
        if amendment is None or not amendment.is_pending or amendment.effective_on > clock.today():
            return None
        return _carry_over(amendment)


def amendments_apply_due() -> list[AmendmentResult]:
    """Every pending amendment whose effective date has come (Asia/Shanghai), each in its own
    transaction: one that fails (its text no longer matches, say) stays pending and the others go on."""
    due = Amendment.objects.filter(state=Amendment.State.PENDING, effective_on__lte=clock.today())
    results = []
    for amendment_id in due.order_by("effective_on", "id").values_list("pk", flat=True):
        result = amendment_apply(amendment_id=amendment_id)
        if result is not None:
            results.append(result)
    return results


@transaction.atomic
def amendment_withdraw(*, amendment: Amendment, actor: User, reason: str) -> Amendment:
    """The lead withdraws a pending amendment before it takes effect: nothing of it is applied, and
    every body that had been told what would happen hears that it will not."""
    _require_lead(actor)
    if actor is None:
        raise NotAllowed()
    amendment = Amendment.objects.select_for_update().order_by().get(pk=amendment.pk)
    if not amendment.is_pending:
        raise InvalidTransition(f"该修订{amendment.get_state_display()}，不能撤回", code="not_pending")
    if amendment.effective_on <= clock.today():
        raise InvalidTransition("该修订已到施行日期，正在结转，不能撤回", code="already_effective")
    amendment.state = Amendment.State.WITHDRAWN
    amendment.withdrawn_by = actor
    amendment.withdrawn_at = clock.now()
    amendment.withdraw_reason = reason
    amendment.save(update_fields=["state", "withdrawn_by", "withdrawn_at", "withdraw_reason"])
    audit.record(
        AuditAction.AMENDMENT_WITHDRAWN,
        actor=actor,
        before={"state": Amendment.State.PENDING},
        after={
            "state": Amendment.State.WITHDRAWN,
            "regulation": amendment.regulation.code,
            "amendment": amendment.pk,
            "effective": amendment.effective_on.isoformat(),
            "reason": reason,
        },
    )
    told = [int(pk) for pk, entry in amendment.plan.get("obligations", {}).items() if entry.get("tell")]
    for obligation in Obligation.objects.filter(pk__in=told).order_by("id"):
        _tell(obligation, actor, amendment, "withdrawn", amendment.plan["obligations"][str(obligation.pk)]["outcome"])
    return amendment


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
