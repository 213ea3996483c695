"""Signals other apps listen to (they import obligations; obligations imports none of them)."""

from django.dispatch import Signal

# Sent when a user opens an obligation's page and so has seen its decisions:
# sender=Obligation, user=…, obligation=…. notifications marks its notices of them read.
decisions_seen = Signal()
