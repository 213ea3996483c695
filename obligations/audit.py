"""The audit trail: every change to an obligation, chained by digest.

`record()` is the one way to write an entry. Entries are never updated or deleted by the app;
`verify_chain()` walks them and reports the first link that does not hold.

Digests are SHA-256 or SM3 (GB/T 32905-2016, settings.AUDIT_DIGEST_ALGORITHM); each entry records
the algorithm it was hashed with, so a chain may mix both after the setting changes.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditEntry


class AuditAction(models.TextChoices):
    """Every action name the trail records, with the words the history shows for it.

    A str enum: members compare equal to the stored strings, so the services write them, the
    outbox and the as-of reports filter on them, and templates label them (`|action_label`).
    The stored strings are part of the chain's digests and of the reports' history: never rename.
    """

    OBLIGATION_CREATED = "obligation.created", "创建义务"
    OBLIGATION_STATUS = "obligation.status", "状态变更"
    OBLIGATION_DUE_DATE = "obligation.due_date", "完成期限变更"
    OBLIGATION_REASSIGNED = "obligation.reassigned", "调整责任单位"
    OBLIGATION_COOPERATING = "obligation.cooperating", "调整协办单位"
    OBLIGATION_SUPERSEDED = "obligation.superseded", "义务废止"
    OBLIGATION_RESTORED = "obligation.restored", "义务恢复"
    PROGRESS_ADDED = "progress.added", "填报进展"
    EVIDENCE_ADDED = "evidence.added", "提交佐证材料"
    MILESTONE_ADDED = "milestone.added", "添加节点"
    MILESTONE_DONE = "milestone.done", "节点完成"
    MILESTONE_DUE_DATE = "milestone.due_date", "节点期限变更"
    EXTENSION_REQUESTED = "extension.requested", "申请延期"
    EXTENSION_DECIDED = "extension.decided", "审批延期"
    OBJECTION_RAISED = "objection.raised", "提出异议"
    OBJECTION_DECIDED = "objection.decided", "处理异议"
    REPORTING_REQUIRED = "reporting.required", "要求定期报送"
    REPORT_EXPORTED = "report.exported", "导出报告"
    LEDGER_EXPORTED = "ledger.exported", "导出台账"
    LEDGER_IMPORTED = "ledger.imported", "导入台账"
    LEDGER_ROW_IMPORTED = "ledger.row_imported", "台账导入"
    LEDGER_ISSUED = "ledger.issued", "下发台账"


def action_label(action: str) -> str:
    """The words for a stored action name; an unknown (older) name reads as itself."""
    try:
        return AuditAction(action).label
    except ValueError:
        return action


# Serialises writers of the chain on PostgreSQL: two concurrent writers would otherwise both
# read the same head and fork the chain. SQLite serialises writes by itself.
CHAIN_LOCK_ID = 827_001


SUPPORTED_ALGORITHMS = ("sha256", "sm3")

_SM3_IV = (0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E)
_MASK = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    n %= 32
    return ((x << n) | (x >> (32 - n))) & _MASK


def _p0(x: int) -> int:
    return x ^ _rotl(x, 9) ^ _rotl(x, 17)


def _p1(x: int) -> int:
    return x ^ _rotl(x, 15) ^ _rotl(x, 23)


class SM3:
    """Pure-Python SM3 (GB/T 32905-2016), the fallback when the machine's OpenSSL has no sm3.

    Same interface as a hashlib object (update / digest / hexdigest). Slow (about 1 MB/s) but
    audit payloads are small; evidence files are hashed with OpenSSL's sm3 when it exists.
    """

    name = "sm3"
    digest_size = 32
    block_size = 64

    def __init__(self, data: bytes = b"") -> None:
        self._v = list(_SM3_IV)
        self._buffer = b""
        self._length = 0
        if data:
            self.update(data)

    def update(self, data: bytes) -> None:
        self._length += len(data)
        buffer = self._buffer + bytes(data)
        full = len(buffer) - len(buffer) % 64
        for offset in range(0, full, 64):
            self._compress(buffer[offset : offset + 64])
        self._buffer = buffer[full:]

    def _compress(self, block: bytes) -> None:
        w = [int.from_bytes(block[i : i + 4], "big") for i in range(0, 64, 4)]
        for j in range(16, 68):
            w.append(_p1(w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)) ^ _rotl(w[j - 13], 7) ^ w[j - 6])
        w1 = [w[j] ^ w[j + 4] for j in range(64)]
        a, b, c, d, e, f, g, h = self._v
        for j in range(64):
            t = 0x79CC4519 if j < 16 else 0x7A879D8A
            a12 = _rotl(a, 12)
            ss1 = _rotl((a12 + e + _rotl(t, j)) & _MASK, 7)
            ss2 = ss1 ^ a12
            if j < 16:
                ff, gg = a ^ b ^ c, e ^ f ^ g
            else:
                ff, gg = (a & b) | (a & c) | (b & c), (e & f) | (~e & g)
            tt1 = (ff + d + ss2 + w1[j]) & _MASK
            tt2 = (gg + h + ss1 + w[j]) & _MASK
            d, c, b, a = c, _rotl(b, 9), a, tt1
            h, g, f, e = g, _rotl(f, 19), e, _p0(tt2)
        self._v = [x ^ y for x, y in zip(self._v, (a, b, c, d, e, f, g, h), strict=True)]

    def digest(self) -> bytes:
        clone = SM3()
        clone._v, clone._buffer, clone._length = list(self._v), self._buffer, self._length
        bit_length = self._length * 8
        padding = b"\x80" + b"\x00" * ((55 - self._length) % 64) + bit_length.to_bytes(8, "big")
        clone.update(padding)
        return b"".join(x.to_bytes(4, "big") for x in clone._v)

    def hexdigest(self) -> str:
        return self.digest().hex()


def _openssl_has_sm3() -> bool:
    try:
        return hashlib.new("sm3", b"abc").hexdigest() == (
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        )
    except ValueError:
        return False


OPENSSL_SM3 = _openssl_has_sm3()


def new_hasher(algorithm: str, data: bytes = b""):
    """A hashlib-like object for "sha256" or "sm3" (OpenSSL's when present, else ours).

    The one place digests are made: the audit chain, evidence uploads and the evidence bundle's check.
    """
    algorithm = (algorithm or "sha256").lower()
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"不支持的摘要算法：{algorithm}")
    if algorithm == "sm3" and not OPENSSL_SM3:
        return SM3(data)
    return hashlib.new(algorithm, data)


def digest_algorithm() -> str:
    return settings.AUDIT_DIGEST_ALGORITHM


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
    return new_hasher(algorithm, payload).hexdigest()


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])


def record(action: AuditAction, *, obligation=None, actor=None, before: dict | None = None, after: dict | None = None):
    """Append one entry to the chain, inside the caller's transaction."""
    with transaction.atomic():
        _lock_chain()
        head = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or ""
        algorithm = digest_algorithm()
        entry = AuditEntry(
            obligation=obligation,
            actor=actor if actor is not None and actor.is_authenticated else None,
            action=AuditAction(action).value,
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
class ChainHead:
    """The last link of the chain: what a report states so a reader can check it later."""

    entry_id: int | None
    hash: str
    algorithm: str
    length: int


def chain_head_info() -> ChainHead:
    head = AuditEntry.objects.order_by("-id").values("id", "hash", "algorithm").first()
    if head is None:
        return ChainHead(None, "", digest_algorithm(), 0)
    return ChainHead(head["id"], head["hash"], head["algorithm"], AuditEntry.objects.count())


@dataclass
class ChainCheck:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""
    head: str = ""


def verify_chain(batch_size: int = 2000) -> ChainCheck:
    prev = ""
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        if entry.prev_hash != prev:
            return ChainCheck(False, checked, entry.id, "前一条摘要不符（记录被删除或插入）")
        try:
            digest = compute_digest(entry, entry.algorithm)
        except ValueError:
            return ChainCheck(False, checked, entry.id, f"摘要算法无法识别：{entry.algorithm!r}")
        if digest != entry.hash:
            return ChainCheck(False, checked, entry.id, "本条内容与摘要不符（记录被修改）")
        prev = entry.hash
        checked += 1
    return ChainCheck(True, checked, head=prev)
