"""Account changes made by the unified identity service go into the audit trail.

accounts (a lower floor) cannot write the trail; it sends `accounts.signals.account_changed`
inside its transaction and this receiver records the entry there, so a change without its entry
cannot be committed."""

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import account_changed

from . import audit
from .audit import AuditAction

ACTIONS = {
    "provisioned": AuditAction.ACCOUNT_PROVISIONED,
    "updated": AuditAction.ACCOUNT_UPDATED,
    "deprovisioned": AuditAction.ACCOUNT_DEPROVISIONED,
}


@receiver(account_changed, sender=User, dispatch_uid="obligations.audit_account_change")
def record_account_change(sender, user: User, action: str, before: dict, after: dict, **kwargs):
    # The actor is the identity service, not a person here: no actor, the account is named in the entry.
    audit.record(ACTIONS[str(action)], before=before, after=after)
