"""The registry's open questions: bodies a regulation names that the registry lacked (BodyProposal)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from accounts.models import Department, User
from core import clock
from core.errors import Conflict, InvalidInput, NotAllowed, invalid
from regulations.models import BodyProposal

from .. import audit
from ..audit import AuditAction
from ..seeding import import_regulation


@dataclass
class BodyDecision:
    department: Department
    obligations_created: int


def _require_admin(actor: User) -> None:
    if not (actor.is_superuser or actor.is_admin_role):
        raise NotAllowed("只有系统管理员可以确认机构")


def _open_proposal(proposal: BodyProposal) -> BodyProposal:
    locked = BodyProposal.objects.select_for_update().get(pk=proposal.pk)
    if locked.status != BodyProposal.Status.PROPOSED:
        raise Conflict(f"“{locked.name}”已确认，不能再次处理")
    return locked


def _adopt(proposal: BodyProposal, department: Department, actor: User, status: str) -> BodyDecision:
    """Record the decision, then import again every regulation with a duty waiting on the name:
    the name now resolves to the body, and the import creates its obligations with audit entries."""
    proposal.department = department
    proposal.status = status
    proposal.decided_at = clock.now()
    proposal.decided_by = actor
    proposal.save(update_fields=["department", "status", "decided_at", "decided_by"])
    audit.record(
        AuditAction.REGISTRY_BODY_CONFIRMED
        if status == BodyProposal.Status.CONFIRMED
        else AuditAction.REGISTRY_BODY_MAPPED,
        actor=actor,
        after={"name": proposal.name, "department": department.code},
    )
    created = 0
    regulations = {clause.regulation_id: clause.regulation for clause in proposal.waiting_clauses()}
    for regulation in regulations.values():
        created += import_regulation(regulation.source_text, code=regulation.code, actor=actor).obligations_created
    return BodyDecision(department, created)


@transaction.atomic
def body_proposal_confirm(
    *,
    proposal: BodyProposal,
    actor: User,
    code: str = "",
    name: str = "",
    short_name: str = "",
    level: str = "",
    kind: str = "",
) -> BodyDecision:
    """Confirm a proposed body as a new registry entry (name as written unless given)."""
    _require_admin(actor)
    proposal = _open_proposal(proposal)
    name = (name or proposal.name).strip()
    code = (code or f"NEW-{proposal.pk}").strip()
    level = level or proposal.level
    kind = kind or proposal.kind
    if Department.objects.filter(name=name).exists():
        raise invalid("name", f"已有名为“{name}”的机构，请改为对应现有机构")
    if Department.objects.filter(code=code).exists():
        raise invalid("code", f"机构代码“{code}”已被使用")
    department = Department(
        code=code, name=name, short_name=(short_name or name)[:50], level=level, kind=kind, phrases=[]
    )
    try:
        department.full_clean()
    except DjangoValidationError as exc:
        raise InvalidInput(details={k: list(v) for k, v in exc.message_dict.items()}) from exc
    department.save()
    return _adopt(proposal, department, actor, BodyProposal.Status.CONFIRMED)


@transaction.atomic
def body_proposal_map(*, proposal: BodyProposal, actor: User, department: Department) -> BodyDecision:
    """The name is another way the law names an existing body."""
    _require_admin(actor)
    proposal = _open_proposal(proposal)
    return _adopt(proposal, department, actor, BodyProposal.Status.MAPPED)
