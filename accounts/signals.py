"""Signals other apps listen to (they import accounts; accounts imports none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that changes an account through the unified identity service
# (accounts.sso): sender=User, user=…, action=one of accounts.sso.Change, before={…}, after={…}.
# The audit trail (obligations) records each; a receiver that fails rolls the change back.
account_changed = Signal()
