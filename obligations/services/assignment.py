"""Assignment: reassigning, cooperating bodies, objections to an assignment."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Department, User
from core import clock
from core.clock import today
from core.errors import Conflict, InvalidTransition, invalid

from .. import audit
from ..audit import AuditAction
from ..models import Objection, Obligation
from ..outbox import Event, outbox_write
from ..permissions import Action
from ..selectors import objection_deadline
from .locking import check_version, clean_reason, fresh_obligation, require, update_row


def _department(code_or_obj) -> Department:
    if isinstance(code_or_obj, Department):
        return code_or_obj
    department = Department.objects.filter(code=code_or_obj, active=True).first()
    if department is None:
        raise invalid("department", f"机构代码不存在：{code_or_obj}")
    return department


def _reassign(*, obligation: Obligation, actor: User, department: Department, reason: str, expected_version: Any):
    if department.pk == obligation.department_id:
        raise invalid("department", "新责任单位与当前责任单位相同")
    if Obligation.objects.filter(clause_id=obligation.clause_id, department=department).exists():
        raise Conflict(f"{department.short_name}在该条款下已有一项义务，不能重复分配", code="duplicate_obligation")
    old = obligation.department.code
    update_row(obligation, expected_version, department=department)
    obligation.cooperating.remove(department)
    audit.record(
        AuditAction.OBLIGATION_REASSIGNED,
        obligation=obligation,
        actor=actor,
        before={"department": old},
        after={"department": department.code, "reason": reason},
    )
    return obligation


@transaction.atomic
def obligation_reassign(
    *, obligation: Obligation, actor: User, department, reason: str, expected_version: Any
) -> Obligation:
    obligation = fresh_obligation(obligation)
    require(actor, Action.REASSIGN, obligation)
    check_version(obligation, expected_version)
    reason = clean_reason(reason)
    old_department_id = obligation.department_id
    _reassign(
        obligation=obligation,
        actor=actor,
        department=_department(department),
        reason=reason,
        expected_version=expected_version,
    )
    outbox_write(
        event=Event.REASSIGNED,
        obligation=obligation,
        actor=actor,
        payload={
            "old_department_id": old_department_id,
            "new_department_id": obligation.department_id,
            "reason": reason,
        },
    )
    return obligation


@transaction.atomic
def obligation_add_cooperating(
    *, obligation: Obligation, actor: User, departments: list, expected_version: Any
) -> Obligation:
    obligation = fresh_obligation(obligation)
    require(actor, Action.COOPERATING, obligation)
    check_version(obligation, expected_version)
    if not departments:
        raise invalid("departments", "请选择至少一个协办单位")
    new = [_department(d) for d in departments]
    if any(d.pk == obligation.department_id for d in new):
        raise invalid("departments", "责任单位不能同时作为协办单位")
    before = sorted(obligation.cooperating.values_list("code", flat=True))
    after = sorted(set(before) | {d.code for d in new})
    if after == before:
        raise invalid("departments", "所选单位已是协办单位")
    update_row(obligation, expected_version)
    obligation.cooperating.add(*new)
    audit.record(
        AuditAction.OBLIGATION_COOPERATING,
        obligation=obligation,
        actor=actor,
        before={"cooperating": before},
        after={"cooperating": after},
    )
    outbox_write(
        event=Event.COOPERATING,
        obligation=obligation,
        actor=actor,
        payload={"added_department_ids": sorted({d.pk for d in new if d.code not in before})},
    )
    return obligation


@transaction.atomic
def objection_raise(*, obligation: Obligation, actor: User, reason: str, suggested_department=None) -> Objection:
    obligation = fresh_obligation(obligation)
    require(actor, Action.OBJECT, obligation)
    reason = clean_reason(reason)
    deadline = objection_deadline(obligation)
    if today() > deadline:
        raise InvalidTransition(
            f"异议期已过（截至 {deadline:%Y-%m-%d}），如有问题请联系牵头部门", code="objection_window_closed"
        )
    if obligation.objections.filter(status=Objection.Status.PENDING, department=obligation.department).exists():
        raise Conflict("已有一项待处理的异议", code="objection_pending")
    suggested = _department(suggested_department) if suggested_department else None
    try:
        with transaction.atomic():
            objection = Objection.objects.create(
                obligation=obligation,
                department=obligation.department,
                raised_by=actor,
                reason=reason,
                suggested_department=suggested,
            )
    except IntegrityError:  # a concurrent request raised one first (one_pending_objection_per_body)
        raise Conflict("已有一项待处理的异议", code="objection_pending") from None
    audit.record(
        AuditAction.OBJECTION_RAISED,
        obligation=obligation,
        actor=actor,
        after={
            "objection_id": objection.pk,
            "department": obligation.department.code,
            "reason": reason,
            "suggested_department": suggested.code if suggested else None,
        },
    )
    outbox_write(
        event=Event.OBJECTION_RAISED,
        obligation=obligation,
        actor=actor,
        payload={
            "objection_id": objection.pk,
            "reason": reason,
            "suggested_department_id": suggested.pk if suggested else None,
        },
    )
    return objection


@transaction.atomic
def objection_decide(
    *,
    objection: Objection,
    actor: User,
    decision: str,
    note: str = "",
    new_department=None,
    expected_version: Any = None,
) -> Objection:
    objection = Objection.objects.select_for_update().get(pk=objection.pk)
    obligation = fresh_obligation(objection.obligation)
    require(actor, Action.DECIDE_OBJECTION, obligation)
    if objection.status != Objection.Status.PENDING:
        raise InvalidTransition("该异议已处理", code="already_decided")
    note = clean_reason(note, field_name="note")
    if decision == "reassign":
        if not new_department:
            raise invalid("new_department", "请选择调整后的责任单位")
        check_version(obligation, expected_version)
        department = _department(new_department)
        _reassign(
            obligation=obligation,
            actor=actor,
            department=department,
            reason=f"异议成立：{note}",
            expected_version=expected_version,
        )
        objection.status = Objection.Status.REASSIGNED
        objection.new_department = department
    elif decision == "confirm":
        objection.status = Objection.Status.CONFIRMED
    else:
        raise invalid("decision", "处理结果应为 confirm（维持原分工）或 reassign（调整责任单位）")
    objection.decided_by = actor
    objection.decided_at = clock.now()
    objection.decision_note = note
    objection.save()
    audit.record(
        AuditAction.OBJECTION_DECIDED,
        obligation=obligation,
        actor=actor,
        before={"status": Objection.Status.PENDING},
        after={
            "objection_id": objection.pk,
            "status": objection.status,
            "note": note,
            "new_department": objection.new_department.code if objection.new_department else None,
        },
    )
    # One decision, one message: a reassignment decided here is not a second event.
    outbox_write(
        event=Event.OBJECTION_DECIDED,
        obligation=obligation,
        actor=actor,
        payload={
            "objection_id": objection.pk,
            "status": objection.status,
            "objecting_department_id": objection.department_id,
            "new_department_id": objection.new_department_id,
            "objection_reason": objection.reason,
            "reason": note,
        },
    )
    return objection
