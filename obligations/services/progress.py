"""Progress: append-only; a correction is a new entry."""

from __future__ import annotations

import re

from django.db import transaction

from accounts.models import User
from core.errors import InvalidInput

from .. import audit
from ..audit import AuditAction
from ..models import Milestone, Obligation, ProgressEntry
from ..outbox import Event, excerpt, outbox_write
from ..permissions import Action
from .locking import fresh_obligation, require, touch_activity
from .milestones import milestone_done

REPORT_PERIOD_RE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|Q([1-4]))$")


def progress_add(
    *,
    obligation: Obligation,
    actor: User,
    text: str,
    percent: int | None = None,
    milestone: Milestone | None = None,
    report_period: str = "",
    corrects: ProgressEntry | None = None,
) -> ProgressEntry:
    obligation = fresh_obligation(obligation)
    require(actor, Action.PROGRESS, obligation)
    errors: dict[str, list[str]] = {}
    text = (text or "").strip()
    if not text:
        errors["text"] = ["请填写工作进展"]
    elif len(text) > 5000:
        errors["text"] = ["工作进展不能超过 5000 字"]
    if percent is not None and not (0 <= int(percent) <= 100):
        errors["percent"] = ["完成比例应在 0 到 100 之间"]
    report_period = (report_period or "").strip()
    if report_period and not REPORT_PERIOD_RE.match(report_period):
        errors["report_period"] = ["报送期次格式应为 2025-03（月度）或 2025Q1（季度）"]
    if milestone is not None and milestone.obligation_id != obligation.pk:
        errors["milestone"] = ["该节点不属于本义务"]
    if corrects is not None and corrects.obligation_id != obligation.pk:
        errors["corrects"] = ["被更正的进展不属于本义务"]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], details=errors)
    # Every refusal above comes before any write: the writes below need a transaction, not a
    # savepoint of their own inside the caller's (a 台账 adds thousands of entries in one).
    with transaction.atomic(savepoint=False):
        return _progress_write(obligation, actor, text, percent, milestone, report_period, corrects)


def _progress_write(obligation, actor, text, percent, milestone, report_period, corrects) -> ProgressEntry:
    department = actor.department if actor.department_id else obligation.department
    entry = ProgressEntry.objects.create(
        obligation=obligation,
        department=department,
        author=actor,
        text=text,
        percent=percent,
        milestone=milestone,
        report_period=report_period,
        corrects=corrects,
    )
    if milestone is not None and milestone.done_at is None:
        milestone_done(milestone, actor)
    touch_activity(obligation)
    audit.record(
        AuditAction.PROGRESS_ADDED,
        obligation=obligation,
        actor=actor,
        after={
            "progress_id": entry.pk,
            "text": text,
            "percent": percent,
            "department": department.code,
            "corrects": corrects.pk if corrects else None,
        },
    )
    # Progress of a cooperating body is news to the responsible body; its own progress is not.
    if department.pk != obligation.department_id and obligation.cooperating.filter(pk=department.pk).exists():
        outbox_write(
            event=Event.PROGRESS,
            obligation=obligation,
            actor=actor,
            payload={
                "progress_id": entry.pk,
                "cooperating_department_id": department.pk,
                "percent": percent,
                "text": excerpt(text),
            },
        )
    return entry
