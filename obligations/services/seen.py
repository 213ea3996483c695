"""Decisions seen (obligations.decisions): the obligation page was opened."""

from __future__ import annotations

from accounts.models import User
from core import clock

from ..models import DecisionSeen, Obligation
from ..signals import decisions_seen


def decision_mark_seen(*, user: User, obligation: Obligation, entry_id: int | None) -> bool:
    """Record that `user` has seen the decisions on `obligation` up to audit entry `entry_id`
    (the latest, shown at the top of the page), and tell listeners (the notices of them are
    read now). Never moves back. Returns whether anything new was recorded.

    Not a change of the obligation: no version, no audit entry, no event."""
    recorded = False
    if entry_id is not None and user.is_authenticated:
        seen = DecisionSeen.objects.filter(user=user, obligation=obligation).values_list("entry_id", flat=True).first()
        if seen is None or seen < entry_id:
            DecisionSeen.objects.bulk_create(
                [DecisionSeen(user=user, obligation=obligation, entry_id=entry_id, seen_at=clock.now())],
                update_conflicts=True,
                unique_fields=["user", "obligation"],
                update_fields=["entry_id", "seen_at"],
            )
            recorded = True
    if user.is_authenticated:
        decisions_seen.send(sender=Obligation, user=user, obligation=obligation)
    return recorded
