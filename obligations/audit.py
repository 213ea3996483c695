"""The audit trail: every change to an obligation, chained by digest.

`record()` is the one way to write an entry. Entries are never updated or deleted by the app;
`verify_chain()` walks them and reports the first link that does not hold.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEntry

# Serialises writers of the chain on PostgreSQL: two concurrent writers would otherwise both
# read the same head and fork the chain. SQLite serialises writes by itself.
CHAIN_LOCK_ID = 827_001


def digest_algorithm() -> str:
    return getattr(settings, "AUDIT_DIGEST_ALGORITHM", "sha256")


def compute_digest(entry: AuditEntry, algorithm: str) -> str:
    payload = json.dumps(
        {
            "prev": entry.prev_hash,
            "obligation": entry.obligation_id,
            "actor": entry.actor_id,
            "action": entry.action,
            "at": entry.at.astimezone(dt.UTC).isoformat(),
            "before": entry.before,
            "after": entry.after,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    ).encode("utf-8")
    return hashlib.new(algorithm, payload).hexdigest()


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])


def record(action: str, *, obligation=None, actor=None, before: dict | None = None, after: dict | None = None):
    """Append one entry to the chain, inside the caller's transaction."""
    with transaction.atomic():
        _lock_chain()
        head = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or ""
        algorithm = digest_algorithm()
        entry = AuditEntry(
            obligation=obligation,
            actor=actor if actor is not None and actor.is_authenticated else None,
            action=action,
            at=timezone.now(),
            before=_jsonable(before or {}),
            after=_jsonable(after or {}),
            prev_hash=head,
            algorithm=algorithm,
        )
        entry.hash = compute_digest(entry, algorithm)
        entry.save()
        return entry


def _jsonable(data: dict) -> dict:
    # Round-trip through JSON so that what we hash is exactly what the database gives back.
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def chain_head() -> str:
    return AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or ""


@dataclass
class ChainCheck:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""


def verify_chain(batch_size: int = 2000) -> ChainCheck:
    prev = ""
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        if entry.prev_hash != prev:
            return ChainCheck(False, checked, entry.id, "前一条摘要不符（记录被删除或插入）")
        if compute_digest(entry, entry.algorithm) != entry.hash:
            return ChainCheck(False, checked, entry.id, "本条内容与摘要不符（记录被修改）")
        prev = entry.hash
        checked += 1
    return ChainCheck(True, checked)
