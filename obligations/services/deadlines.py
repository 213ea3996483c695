"""Due dates and extensions: the lead sets a date, a body asks for more time, the lead decides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from core import clock
from core.clock import today
from core.errors import Conflict, InvalidTransition, invalid

from .. import audit
from ..audit import AuditAction
from ..models import DueDateChange, ExtensionRequest, Obligation
from ..outbox import Event, outbox_write
from ..permissions import Action
from .locking import check_version, clean_reason, fresh_obligation, iso_or_none, require, update_row


def _set_due_date(
    *, obligation: Obligation, actor: User, due_date: dt.date | None, reason: str, expected_version: Any
) -> Obligation:
    old = obligation.due_date
    if old == due_date:
        raise invalid("due_date", "新期限与当前期限相同")
    update_row(obligation, expected_version, due_date=due_date)
    DueDateChange.objects.create(
        obligation=obligation, old_date=old, new_date=due_date, reason=reason, changed_by=actor
    )
    audit.record(
        AuditAction.OBLIGATION_DUE_DATE,
        obligation=obligation,
        actor=actor,
        before={"due_date": old.isoformat() if old else None},
        after={"due_date": due_date.isoformat() if due_date else None, "reason": reason},
    )
    return obligation


@transaction.atomic
def obligation_set_due_date(
    *, obligation: Obligation, actor: User, due_date: dt.date | None, reason: str, expected_version: Any
) -> Obligation:
    obligation = fresh_obligation(obligation)
    require(actor, Action.SET_DUE_DATE, obligation)
    check_version(obligation, expected_version)
    reason = clean_reason(reason)
    old = obligation.due_date
    _set_due_date(
        obligation=obligation, actor=actor, due_date=due_date, reason=reason, expected_version=expected_version
    )
    outbox_write(
        event=Event.DUE_DATE,
        obligation=obligation,
        actor=actor,
        payload={"old_date": iso_or_none(old), "new_date": iso_or_none(due_date), "reason": reason},
    )
    return obligation


@transaction.atomic
def extension_request(*, obligation: Obligation, actor: User, requested_date: dt.date, reason: str) -> ExtensionRequest:
    obligation = fresh_obligation(obligation)
    require(actor, Action.REQUEST_EXTENSION, obligation)
    reason = clean_reason(reason)
    if obligation.status in Obligation.OFF_DESK_STATUSES:
        raise InvalidTransition(f"义务已{obligation.get_status_display()}，无需申请延期")
    if requested_date <= today():
        raise invalid("requested_date", "申请延至的日期应晚于今天")
    if obligation.due_date and requested_date <= obligation.due_date:
        raise invalid("requested_date", f"申请延至的日期应晚于当前期限 {obligation.due_date:%Y-%m-%d}")
    if obligation.extension_requests.filter(status=ExtensionRequest.Status.PENDING).exists():
        raise Conflict("已有一项待审批的延期申请，请等待审批结果", code="extension_pending")
    try:
        with transaction.atomic():
            request = ExtensionRequest.objects.create(
                obligation=obligation, requested_by=actor, requested_date=requested_date, reason=reason
            )
    except IntegrityError:
        raise Conflict("已有一项待审批的延期申请，请等待审批结果", code="extension_pending") from None
    audit.record(
        AuditAction.EXTENSION_REQUESTED,
        obligation=obligation,
        actor=actor,
        after={"request_id": request.pk, "requested_date": requested_date.isoformat(), "reason": reason},
    )
    outbox_write(
        event=Event.EXTENSION_REQUESTED,
        obligation=obligation,
        actor=actor,
        payload={
            "request_id": request.pk,
            "requested_date": iso_or_none(requested_date),
            "due_date": iso_or_none(obligation.due_date),
            "reason": reason,
        },
    )
    return request


@transaction.atomic
def extension_decide(
    *, request: ExtensionRequest, actor: User, approve: bool, note: str = "", expected_version: Any = None
) -> ExtensionRequest:
    request = ExtensionRequest.objects.select_for_update().get(pk=request.pk)
    obligation = fresh_obligation(request.obligation)
    require(actor, Action.DECIDE_EXTENSION, obligation)
    if request.status != ExtensionRequest.Status.PENDING:
        raise InvalidTransition("该延期申请已处理", code="already_decided")
    note = clean_reason(note, required=not approve, field_name="note")
    old_due = obligation.due_date
    if approve:
        check_version(obligation, expected_version)
        reason = f"同意延期申请：{request.reason}" + (f"（{note}）" if note else "")
        _set_due_date(
            obligation=obligation,
            actor=actor,
            due_date=request.requested_date,
            reason=reason,
            expected_version=expected_version,
        )
    request.status = ExtensionRequest.Status.APPROVED if approve else ExtensionRequest.Status.REJECTED
    request.decided_by = actor
    request.decided_at = clock.now()
    request.decision_note = note
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        AuditAction.EXTENSION_DECIDED,
        obligation=obligation,
        actor=actor,
        before={"status": ExtensionRequest.Status.PENDING},
        after={"request_id": request.pk, "status": request.status, "note": note},
    )
    # One decision, one message: an approval that moves the date is not a second event.
    outbox_write(
        event=Event.EXTENSION_DECIDED,
        obligation=obligation,
        actor=actor,
        payload={
            "request_id": request.pk,
            "approved": approve,
            "requested_date": iso_or_none(request.requested_date),
            "old_date": iso_or_none(old_due),
            "new_date": iso_or_none(obligation.due_date),
            "request_reason": request.reason,
            "reason": note,
        },
    )
    return request
