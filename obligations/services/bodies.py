"""The registry's decisions: bodies a regulation names that the registry lacked (BodyProposal),
and the classes of bodies the law names with one phrase (BodyClass). Every decision is audited."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from accounts.models import Department, User
from core import clock
from core.errors import Conflict, InvalidInput, NotAllowed, invalid
from regulations.models import BodyClass, BodyProposal, Regulation
from regulations.parser import clean_text

from .. import audit
from ..audit import AuditAction
from ..seeding import import_regulation


@dataclass
class BodyDecision:
    departments: list[Department]
    obligations_created: int
    body_class: BodyClass | None = None

    @property
    def department(self) -> Department:
        return self.departments[0]

    @property
    def target(self) -> str:
        """What the name now stands for, in words."""
        if self.body_class is not None:
            return f"机构类别“{self.body_class.name}”（{len(self.departments)} 个机构）"
        return "、".join(d.name for d in self.departments)


def _require_admin(actor: User) -> None:
    if not (actor.is_superuser or actor.is_admin_role):
        raise NotAllowed("只有系统管理员可以确认机构")


def _open_proposal(proposal: BodyProposal) -> BodyProposal:
    locked = BodyProposal.objects.select_for_update().get(pk=proposal.pk)
    if locked.status != BodyProposal.Status.PROPOSED:
        raise Conflict(f"“{locked.name}”已确认，不能再次处理")
    return locked


def _reimport_waiting(proposal: BodyProposal, actor: User) -> int:
    """Import again every regulation with a duty waiting on the name: the name now resolves, and
    the import creates the obligations, each with its audit entry."""
    created = 0
    regulations = {clause.regulation_id: clause.regulation for clause in proposal.waiting_clauses()}
    for regulation in regulations.values():
        created += import_regulation(regulation.source_text, code=regulation.code, actor=actor).obligations_created
    return created


def _decide(proposal: BodyProposal, actor: User, status: str) -> None:
    proposal.status = status
    proposal.decided_at = clock.now()
    proposal.decided_by = actor
    proposal.save(update_fields=["department", "body_class", "status", "decided_at", "decided_by"])


def _adopt(proposal: BodyProposal, department: Department, actor: User, status: str) -> BodyDecision:
    proposal.department = department
    _decide(proposal, actor, status)
    audit.record(
        AuditAction.REGISTRY_BODY_CONFIRMED
        if status == BodyProposal.Status.CONFIRMED
        else AuditAction.REGISTRY_BODY_MAPPED,
        actor=actor,
        after={"name": proposal.name, "department": department.code},
    )
    return BodyDecision([department], _reimport_waiting(proposal, actor))


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


@transaction.atomic
def body_proposal_map_several(*, proposal: BodyProposal, actor: User, departments: list[Department]) -> BodyDecision:
    """The name stands for several existing bodies, each of which carries its own obligation
    ("县级以上人民政府信息化主管部门" -> 市工信局 and every district government)."""
    _require_admin(actor)
    chosen = list({d.pk: d for d in departments}.values())
    if not chosen:
        raise invalid("departments", "请至少选择一个机构")
    inactive = [d.name for d in chosen if not d.active]
    if inactive:
        raise invalid("departments", f"机构已停用：{'、'.join(inactive)}")
    if len(chosen) == 1:
        return body_proposal_map(proposal=proposal, actor=actor, department=chosen[0])
    proposal = _open_proposal(proposal)
    _decide(proposal, actor, BodyProposal.Status.MAPPED_SEVERAL)
    proposal.departments.set(chosen)
    chosen.sort(key=lambda d: (d.sort_order, d.code))
    audit.record(
        AuditAction.REGISTRY_BODY_MAPPED_SEVERAL,
        actor=actor,
        after={"name": proposal.name, "departments": [d.code for d in chosen]},
    )
    return BodyDecision(chosen, _reimport_waiting(proposal, actor))


@transaction.atomic
def body_proposal_map_class(*, proposal: BodyProposal, actor: User, body_class: BodyClass) -> BodyDecision:
    """The name names a class of bodies: each member (as the class stands at each import) carries
    its own obligation, and an edit of the class reaches every later import."""
    _require_admin(actor)
    members = body_class.member_bodies()
    if not members:
        raise invalid("body_class", f"机构类别“{body_class.name}”没有成员机构")
    proposal = _open_proposal(proposal)
    proposal.body_class = body_class
    _decide(proposal, actor, BodyProposal.Status.MAPPED_CLASS)
    audit.record(
        AuditAction.REGISTRY_BODY_MAPPED_CLASS,
        actor=actor,
        after={"name": proposal.name, "class": body_class.name, "departments": [d.code for d in members]},
    )
    return BodyDecision(members, _reimport_waiting(proposal, actor), body_class)


def _class_state(body_class: BodyClass) -> dict:
    return {
        "name": body_class.name,
        "phrases": list(body_class.phrases),
        "members": sorted(body_class.members.values_list("code", flat=True)),
        "zones_join": body_class.zones_join,
    }


@transaction.atomic
def body_class_save(
    *,
    actor: User,
    name: str,
    members: list[Department],
    phrases: list[str] | None = None,
    zones_join: bool = False,
    note: str = "",
    body_class: BodyClass | None = None,
) -> BodyClass:
    """Create a class of bodies or change one (its name, phrases, members). The registry reads the
    class at every import, so the change reaches the next import of any regulation; obligations
    already created stay as they are."""
    _require_admin(actor)
    name = clean_text(name or "").strip()
    if not name:
        raise invalid("name", "请填写类别名称（法规中的称谓）")
    wanted = []
    for phrase in [name, *(phrases or [])]:
        phrase = clean_text(str(phrase)).strip()
        if phrase and phrase not in wanted:
            wanted.append(phrase)
    if not members:
        raise invalid("members", "机构类别至少要有一个成员机构")
    others = BodyClass.objects.exclude(pk=body_class.pk if body_class else None)
    for other in others:
        taken = set(wanted) & set(other.all_phrases())
        if taken:
            raise invalid("phrases", f"称谓“{'、'.join(sorted(taken))}”已属于机构类别“{other.name}”")
    if body_class is None:
        body_class = BodyClass(sort_order=BodyClass.objects.count())
        before = None
    else:
        body_class = BodyClass.objects.select_for_update().get(pk=body_class.pk)
        before = _class_state(body_class)
    body_class.name = name
    body_class.phrases = [p for p in wanted if p != name]
    body_class.zones_join = zones_join
    body_class.note = note
    try:
        body_class.full_clean(exclude=["members"])
    except DjangoValidationError as exc:
        raise InvalidInput(details={k: list(v) for k, v in exc.message_dict.items()}) from exc
    body_class.save()
    body_class.members.set(members)
    after = _class_state(body_class)
    if before != after:
        audit.record(
            AuditAction.REGISTRY_CLASS_CREATED if before is None else AuditAction.REGISTRY_CLASS_CHANGED,
            actor=actor,
            before=before,
            after=after,
        )
    return body_class


@dataclass
class Resync:
    regulations: int
    obligations_created: int
    superseded: list[str]


@transaction.atomic
def regulations_resync(*, actor: User) -> Resync:
    """Bring every imported regulation in step with the registry as it now stands (after an edit of
    a class, say), without waiting for its next import: members new to a class get their obligations,
    members gone from it see theirs superseded (never deleted), each with its audit entry."""
    _require_admin(actor)
    created, superseded, count = 0, [], 0
    for regulation in Regulation.objects.order_by("pk"):
        report = import_regulation(regulation.source_text, code=regulation.code, actor=actor)
        created += report.obligations_created
        superseded += report.superseded
        count += 1
    return Resync(count, created, superseded)
