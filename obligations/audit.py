"""The audit trail: every change to an obligation, chained by digest.

`record()` is the one way to write an entry. Entries are never updated or deleted by the app;
`verify_chain()` walks them and reports the first link that does not hold.

A chain alone cannot tell a cut tail, or a rewrite that recomputed every later digest, from an
honest chain. Anchors can: a report states the head (entry N and its digest) and
`verify_audit_trail --expect-head N:DIGEST` checks it later; signed checkpoints (`checkpoint_write()`,
on a schedule and with every report) sign the head with a key kept outside the database and are
appended to a log outside the database too; `verify_anchors()` checks all of them.

Digests are SHA-256 or SM3 (GB/T 32905-2016, settings.AUDIT_DIGEST_ALGORITHM); each entry records
the algorithm it was hashed with, so a chain may mix both after the setting changes.
"""

import contextlib
import contextvars
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from core import clock

from .models import AuditCheckpoint, AuditEntry

log = logging.getLogger(__name__)


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
    REGISTRY_BODY_CONFIRMED = "registry.body_confirmed", "确认新机构"
    REGISTRY_BODY_MAPPED = "registry.body_mapped", "机构称谓归并"
    REGISTRY_BODY_MAPPED_SEVERAL = "registry.body_mapped_several", "机构称谓对应多个机构"
    REGISTRY_BODY_MAPPED_CLASS = "registry.body_mapped_class", "机构称谓归入机构类别"
    REGISTRY_CLASS_CREATED = "registry.class_created", "新增机构类别"
    REGISTRY_CLASS_CHANGED = "registry.class_changed", "调整机构类别"
    ACCOUNT_PROVISIONED = "account.provisioned", "统一身份认证开通账号"
    ACCOUNT_UPDATED = "account.updated", "统一身份认证变更机构或角色"
    ACCOUNT_DEPROVISIONED = "account.deprovisioned", "统一身份认证停用账号"
    REGULATION_IMPORTED = "regulation.imported", "导入法规"
    REGULATION_AMENDED = "regulation.amended", "导入法规修订版本"
    OBLIGATION_CARRIED = "obligation.carried", "法规修订结转"
    OBLIGATION_REVIEWED = "obligation.reviewed", "确认修订后的条款"
    AMENDMENT_SCHEDULED = "amendment.scheduled", "确认法规修订（待生效）"
    AMENDMENT_WITHDRAWN = "amendment.withdrawn", "撤回待生效的法规修订"


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


# The head of the chain while a caller holds the chain (`chain_held`): [hash of the last entry].
_held_head: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("audit_chain_held", default=None)
# The entries a `chain_held(buffered=True)` block has recorded and not yet written.
_held_buffer: contextvars.ContextVar[list[AuditEntry] | None] = contextvars.ContextVar(
    "audit_chain_buffer", default=None
)
BUFFER_BATCH = 1000


@contextlib.contextmanager
def chain_held(*, buffered: bool = False) -> Iterator[None]:
    """Within this block, inside one transaction that keeps or undoes all of it (an amendment
    carrying thousands of obligations over), the chain's lock is taken and its head read once;
    each entry then links to the one written before it, without those two queries and the
    savepoint each `record` otherwise costs. The transaction-level lock is held until the commit,
    so no one else appends meanwhile. Not for a caller that rolls back part of its work (a
    savepoint undone inside the block would leave the remembered head pointing at nothing).

    `buffered`: the entries are written together (in batches, in the order recorded, so their
    ids keep the chain's order) when the block ends, and not at all when the block ends by an
    exception or with its transaction marked for rollback (a 台账 preview, a refused ledger).
    Only for a caller that reads no audit entry of its own run inside the block."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("chain_held() needs the caller's transaction")
    _lock_chain()
    buffer: list[AuditEntry] | None = [] if buffered else None
    token = _held_head.set([chain_head()])
    buffer_token = _held_buffer.set(buffer)
    try:
        yield
        if buffer and not transaction.get_rollback():
            AuditEntry.objects.bulk_create(buffer, batch_size=BUFFER_BATCH)
    finally:
        _held_buffer.reset(buffer_token)
        _held_head.reset(token)


def record(action: AuditAction, *, obligation=None, actor=None, before: dict | None = None, after: dict | None = None):
    """Append one entry to the chain, inside the caller's transaction (or to the buffer of a
    `chain_held(buffered=True)` block, written when the block ends)."""
    held = _held_head.get()
    if held is not None:
        entry = _entry(action, obligation, actor, before, after, head=held[0])
        buffer = _held_buffer.get()
        if buffer is None:
            entry.save()
        else:
            buffer.append(entry)
        held[0] = entry.hash
        return entry
    with transaction.atomic():
        _lock_chain()
        head = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or ""
        entry = _entry(action, obligation, actor, before, after, head=head)
        entry.save()
        return entry


def _entry(action, obligation, actor, before: dict | None, after: dict | None, *, head: str) -> AuditEntry:
    algorithm = digest_algorithm()
    entry = AuditEntry(
        obligation=obligation,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=AuditAction(action).value,
        at=clock.now(),
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        prev_hash=head,
        algorithm=algorithm,
    )
    entry.hash = compute_digest(entry, algorithm)
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
    head_id: int | None = None
    head_algorithm: str = ""
    # For the entries asked about (`watch`): id -> (digest, position in the chain, 1-based).
    seen: dict[int, tuple[str, int]] = field(default_factory=dict)


def verify_chain(batch_size: int = 2000, watch: set[int] | frozenset[int] = frozenset()) -> ChainCheck:
    prev, prev_id, prev_algorithm = "", None, ""
    checked = 0
    seen: dict[int, tuple[str, int]] = {}
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        if entry.prev_hash != prev:
            return ChainCheck(False, checked, entry.id, "前一条摘要不符（记录被删除或插入）", seen=seen)
        try:
            digest = compute_digest(entry, entry.algorithm)
        except ValueError:
            return ChainCheck(False, checked, entry.id, f"摘要算法无法识别：{entry.algorithm!r}", seen=seen)
        if digest != entry.hash:
            return ChainCheck(False, checked, entry.id, "本条内容与摘要不符（记录被修改）", seen=seen)
        prev, prev_id, prev_algorithm = entry.hash, entry.id, entry.algorithm
        checked += 1
        if entry.id in watch:
            seen[entry.id] = (entry.hash, checked)
    return ChainCheck(True, checked, head=prev, head_id=prev_id, head_algorithm=prev_algorithm, seen=seen)


# --------------------------------------------------------------------------------------------
# Anchors: the head a report stated, and signed checkpoints.


def head_statement(entry_id: int, algorithm: str, digest: str) -> str:
    """How a report states the chain's head; `verify_audit_trail --expect-head N:DIGEST` checks it."""
    return f"第 {entry_id} 条记录，{algorithm.upper()} {digest}"


def parse_expected_head(text: str) -> tuple[int, str]:
    """ "N:DIGEST" -> (N, digest); ValueError with a Chinese message otherwise."""
    number, _, digest = (text or "").strip().partition(":")
    digest = digest.strip().lower()
    if not number.strip().isdigit() or not digest or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"链头应写作“记录编号:摘要”（如 1234:9f86d0…），收到 {text!r}")
    return int(number), digest


def _checkpoint_key() -> bytes:
    return (getattr(settings, "AUDIT_CHECKPOINT_KEY", "") or "").encode("utf-8")


def _verifying_keys() -> list[bytes]:
    """The current key, then retired ones: checkpoints signed before a key change still verify."""
    retired = [k.encode("utf-8") for k in getattr(settings, "AUDIT_CHECKPOINT_RETIRED_KEYS", []) if k]
    return [k for k in [_checkpoint_key(), *retired] if k]


def _signature_holds(cp) -> bool:
    fields = _signed_fields(cp)
    return any(hmac.compare_digest(checkpoint_mac(**fields, key=key), cp.mac) for key in _verifying_keys())


def checkpoint_mac(
    *, entry_id: int, entry_hash: str, algorithm: str, length: int, signed_at, reason: str, key: bytes | None = None
) -> str:
    message = "|".join(
        [
            "tracker-audit-checkpoint-v1",
            str(entry_id),
            algorithm,
            entry_hash,
            str(length),
            signed_at.astimezone(dt.UTC).isoformat(),
            reason,
        ]
    ).encode("utf-8")
    return hmac.new(key or _checkpoint_key(), message, hashlib.sha256).hexdigest()


def _signed_fields(cp) -> dict:
    return {k: getattr(cp, k) for k in ("entry_id", "entry_hash", "algorithm", "length", "signed_at", "reason")}


def checkpoint_log_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_LOG)


def checkpoint_write(reason: str = AuditCheckpoint.Reason.SCHEDULE) -> AuditCheckpoint | None:
    """Sign the chain's current head, in the database and (after the commit) in the log file.

    Nothing is written when the chain is empty, when the head is already signed, or when no key
    is configured (that is logged: an unanchored chain cannot show a cut tail)."""
    if not _checkpoint_key():
        log.warning("AUDIT_CHECKPOINT_KEY is not set: no signed checkpoint of the audit chain was written")
        return None
    with transaction.atomic():
        _lock_chain()  # the head and the count belong to the same moment
        head = AuditEntry.objects.order_by("-id").values("id", "hash", "algorithm").first()
        if head is None:
            return None
        last = AuditCheckpoint.objects.order_by("-id").first()
        if last and last.entry_id == head["id"] and last.entry_hash == head["hash"]:
            return None
        checkpoint = AuditCheckpoint(
            entry_id=head["id"],
            entry_hash=head["hash"],
            algorithm=head["algorithm"],
            length=AuditEntry.objects.filter(id__lte=head["id"]).count(),
            signed_at=clock.real_now(),  # when it was really signed, even while a story is told
            reason=reason,
        )
        checkpoint.mac = checkpoint_mac(**_signed_fields(checkpoint))
        checkpoint.save()
        transaction.on_commit(lambda: _append_to_log(checkpoint))
    return checkpoint


def _log_line(cp: AuditCheckpoint) -> str:
    fields = _signed_fields(cp) | {"checkpoint": cp.pk, "mac": cp.mac}
    fields["signed_at"] = cp.signed_at.astimezone(dt.UTC).isoformat()
    return json.dumps(fields, ensure_ascii=False, sort_keys=True) + "\n"


def _append_to_log(cp: AuditCheckpoint) -> None:
    # One write() of one line with O_APPEND: lines from several processes never interleave.
    path = checkpoint_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, _log_line(cp).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        log.exception("could not append audit checkpoint %s to %s", cp.pk, path)


@dataclass
class LoggedCheckpoint:
    """A checkpoint as the log file holds it (the same fields as the row)."""

    checkpoint: int
    entry_id: int
    entry_hash: str
    algorithm: str
    length: int
    signed_at: dt.datetime
    reason: str
    mac: str
    source: str

    @property
    def pk(self) -> int:
        return self.checkpoint


def read_checkpoint_log(path: Path) -> tuple[list[LoggedCheckpoint], list[str]]:
    """The checkpoints in a log file, and a problem for each line that cannot be read."""
    items, problems = [], []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                # A copy shipped through syslog has the sender's prefix before the JSON object.
                data = json.loads(line[line.index("{") :])
                data["signed_at"] = dt.datetime.fromisoformat(data["signed_at"])
                items.append(LoggedCheckpoint(**data, source=f"{path}:{number}"))
            except (ValueError, TypeError, KeyError):
                problems.append(f"检查点日志 {path} 第 {number} 行无法识别（被改动或截断）")
    return items, problems


@dataclass
class AnchorCheck:
    chain: ChainCheck
    problems: list[str]
    checkpoints: int = 0
    logged: int = 0
    signatures_checked: bool = True

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems


def verify_anchors(
    *, expect_head: tuple[int, str] | None = None, log_paths: list[Path] | None = None, batch_size: int = 2000
) -> AnchorCheck:
    """Walk the chain once and check it against every anchor: the head a report stated, the
    signed checkpoints in the database and those in the log file(s) outside it. Each problem
    names the entry (or the range of entries) that is missing or changed."""
    problems: list[str] = []
    stored = list(AuditCheckpoint.objects.order_by("entry_id", "id"))
    if log_paths is None:
        default = checkpoint_log_path()
        log_paths = [default] if default.exists() else []
    logged: list[LoggedCheckpoint] = []
    for path in log_paths:
        try:
            items, unreadable = read_checkpoint_log(path)
        except OSError as exc:
            problems.append(f"检查点日志 {path} 无法读取：{exc.strerror or exc}")
            continue
        logged += items
        problems += unreadable

    watch = {cp.entry_id for cp in stored} | {cp.entry_id for cp in logged}
    if expect_head:
        watch.add(expect_head[0])
    chain = verify_chain(batch_size=batch_size, watch=watch)
    last_id = chain.head_id if chain.ok else None
    after_last = f"现存最后一条为第 {last_id} 条" if last_id else "审计链现为空"

    if expect_head:
        number, digest = expect_head
        if number not in chain.seen:
            if chain.ok:
                problems.append(f"报告载明的链头第 {number} 条记录不存在（记录被删除）；{after_last}")
        elif chain.seen[number][0] != digest:
            problems.append(
                f"第 {number} 条记录的摘要与报告载明的不符（记录被改写）：报告为 {digest}，现为 {chain.seen[number][0]}"
            )

    signatures_checked = bool(_checkpoint_key())
    if (stored or logged) and not signatures_checked:
        problems.append("未配置 AUDIT_CHECKPOINT_KEY，无法校验签名检查点")

    def check(cp, where: str, previous_good: int | None) -> bool:
        label = f"{where}签名检查点 #{cp.pk}（{timezone.localtime(cp.signed_at):%Y-%m-%d %H:%M:%S}）"
        if signatures_checked and not _signature_holds(cp):
            problems.append(f"{label}的签名无效（检查点被伪造或改动）")
            return False
        if not chain.ok:
            return True  # the chain's own break is reported; positions after it are unknown
        since = f"第 {previous_good} 条及以前与检查点相符，" if previous_good else ""
        if cp.entry_id not in chain.seen:
            problems.append(
                f"第 {cp.entry_id} 条记录缺失：{label}记载其摘要 {cp.entry_hash}，链长 {cp.length} 条；"
                f"{after_last}（记录被删除）"
            )
            return False
        digest, position = chain.seen[cp.entry_id]
        if digest != cp.entry_hash:
            problems.append(
                f"第 {cp.entry_id} 条记录的摘要与{label}不符（记录被改写并重算摘要）："
                f"检查点记载 {cp.entry_hash}，现为 {digest}；{since}改动在第 {cp.entry_id} 条及以前"
            )
            return False
        if position != cp.length:
            problems.append(
                f"第 {cp.entry_id} 条记录之前的记录数与{label}不符：检查点记载链长 {cp.length} 条，现为 {position} 条"
                f"（{since}记录被删除或插入）"
            )
            return False
        return True

    good = None
    for cp in stored:
        if check(cp, "", good):
            good = cp.entry_id
    by_id = {cp.pk: cp for cp in stored}
    good = None
    for cp in sorted(logged, key=lambda c: (c.entry_id, c.checkpoint)):
        if not check(cp, "日志中的", good):
            continue
        good = cp.entry_id
        row = by_id.get(cp.checkpoint)
        if row is None:
            problems.append(
                f"签名检查点 #{cp.checkpoint}（第 {cp.entry_id} 条记录）在数据库中缺失（检查点被删除），见 {cp.source}"
            )
        elif row.mac != cp.mac or _signed_fields(row) != _signed_fields(cp):
            problems.append(
                f"签名检查点 #{cp.checkpoint}（第 {cp.entry_id} 条记录）与 {cp.source} 不符（检查点被改动）"
            )
    return AnchorCheck(chain, problems, len(stored), len(logged), signatures_checked)
