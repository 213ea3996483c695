"""The one permission check: `can(user, action, obligation)`.

Visibility (`Obligation.objects.visible_to`) decides whether an obligation exists for a user at
all (404 otherwise); `can()` decides what a user who sees it may do (403 otherwise). Whether the
obligation's *state* allows the action (e.g. submit needs in-progress and evidence) is the
services' business, not this module's.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    VIEW = "view"
    HISTORY = "history"
    DOWNLOAD = "download"
    # Staff of the responsible body.
    START = "start"
    SUBMIT = "submit"
    MILESTONE = "milestone"
    REQUEST_EXTENSION = "request_extension"
    OBJECT = "object"
    # Staff of the responsible or of a cooperating body.
    PROGRESS = "progress"
    EVIDENCE = "evidence"
    # The lead.
    VERIFY = "verify"
    RETURN = "return"
    REOPEN = "reopen"
    SET_DUE_DATE = "set_due_date"
    REASSIGN = "reassign"
    COOPERATING = "cooperating"
    DECIDE_EXTENSION = "decide_extension"
    DECIDE_OBJECTION = "decide_objection"
    REQUIRE_REPORTING = "require_reporting"


READ_ACTIONS = frozenset({Action.VIEW, Action.HISTORY, Action.DOWNLOAD})
RESPONSIBLE_ACTIONS = frozenset(
    {Action.START, Action.SUBMIT, Action.MILESTONE, Action.REQUEST_EXTENSION, Action.OBJECT}
)
CONTRIBUTOR_ACTIONS = frozenset({Action.PROGRESS, Action.EVIDENCE})
LEAD_ACTIONS = frozenset(
    {
        Action.VERIFY,
        Action.RETURN,
        Action.REOPEN,
        Action.SET_DUE_DATE,
        Action.REASSIGN,
        Action.COOPERATING,
        Action.DECIDE_EXTENSION,
        Action.DECIDE_OBJECTION,
        Action.REQUIRE_REPORTING,
    }
)
ALL_ACTIONS = READ_ACTIONS | RESPONSIBLE_ACTIONS | CONTRIBUTOR_ACTIONS | LEAD_ACTIONS


def _is_cooperating(user, obligation) -> bool:
    if user.department_id is None:
        return False
    return obligation.cooperating.filter(pk=user.department_id).exists()


def can(user, action: str, obligation) -> bool:
    """May `user` do `action` on `obligation`? Unknown actions are refused."""
    try:
        action = Action(action)
    except ValueError:
        return False
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return action in _granted(user, obligation)


def allowed_actions(user, obligation) -> set[str]:
    """Every action `user` may take on `obligation`: what the templates show (two queries at most)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    return {str(action) for action in _granted(user, obligation)}


def _granted(user, obligation) -> frozenset:
    from accounts.models import User

    if not obligation.is_visible_to(user):
        return frozenset()
    # Superseded obligations are history: nobody works on them any more.
    if obligation.superseded_at is not None or obligation.status in obligation.ENDED_STATUSES:
        return READ_ACTIONS
    if user.is_admin_role:
        return ALL_ACTIONS
    if user.role == User.Role.LEAD:
        return READ_ACTIONS | LEAD_ACTIONS
    if user.role == User.Role.STAFF:
        if user.department_id is not None and user.department_id == obligation.department_id:
            return READ_ACTIONS | RESPONSIBLE_ACTIONS | CONTRIBUTOR_ACTIONS
        if _is_cooperating(user, obligation):
            return READ_ACTIONS | CONTRIBUTOR_ACTIONS
    # Auditors, and staff who see it for no other reason.
    return READ_ACTIONS


def may_import_regulation(user) -> bool:
    """The lead (and the admin) bring a regulation in; staff and auditors do not."""
    from accounts.models import User

    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_admin_role or user.role == User.Role.LEAD


# Each write on an obligation (a web form, an API call) and the actions that may lie behind it.
# A user who may take none of them is refused (403) before what they sent is read: who may not
# act learns that first, not that their (empty) input was incomplete. Which action it really is
# (a transition's start/submit/verify …) is judged by the service once the input is known.
WRITES = {
    "transition": frozenset({Action.START, Action.SUBMIT, Action.VERIFY, Action.RETURN, Action.REOPEN}),
    "progress": frozenset({Action.PROGRESS}),
    "evidence": frozenset({Action.EVIDENCE}),
    "milestone": frozenset({Action.MILESTONE}),
    "due_date": frozenset({Action.SET_DUE_DATE}),
    "extension": frozenset({Action.REQUEST_EXTENSION}),
    "extension_decide": frozenset({Action.DECIDE_EXTENSION}),
    "objection": frozenset({Action.OBJECT}),
    "objection_decide": frozenset({Action.DECIDE_OBJECTION}),
    "reassign": frozenset({Action.REASSIGN}),
    "cooperating": frozenset({Action.COOPERATING}),
    "reporting": frozenset({Action.REQUIRE_REPORTING}),
}


def may_attempt(user, write: str, obligation) -> bool:
    """May `user` try the write named `write` (a key of WRITES) on `obligation` at all?"""
    return bool(WRITES[write] & allowed_actions(user, obligation))
