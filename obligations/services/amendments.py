"""Amendments: the lead's decision to give a regulation a new version, and when it takes effect.

`regulation_amend` confirms an amended text. On or after its effective date (Asia/Shanghai) the
obligations are carried over at once (services.carryover). Before it, the amendment waits (待生效,
regulations.models.Amendment): the obligations keep their text, citation, status and bodies; the
pages say what will happen from that day (selectors.pending_change); the bodies concerned hear of
it now; and on the day the hourly beat task (or `manage.py apply_amendments`) carries them over,
exactly once, attributed to the lead's decision (`amendment_apply`). The lead may withdraw a
pending amendment before it takes effect (`amendment_withdraw`); while one waits, another for the
same regulation is refused. `obligation_review_confirm` ends a 待复核.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from django.db import transaction

from accounts.models import Department, User
from core import clock
from core.errors import InvalidTransition, NotAllowed
from regulations import importing
from regulations.lineage import Link
from regulations.models import Amendment, Clause, Regulation, RegulationVersion

from .. import audit
from ..audit import AuditAction
from ..models import Obligation
from ..outbox import Event, in_bulk, outbox_write
from ..permissions import Action, can
from .carryover import AmendmentResult, Step, carry_over, live_of, plan
from .locking import check_version, fresh_obligation, update_row

__all__ = ["AmendmentResult", "find_regulation", "regulation_amend", "amendment_apply", "amendment_withdraw"]
logger = logging.getLogger(__name__)


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


def cn_date(day: dt.date) -> str:
    """2026年6月1日, as the notices and pages write a day."""
    return f"{day.year}年{day.month}月{day.day}日"


def msg_pending(amendment: Amendment) -> str:
    return (
        f"《{amendment.regulation.title}》已有一项待生效的{amendment.get_kind_display()}"
        f"（自{cn_date(amendment.effective_on)}起施行），请待其生效或撤回后再导入新的修订文本"
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
    adopted_on: dt.date | None = None,
    promulgated_on: dt.date | None = None,
) -> AmendmentResult:
    """The lead confirms `text` as the next version of `regulation`, in force from `effective`.

    On or after the effective date (Asia/Shanghai) every obligation is carried over at once. Before
    it, the amendment waits (`result.pending`, `result.version` None): nothing of the obligations
    changes, the bodies concerned are told what will happen on that day, and the beat task
    (`amendments_apply_due`) carries them over then. `corrections` are the lead's: (kind, old ref,
    new ref) links that replace the matcher's for those duties (regulations.lineage.correct). All or
    nothing: any refusal leaves the database as it was. While one amendment of the regulation
    waits, another is refused. `adopted_on` / `promulgated_on` (通过/公布), when given, override the
    dates read from the text."""
    _require_lead(actor)
    # One decision at a time per regulation: two leads confirming at once queue here.
    regulation = Regulation.objects.select_for_update().get(pk=regulation.pk)
    waiting = Amendment.objects.filter(regulation=regulation, state=Amendment.State.PENDING).first()
    if waiting is not None:
        raise InvalidTransition(msg_pending(waiting), code="amendment_pending")
    decision = {
        "regulation": regulation,
        "kind": kind,
        "source_text": text,
        "source_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "effective_on": effective,
        "adopted_on": adopted_on,
        "promulgated_on": promulgated_on,
        "corrections": [list(c) for c in corrections or []],
        "confirmed_by": actor,
    }
    if effective > clock.today():
        return _schedule(decision)
    return carry_over(Amendment.objects.create(**decision))


def _schedule(decision: dict) -> AmendmentResult:
    """Record the amendment as pending (待生效) with what it will do, and tell the bodies concerned."""
    regulation, text, kind = decision["regulation"], decision["source_text"], decision["kind"]
    effective, actor, corrections = decision["effective_on"], decision["confirmed_by"], decision["corrections"]
    parsed, extracted, lineage = importing.preview_amendment(
        text, regulation=regulation, corrections=[tuple(c) for c in corrections] or None
    )
    depts = {d.code: d for d in Department.objects.all()}
    named = {
        (c.article, c.paragraph, c.ordinal): [depts[code] for code in c.departments if code in depts]
        for c in extracted
        if c.kind == Clause.Kind.DUTY
    }
    steps = plan(lineage.links, live=live_of(lineage.links), bodies=lambda new: named.get(new, []))
    adopted = decision["adopted_on"] or importing.dates_of(parsed)[0]
    label = RegulationVersion(
        number=(regulation.versions.count() or 1) + 1, kind=kind, adopted_on=adopted, effective_on=effective
    ).label
    amendment = Amendment.objects.create(**decision, plan=_plan_json(steps, label))
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
    # An event per obligation carried over: delivered by one sweep, not ahead of decisions.
    with in_bulk(), transaction.atomic():
        amendment = Amendment.objects.select_for_update().filter(pk=amendment_id).order_by().first()
        if amendment is None or not amendment.is_pending or amendment.effective_on > clock.today():
            return None
        return carry_over(amendment)


def amendments_apply_due() -> tuple[list[AmendmentResult], list[int]]:
    """Every pending amendment whose effective date has come (Asia/Shanghai), each in its own
    transaction: (the results, the ids of those that failed). One that fails stays pending, is
    logged with its traceback, and the others go on; the next run tries it again."""
    due = Amendment.objects.filter(state=Amendment.State.PENDING, effective_on__lte=clock.today())
    results, failed = [], []
    for amendment_id in due.order_by("effective_on", "id").values_list("pk", flat=True):
        try:
            result = amendment_apply(amendment_id=amendment_id)
        except Exception:
            logger.exception("amendment %s could not be carried over; it stays pending", amendment_id)
            failed.append(amendment_id)
            continue
        if result is not None:
            results.append(result)
    return results, failed


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
