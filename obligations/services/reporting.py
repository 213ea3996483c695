"""Periodic reports (定期报送): the lead requires them; where a body stands is a read (selectors)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from accounts.models import User
from core.clock import today
from core.errors import invalid

from .. import audit
from ..audit import AuditAction
from ..models import Obligation, ReportingRequirement
from ..outbox import Event, outbox_write
from ..permissions import Action
from .locking import fresh_obligation, iso_or_none, require


@transaction.atomic
def reporting_require(
    *, obligation: Obligation, actor: User, frequency: str, starts_on: dt.date | None = None, due_day: int = 5
) -> ReportingRequirement:
    obligation = fresh_obligation(obligation)
    require(actor, Action.REQUIRE_REPORTING, obligation)
    if frequency not in ReportingRequirement.Frequency.values:
        raise invalid("frequency", "报送频次应为 monthly（每月）或 quarterly（每季度）")
    if not (0 <= int(due_day) <= 31):
        raise invalid("due_day", "期后报送天数应在 0 到 31 之间")
    starts_on = starts_on or today()
    requirement, _ = ReportingRequirement.objects.update_or_create(
        obligation=obligation,
        defaults={
            "frequency": frequency,
            "starts_on": starts_on,
            "due_day": due_day,
            "active": True,
            "created_by": actor,
        },
    )
    audit.record(
        AuditAction.REPORTING_REQUIRED,
        obligation=obligation,
        actor=actor,
        after={"frequency": frequency, "starts_on": starts_on.isoformat(), "due_day": int(due_day)},
    )
    outbox_write(
        event=Event.REPORTING_REQUIRED,
        obligation=obligation,
        actor=actor,
        payload={"frequency": frequency, "starts_on": iso_or_none(starts_on), "due_day": int(due_day)},
    )
    return requirement
