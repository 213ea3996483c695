"""Every write on obligations and the work on them, one module a concern:

- locking: the permission check, optimistic locking, activity, reasons (shared by all below);
- transitions: the state machine (start, submit, verify, return, reopen);
- deadlines: due dates and extension requests; milestones: dated steps;
- progress and evidence: the work reported, with its proof;
- assignment: reassigning, cooperating bodies, objections;
- reporting: periodic reports required; bodies: the registry's proposals and classes of bodies; seen:
  decisions read; regulations: a regulation's text imported, its obligations created.
- amendments: the lead's decision to amend a regulation, pending until its effective date, applied
  once on the day, or withdrawn; carryover: the new version carries the obligations over, clause by clause.

Keyword-only functions named `<entity>_<verb>`, each in one transaction, each checking the
permission (`obligations.permissions.can`) and the state, each writing the audit trail with the
action names the reports rely on and its event (obligations.outbox). Views, the API and commands
call them as `services.<function>`; none holds a rule. Reads (where a body stands with its
reports, the objection deadline, the stale-version message) are selectors: obligations.selectors.
"""

from .amendments import (
    amendment_apply,
    amendment_withdraw,
    amendments_apply_due,
    obligation_review_confirm,
    regulation_amend,
)
from .assignment import objection_decide, objection_raise, obligation_add_cooperating, obligation_reassign
from .bodies import (
    body_class_save,
    body_proposal_confirm,
    body_proposal_map,
    body_proposal_map_class,
    body_proposal_map_several,
    regulations_resync,
)
from .deadlines import extension_decide, extension_request, obligation_set_due_date
from .evidence import detect_file_kind, display_name, evidence_add, evidence_check_file
from .locking import FRESH_RELATED, rows_held
from .milestones import milestone_add, milestone_complete, milestone_set_due_date
from .progress import progress_add
from .regulations import regulation_import
from .reporting import reporting_require
from .seen import decision_mark_seen
from .transitions import (
    REASON_REQUIRED,
    TRANSITION_LABELS,
    available_transitions,
    obligation_transition,
    submission_missing,
)

__all__ = [
    "regulation_import",
    "TRANSITION_LABELS",
    "REASON_REQUIRED",
    "submission_missing",
    "available_transitions",
    "obligation_transition",
    "obligation_set_due_date",
    "extension_request",
    "extension_decide",
    "milestone_add",
    "milestone_complete",
    "milestone_set_due_date",
    "progress_add",
    "display_name",
    "detect_file_kind",
    "evidence_check_file",
    "evidence_add",
    "obligation_reassign",
    "obligation_add_cooperating",
    "objection_raise",
    "objection_decide",
    "reporting_require",
    "body_proposal_confirm",
    "body_proposal_map",
    "body_proposal_map_several",
    "body_proposal_map_class",
    "body_class_save",
    "regulations_resync",
    "decision_mark_seen",
    "regulation_amend",
    "obligation_review_confirm",
    "amendment_apply",
    "amendments_apply_due",
    "amendment_withdraw",
    "FRESH_RELATED",
    "rows_held",
]
