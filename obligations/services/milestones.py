"""Milestones: dated steps inside an obligation."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from accounts.models import User
from core import clock
from core.errors import InvalidTransition, invalid

from .. import audit
from ..audit import AuditAction
from ..models import DueDateChange, Milestone, Obligation
from ..outbox import Event, outbox_write
from ..permissions import Action
from .locking import clean_reason, fresh_obligation, iso_or_none, require, touch_activity


@transaction.atomic
def milestone_add(*, obligation: Obligation, actor: User, title: str, due_date: dt.date) -> Milestone:
    obligation = fresh_obligation(obligation)
    require(actor, Action.MILESTONE, obligation)
    title = (title or "").strip()
    if not title:
        raise invalid("title", "请填写节点名称")
    if len(title) > 200:
        raise invalid("title", "节点名称不能超过 200 字")
    milestone = Milestone.objects.create(obligation=obligation, title=title, due_date=due_date, created_by=actor)
    audit.record(
        AuditAction.MILESTONE_ADDED,
        obligation=obligation,
        actor=actor,
        after={"milestone_id": milestone.pk, "title": title, "due_date": due_date.isoformat()},
    )
    return milestone


def milestone_done(milestone: Milestone, actor: User) -> None:
    if milestone.done_at is not None:
        raise InvalidTransition("该节点已完成", code="milestone_done")
    milestone.done_at = clock.now()
    milestone.save(update_fields=["done_at"])
    audit.record(
        AuditAction.MILESTONE_DONE,
        obligation=milestone.obligation,
        actor=actor,
        after={"milestone_id": milestone.pk, "title": milestone.title},
    )


@transaction.atomic
def milestone_complete(*, milestone: Milestone, actor: User) -> Milestone:
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    require(actor, Action.MILESTONE, milestone.obligation)
    milestone_done(milestone, actor)
    touch_activity(milestone.obligation)
    return milestone


@transaction.atomic
def milestone_set_due_date(*, milestone: Milestone, actor: User, due_date: dt.date, reason: str) -> Milestone:
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    require(actor, Action.MILESTONE, milestone.obligation)
    reason = clean_reason(reason)
    old = milestone.due_date
    if old == due_date:
        raise invalid("due_date", "新日期与当前日期相同")
    milestone.due_date = due_date
    milestone.save(update_fields=["due_date"])
    DueDateChange.objects.create(
        obligation=milestone.obligation,
        milestone=milestone,
        old_date=old,
        new_date=due_date,
        reason=reason,
        changed_by=actor,
    )
    audit.record(
        AuditAction.MILESTONE_DUE_DATE,
        obligation=milestone.obligation,
        actor=actor,
        before={"milestone_id": milestone.pk, "due_date": old.isoformat()},
        after={"milestone_id": milestone.pk, "due_date": due_date.isoformat(), "reason": reason},
    )
    outbox_write(
        event=Event.MILESTONE_MOVED,
        obligation=milestone.obligation,
        actor=actor,
        payload={
            "milestone_id": milestone.pk,
            "title": milestone.title,
            "old_date": iso_or_none(old),
            "new_date": iso_or_none(due_date),
            "reason": reason,
        },
    )
    return milestone
