"""The state machine: start, submit, verify, return, reopen."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import User
from core import clock
from core.errors import InvalidTransition, invalid

from .. import audit
from ..audit import AuditAction
from ..models import Obligation
from ..outbox import Event, outbox_write
from ..permissions import Action
from .locking import check_version, clean_reason, fresh_obligation, require, update_row

S = Obligation.Status

# action -> (states it may start from, state it leads to, permission)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, Action]] = {
    "start": ((S.NOT_STARTED,), S.IN_PROGRESS, Action.START),
    "submit": ((S.IN_PROGRESS,), S.SUBMITTED, Action.SUBMIT),
    "verify": ((S.SUBMITTED,), S.VERIFIED, Action.VERIFY),
    "return": ((S.SUBMITTED,), S.IN_PROGRESS, Action.RETURN),
    "reopen": ((S.VERIFIED,), S.IN_PROGRESS, Action.REOPEN),
}
TRANSITION_LABELS = {
    "start": "启动",
    "submit": "提交核验",
    "verify": "核验通过",
    "return": "退回",
    "reopen": "重新打开",
}
REASON_REQUIRED = {"return", "reopen"}
# The transitions people must hear about (starting work is nobody else's news).
TRANSITION_EVENTS = {
    "submit": Event.SUBMITTED,
    "verify": Event.VERIFIED,
    "return": Event.RETURNED,
    "reopen": Event.REOPENED,
}


def submission_missing(obligation: Obligation) -> list[str]:
    """What a submission for verification still lacks, as the things to do (empty: ready).

    The one rule: the refusal of `obligation_transition(action="submit")` and the obligation
    page's note beside 提交核验 both read it."""
    missing = []
    if not obligation.evidence.exists():
        missing.append("至少上传一份佐证材料")
    return missing


def available_transitions(obligation: Obligation) -> list[str]:
    return [name for name, (sources, _, _) in TRANSITIONS.items() if obligation.status in sources]


@transaction.atomic
def obligation_transition(
    *, obligation: Obligation, actor: User, action: str, expected_version: Any, reason: str = ""
) -> Obligation:
    if action not in TRANSITIONS:
        raise invalid("action", "未知操作：应为 start、submit、verify、return 或 reopen")
    sources, target, permission = TRANSITIONS[action]
    obligation = fresh_obligation(obligation)
    require(actor, permission, obligation)
    check_version(obligation, expected_version)
    if obligation.status not in sources:
        raise InvalidTransition(
            f"当前状态为“{obligation.get_status_display()}”，不能{TRANSITION_LABELS[action]}",
            details={"status": obligation.status, "action": action},
        )
    reason = clean_reason(reason, required=action in REASON_REQUIRED)
    if action == "submit" and (missing := submission_missing(obligation)):
        raise InvalidTransition(f"提交核验前请{'；'.join(missing)}", code="evidence_required")
    old = obligation.status
    now = clock.now()
    fields: dict[str, Any] = {"status": target, "last_activity_at": now}
    if action == "submit":
        fields.update(submitted_at=now, submitted_by=actor)
    elif action == "verify":
        fields.update(verified_at=now, verified_by=actor)
    elif action in ("return", "reopen"):
        fields.update(verified_at=None, verified_by=None)
    update_row(obligation, expected_version, **fields)
    after = {"status": target}
    if reason:
        after["reason"] = reason
    audit.record(AuditAction.OBLIGATION_STATUS, obligation=obligation, actor=actor, before={"status": old}, after=after)
    if action in TRANSITION_EVENTS:
        outbox_write(event=TRANSITION_EVENTS[action], obligation=obligation, actor=actor, payload={"reason": reason})
    return obligation
