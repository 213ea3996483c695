"""Every write on obligations and the work on them.

Keyword-only functions named `<entity>_<verb>`, each in one transaction, each checking the
permission (`obligations.permissions.can`) and the state, each writing the audit trail with the
action names the reports rely on. Views, the API and commands call these; none holds a rule.

Writes that change the obligation row take the version the caller saw and do
`UPDATE … WHERE version = expected`: of two concurrent writes exactly one wins, the other gets
`StaleVersion` telling what changed since.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Department, User
from core import archives, clock
from core.calendar import add_working_days
from core.clock import today
from core.errors import Conflict, InvalidInput, InvalidTransition, NotAllowed, ServiceError, StaleVersion, invalid
from core.validators import safe_text
from regulations.models import BodyProposal

from . import audit
from .audit import AuditAction
from .models import (
    AuditEntry,
    DecisionSeen,
    DueDateChange,
    Evidence,
    ExtensionRequest,
    Milestone,
    Objection,
    Obligation,
    ProgressEntry,
    ReportingRequirement,
)
from .outbox import Event, excerpt, outbox_write
from .permissions import Action, can
from .seeding import import_regulation
from .signals import decisions_seen


def _require(user: User, action: Action, obligation: Obligation) -> None:
    if not can(user, action, obligation):
        raise NotAllowed()


# --------------------------------------------------------------------------------------------
# Optimistic locking.


def _describe(entry: AuditEntry) -> str:
    before, after = entry.before or {}, entry.after or {}
    labels = dict(Obligation.Status.choices)
    if entry.action == AuditAction.OBLIGATION_STATUS:
        old, new = before.get("status"), after.get("status")
        return f"状态：{labels.get(old, old)} → {labels.get(new, new)}"
    if entry.action == AuditAction.OBLIGATION_DUE_DATE:
        return f"完成期限：{before.get('due_date') or '未设置'} → {after.get('due_date') or '未设置'}"
    if entry.action == AuditAction.OBLIGATION_REASSIGNED:
        return f"责任单位：{_dept_name(before.get('department'))} → {_dept_name(after.get('department'))}"
    if entry.action == AuditAction.OBLIGATION_COOPERATING:
        names = "、".join(_dept_name(c) for c in after.get("cooperating", [])) or "无"
        return f"协办单位：{names}"
    return entry.action


def _dept_name(code: str | None) -> str:
    if not code:
        return "无"
    return Department.objects.filter(code=code).values_list("short_name", flat=True).first() or code


ROW_ACTIONS = (
    AuditAction.OBLIGATION_STATUS,
    AuditAction.OBLIGATION_DUE_DATE,
    AuditAction.OBLIGATION_REASSIGNED,
    AuditAction.OBLIGATION_COOPERATING,
)


def stale_message(obligation_id: int) -> str:
    entry = (
        AuditEntry.objects.filter(obligation_id=obligation_id, action__in=ROW_ACTIONS)
        .select_related("actor")
        .order_by("-id")
        .first()
    )
    if entry is None:
        return StaleVersion.default_message
    who = entry.actor.display_name if entry.actor else "系统"
    when = timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M")
    return f"该义务已被 {who} 于 {when} 修改（{_describe(entry)}），请刷新后重试"


def _parse_version(expected_version: Any) -> int:
    if expected_version is None or expected_version == "":
        raise invalid("version", "缺少版本号（version），请刷新页面后重试")
    try:
        return int(str(expected_version).strip().strip('"').removeprefix('W/"').strip('"'))
    except (TypeError, ValueError):
        raise invalid("version", "版本号格式不正确") from None


def _keep_missed_due_date(obligation: Obligation, fields: dict) -> None:
    """A write that changes the state or the date of an overdue obligation records the date it
    missed, so that the miss outlives the write (late hand-in, date moved after it passed)."""
    if ("status" in fields or "due_date" in fields) and obligation.missed_due_date is None:
        if obligation.is_overdue(today()):
            fields["missed_due_date"] = obligation.due_date


def _update_row(obligation: Obligation, expected_version: Any, **fields) -> None:
    """UPDATE … WHERE version = expected; refresh `obligation` on success, StaleVersion otherwise."""
    expected = _parse_version(expected_version)
    _keep_missed_due_date(obligation, fields)
    changed = Obligation.objects.filter(pk=obligation.pk, version=expected).update(
        version=F("version") + 1, updated_at=clock.now(), **fields
    )
    if changed != 1:
        raise StaleVersion(stale_message(obligation.pk), details={"current_version": _current_version(obligation)})
    obligation.refresh_from_db()


def _current_version(obligation: Obligation) -> int | None:
    return Obligation.objects.filter(pk=obligation.pk).values_list("version", flat=True).first()


def _check_version(obligation: Obligation, expected_version: Any) -> None:
    """Fail early (before state checks) when the caller's copy is already stale."""
    expected = _parse_version(expected_version)
    if expected != obligation.version:
        raise StaleVersion(stale_message(obligation.pk), details={"current_version": obligation.version})


def _fresh(obligation: Obligation) -> Obligation:
    return Obligation.objects.select_related("department", "clause__article").get(pk=obligation.pk)


def _touch(obligation: Obligation) -> None:
    # Activity is not a change of the obligation's own data: it does not bump the version, so a
    # cooperating body logging progress never makes the responsible body's form stale.
    now = clock.now()
    Obligation.objects.filter(pk=obligation.pk).update(last_activity_at=now)
    obligation.last_activity_at = now


def _reason(reason: str | None, *, required: bool = True, field_name: str = "reason") -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise invalid(field_name, "请填写原因")
    if len(reason) > 500:
        raise invalid(field_name, "原因不能超过 500 字")
    return reason


# --------------------------------------------------------------------------------------------
# State machine.

S = Obligation.Status

# action -> (states it may start from, state it leads to, permission)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, Action]] = {
    "start": ((S.NOT_STARTED,), S.IN_PROGRESS, Action.START),
    "submit": ((S.IN_PROGRESS,), S.SUBMITTED, Action.SUBMIT),
    "verify": ((S.SUBMITTED,), S.VERIFIED, Action.VERIFY),
    "return": ((S.SUBMITTED,), S.IN_PROGRESS, Action.RETURN),
    "reopen": ((S.VERIFIED,), S.IN_PROGRESS, Action.REOPEN),
}
TRANSITION_LABELS = {
    "start": "启动",
    "submit": "提交核验",
    "verify": "核验通过",
    "return": "退回",
    "reopen": "重新打开",
}
REASON_REQUIRED = {"return", "reopen"}
# The transitions people must hear about (starting work is nobody else's news).
TRANSITION_EVENTS = {
    "submit": Event.SUBMITTED,
    "verify": Event.VERIFIED,
    "return": Event.RETURNED,
    "reopen": Event.REOPENED,
}


def submission_missing(obligation: Obligation) -> list[str]:
    """What a submission for verification still lacks, as the things to do (empty: ready).

    The one rule: the refusal of `obligation_transition(action="submit")` and the obligation
    page's note beside 提交核验 both read it."""
    missing = []
    if not obligation.evidence.exists():
        missing.append("至少上传一份佐证材料")
    return missing


def available_transitions(obligation: Obligation) -> list[str]:
    return [name for name, (sources, _, _) in TRANSITIONS.items() if obligation.status in sources]


@transaction.atomic
def obligation_transition(
    *, obligation: Obligation, actor: User, action: str, expected_version: Any, reason: str = ""
) -> Obligation:
    if action not in TRANSITIONS:
        raise invalid("action", "未知操作：应为 start、submit、verify、return 或 reopen")
    sources, target, permission = TRANSITIONS[action]
    obligation = _fresh(obligation)
    _require(actor, permission, obligation)
    _check_version(obligation, expected_version)
    if obligation.status not in sources:
        raise InvalidTransition(
            f"当前状态为“{obligation.get_status_display()}”，不能{TRANSITION_LABELS[action]}",
            details={"status": obligation.status, "action": action},
        )
    reason = _reason(reason, required=action in REASON_REQUIRED)
    if action == "submit" and (missing := submission_missing(obligation)):
        raise InvalidTransition(f"提交核验前请{'；'.join(missing)}", code="evidence_required")
    old = obligation.status
    now = clock.now()
    fields: dict[str, Any] = {"status": target, "last_activity_at": now}
    if action == "submit":
        fields.update(submitted_at=now, submitted_by=actor)
    elif action == "verify":
        fields.update(verified_at=now, verified_by=actor)
    elif action in ("return", "reopen"):
        fields.update(verified_at=None, verified_by=None)
    _update_row(obligation, expected_version, **fields)
    after = {"status": target}
    if reason:
        after["reason"] = reason
    audit.record(AuditAction.OBLIGATION_STATUS, obligation=obligation, actor=actor, before={"status": old}, after=after)
    if action in TRANSITION_EVENTS:
        outbox_write(event=TRANSITION_EVENTS[action], obligation=obligation, actor=actor, payload={"reason": reason})
    return obligation


# --------------------------------------------------------------------------------------------
# Due dates and extensions.


def _set_due_date(
    *, obligation: Obligation, actor: User, due_date: dt.date | None, reason: str, expected_version: Any
) -> Obligation:
    old = obligation.due_date
    if old == due_date:
        raise invalid("due_date", "新期限与当前期限相同")
    _update_row(obligation, expected_version, due_date=due_date)
    DueDateChange.objects.create(
        obligation=obligation, old_date=old, new_date=due_date, reason=reason, changed_by=actor
    )
    audit.record(
        AuditAction.OBLIGATION_DUE_DATE,
        obligation=obligation,
        actor=actor,
        before={"due_date": old.isoformat() if old else None},
        after={"due_date": due_date.isoformat() if due_date else None, "reason": reason},
    )
    return obligation


@transaction.atomic
def obligation_set_due_date(
    *, obligation: Obligation, actor: User, due_date: dt.date | None, reason: str, expected_version: Any
) -> Obligation:
    obligation = _fresh(obligation)
    _require(actor, Action.SET_DUE_DATE, obligation)
    _check_version(obligation, expected_version)
    reason = _reason(reason)
    old = obligation.due_date
    _set_due_date(
        obligation=obligation, actor=actor, due_date=due_date, reason=reason, expected_version=expected_version
    )
    outbox_write(
        event=Event.DUE_DATE,
        obligation=obligation,
        actor=actor,
        payload={"old_date": _iso(old), "new_date": _iso(due_date), "reason": reason},
    )
    return obligation


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


@transaction.atomic
def extension_request(*, obligation: Obligation, actor: User, requested_date: dt.date, reason: str) -> ExtensionRequest:
    obligation = _fresh(obligation)
    _require(actor, Action.REQUEST_EXTENSION, obligation)
    reason = _reason(reason)
    if obligation.status in Obligation.CLOSED_STATUSES:
        raise InvalidTransition(f"义务已{obligation.get_status_display()}，无需申请延期")
    if requested_date <= today():
        raise invalid("requested_date", "申请延至的日期应晚于今天")
    if obligation.due_date and requested_date <= obligation.due_date:
        raise invalid("requested_date", f"申请延至的日期应晚于当前期限 {obligation.due_date:%Y-%m-%d}")
    if obligation.extension_requests.filter(status=ExtensionRequest.Status.PENDING).exists():
        raise Conflict("已有一项待审批的延期申请，请等待审批结果", code="extension_pending")
    try:
        with transaction.atomic():
            request = ExtensionRequest.objects.create(
                obligation=obligation, requested_by=actor, requested_date=requested_date, reason=reason
            )
    except IntegrityError:
        raise Conflict("已有一项待审批的延期申请，请等待审批结果", code="extension_pending") from None
    audit.record(
        AuditAction.EXTENSION_REQUESTED,
        obligation=obligation,
        actor=actor,
        after={"request_id": request.pk, "requested_date": requested_date.isoformat(), "reason": reason},
    )
    outbox_write(
        event=Event.EXTENSION_REQUESTED,
        obligation=obligation,
        actor=actor,
        payload={
            "request_id": request.pk,
            "requested_date": _iso(requested_date),
            "due_date": _iso(obligation.due_date),
            "reason": reason,
        },
    )
    return request


@transaction.atomic
def extension_decide(
    *, request: ExtensionRequest, actor: User, approve: bool, note: str = "", expected_version: Any = None
) -> ExtensionRequest:
    request = ExtensionRequest.objects.select_for_update().get(pk=request.pk)
    obligation = _fresh(request.obligation)
    _require(actor, Action.DECIDE_EXTENSION, obligation)
    if request.status != ExtensionRequest.Status.PENDING:
        raise InvalidTransition("该延期申请已处理", code="already_decided")
    note = _reason(note, required=not approve, field_name="note")
    old_due = obligation.due_date
    if approve:
        _check_version(obligation, expected_version)
        reason = f"同意延期申请：{request.reason}" + (f"（{note}）" if note else "")
        _set_due_date(
            obligation=obligation,
            actor=actor,
            due_date=request.requested_date,
            reason=reason,
            expected_version=expected_version,
        )
    request.status = ExtensionRequest.Status.APPROVED if approve else ExtensionRequest.Status.REJECTED
    request.decided_by = actor
    request.decided_at = clock.now()
    request.decision_note = note
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        AuditAction.EXTENSION_DECIDED,
        obligation=obligation,
        actor=actor,
        before={"status": ExtensionRequest.Status.PENDING},
        after={"request_id": request.pk, "status": request.status, "note": note},
    )
    # One decision, one message: an approval that moves the date is not a second event.
    outbox_write(
        event=Event.EXTENSION_DECIDED,
        obligation=obligation,
        actor=actor,
        payload={
            "request_id": request.pk,
            "approved": approve,
            "requested_date": _iso(request.requested_date),
            "old_date": _iso(old_due),
            "new_date": _iso(obligation.due_date),
            "request_reason": request.reason,
            "reason": note,
        },
    )
    return request


# --------------------------------------------------------------------------------------------
# Milestones.


@transaction.atomic
def milestone_add(*, obligation: Obligation, actor: User, title: str, due_date: dt.date) -> Milestone:
    obligation = _fresh(obligation)
    _require(actor, Action.MILESTONE, obligation)
    title = (title or "").strip()
    if not title:
        raise invalid("title", "请填写节点名称")
    if len(title) > 200:
        raise invalid("title", "节点名称不能超过 200 字")
    milestone = Milestone.objects.create(obligation=obligation, title=title, due_date=due_date, created_by=actor)
    audit.record(
        AuditAction.MILESTONE_ADDED,
        obligation=obligation,
        actor=actor,
        after={"milestone_id": milestone.pk, "title": title, "due_date": due_date.isoformat()},
    )
    return milestone


def _milestone_done(milestone: Milestone, actor: User) -> None:
    if milestone.done_at is not None:
        raise InvalidTransition("该节点已完成", code="milestone_done")
    milestone.done_at = clock.now()
    milestone.save(update_fields=["done_at"])
    audit.record(
        AuditAction.MILESTONE_DONE,
        obligation=milestone.obligation,
        actor=actor,
        after={"milestone_id": milestone.pk, "title": milestone.title},
    )


@transaction.atomic
def milestone_complete(*, milestone: Milestone, actor: User) -> Milestone:
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    _require(actor, Action.MILESTONE, milestone.obligation)
    _milestone_done(milestone, actor)
    _touch(milestone.obligation)
    return milestone


@transaction.atomic
def milestone_set_due_date(*, milestone: Milestone, actor: User, due_date: dt.date, reason: str) -> Milestone:
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    _require(actor, Action.MILESTONE, milestone.obligation)
    reason = _reason(reason)
    old = milestone.due_date
    if old == due_date:
        raise invalid("due_date", "新日期与当前日期相同")
    milestone.due_date = due_date
    milestone.save(update_fields=["due_date"])
    DueDateChange.objects.create(
        obligation=milestone.obligation,
        milestone=milestone,
        old_date=old,
        new_date=due_date,
        reason=reason,
        changed_by=actor,
    )
    audit.record(
        AuditAction.MILESTONE_DUE_DATE,
        obligation=milestone.obligation,
        actor=actor,
        before={"milestone_id": milestone.pk, "due_date": old.isoformat()},
        after={"milestone_id": milestone.pk, "due_date": due_date.isoformat(), "reason": reason},
    )
    outbox_write(
        event=Event.MILESTONE_MOVED,
        obligation=milestone.obligation,
        actor=actor,
        payload={
            "milestone_id": milestone.pk,
            "title": milestone.title,
            "old_date": _iso(old),
            "new_date": _iso(due_date),
            "reason": reason,
        },
    )
    return milestone


# --------------------------------------------------------------------------------------------
# Progress: append-only; a correction is a new entry.

REPORT_PERIOD_RE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|Q([1-4]))$")


@transaction.atomic
def progress_add(
    *,
    obligation: Obligation,
    actor: User,
    text: str,
    percent: int | None = None,
    milestone: Milestone | None = None,
    report_period: str = "",
    corrects: ProgressEntry | None = None,
) -> ProgressEntry:
    obligation = _fresh(obligation)
    _require(actor, Action.PROGRESS, obligation)
    errors: dict[str, list[str]] = {}
    text = (text or "").strip()
    if not text:
        errors["text"] = ["请填写工作进展"]
    elif len(text) > 5000:
        errors["text"] = ["工作进展不能超过 5000 字"]
    if percent is not None and not (0 <= int(percent) <= 100):
        errors["percent"] = ["完成比例应在 0 到 100 之间"]
    report_period = (report_period or "").strip()
    if report_period and not REPORT_PERIOD_RE.match(report_period):
        errors["report_period"] = ["报送期次格式应为 2025-03（月度）或 2025Q1（季度）"]
    if milestone is not None and milestone.obligation_id != obligation.pk:
        errors["milestone"] = ["该节点不属于本义务"]
    if corrects is not None and corrects.obligation_id != obligation.pk:
        errors["corrects"] = ["被更正的进展不属于本义务"]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], details=errors)
    department = actor.department if actor.department_id else obligation.department
    entry = ProgressEntry.objects.create(
        obligation=obligation,
        department=department,
        author=actor,
        text=text,
        percent=percent,
        milestone=milestone,
        report_period=report_period,
        corrects=corrects,
    )
    if milestone is not None and milestone.done_at is None:
        _milestone_done(milestone, actor)
    _touch(obligation)
    audit.record(
        AuditAction.PROGRESS_ADDED,
        obligation=obligation,
        actor=actor,
        after={
            "progress_id": entry.pk,
            "text": text,
            "percent": percent,
            "department": department.code,
            "corrects": corrects.pk if corrects else None,
        },
    )
    # Progress of a cooperating body is news to the responsible body; its own progress is not.
    if department.pk != obligation.department_id and obligation.cooperating.filter(pk=department.pk).exists():
        outbox_write(
            event=Event.PROGRESS,
            obligation=obligation,
            actor=actor,
            payload={
                "progress_id": entry.pk,
                "cooperating_department_id": department.pk,
                "percent": percent,
                "text": excerpt(text),
            },
        )
    return entry


# --------------------------------------------------------------------------------------------
# Evidence.

DOCUMENT_NUMBER_RE = re.compile(r"^.{1,20}〔\d{4}〕\d{1,5}号$")
# detected kind -> (allowed extensions, content type)
FILE_KINDS = {
    "pdf": ({".pdf"}, "application/pdf"),
    "docx": ({".docx"}, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ({".xlsx"}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ofd": ({".ofd"}, "application/ofd"),
    "ole": ({".doc", ".xls"}, None),
    "png": ({".png"}, "image/png"),
    "jpeg": ({".jpg", ".jpeg"}, "image/jpeg"),
    "gif": ({".gif"}, "image/gif"),
}
OLE_TYPES = {".doc": "application/msword", ".xls": "application/vnd.ms-excel"}
ALLOWED_EXTENSIONS_TEXT = "PDF、Word（doc/docx）、Excel（xls/xlsx）、图片（png/jpg/gif）或 OFD"


def display_name(name: str) -> str:
    """The original file name, safe to show: no path parts, no control characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name.strip()[:255]


FILE_NAME_MAX = 255
# Office documents and OFD files are ZIP archives. A real one has tens of entries (a thousand-page
# OFD a few thousand) and unpacks to a few times its size; these limits are far above that and far
# below what ties up a worker. Judged from what the archive declares, before it is opened.
ARCHIVE_MAX_ENTRIES = 10_000
ARCHIVE_MAX_DIRECTORY_BYTES = 4 * 1024 * 1024
ARCHIVE_MAX_UNPACKED_BYTES = 1024 * 1024 * 1024


def _refuse_file(code: str, message: str, **details) -> InvalidInput:
    return InvalidInput(message, code=code, details={"file": [message], **details})


def _check_name(name: str) -> str:
    """The name as the client sent it (core.uploads), refused rather than repaired: hidden or
    direction-changing characters, a path, or more than 255 characters."""
    raw = name or ""
    if not raw.strip():
        raise invalid("file", "文件名不能为空")
    try:
        safe_text(raw)
    except DjangoValidationError as exc:
        raise _refuse_file(exc.code, f"文件名{exc.messages[0]}") from None
    hidden = next((ch for ch in raw if unicodedata.category(ch)[0] == "C"), None)
    if hidden is not None:  # line breaks and tabs (text elsewhere), zero-width and other format characters
        raise _refuse_file("control_character", f"文件名不能包含不可见字符（U+{ord(hidden):04X}），请重命名后上传")
    if "/" in raw or "\\" in raw or raw.strip() in {".", ".."} or raw.startswith("."):
        raise invalid("file", "文件名不合法（不能包含路径），请重命名后上传")
    if len(raw) > FILE_NAME_MAX:
        raise _refuse_file(
            "file_name_too_long", f"文件名过长（{len(raw)} 个字符，最多 {FILE_NAME_MAX} 个），请重命名后上传"
        )
    return raw.strip()


def _too_many_entries(count: int) -> InvalidInput:
    return _refuse_file(
        "archive_too_many_entries",
        f"文件内部条目过多（{count} 个，最多 {ARCHIVE_MAX_ENTRIES} 个），不像正常的文档，未保存",
    )


def _archive_names(upload) -> set[str] | None:
    """The entry names of a ZIP archive; None when it cannot be read as one. An archive that
    declares too many entries or too much content is refused: from its end record first
    (core.archives), from its directory only once that is known to be small."""
    stated = archives.declared(upload)
    if stated is None:
        return None
    if stated.entries > ARCHIVE_MAX_ENTRIES or stated.directory_bytes > ARCHIVE_MAX_DIRECTORY_BYTES:
        raise _too_many_entries(stated.entries)
    try:
        with zipfile.ZipFile(upload) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        upload.seek(0)
    if len(entries) > ARCHIVE_MAX_ENTRIES:  # the end record understated them
        raise _too_many_entries(len(entries))
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > ARCHIVE_MAX_UNPACKED_BYTES:
        limit = ARCHIVE_MAX_UNPACKED_BYTES // 1024 // 1024
        raise _refuse_file(
            "archive_too_large", f"文件解压后过大（{unpacked / 1024 / 1024:.0f} MB，最多 {limit} MB），未保存"
        )
    return {entry.filename for entry in entries}


def detect_file_kind(upload) -> str | None:
    """What the file is, by its content. None when it is none of the accepted kinds. A ZIP-based
    kind (docx, xlsx, OFD) over the archive limits is refused here, before its directory is read."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        names = _archive_names(upload)
        if names is None:
            return None
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return "docx"
        if "xl/workbook.xml" in names and "[Content_Types].xml" in names:
            return "xlsx"
        if "OFD.xml" in names:
            return "ofd"
    return None


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


@dataclass
class CheckedFile:
    name: str
    kind: str
    content_type: str
    size: int
    digest: str
    algorithm: str = "sha256"


def evidence_check_file(upload) -> CheckedFile:
    name = _check_name(getattr(upload, "client_name", None) or getattr(upload, "name", "") or "")
    size = upload.size
    if not size:
        raise invalid("file", "文件为空，请选择有内容的文件")
    limit = settings.EVIDENCE_MAX_BYTES
    if size > limit:
        raise invalid("file", f"文件超过大小上限（{limit / 1024 / 1024:.0f} MB）")
    kind = detect_file_kind(upload)
    if kind is None:
        raise invalid("file", f"不支持的文件类型：仅接受 {ALLOWED_EXTENSIONS_TEXT}（按文件内容识别）")
    extensions, content_type = FILE_KINDS[kind]
    ext = _extension(name)
    if ext not in extensions:
        raise invalid("file", "文件扩展名与文件内容不符，请确认文件类型")
    content_type = content_type or OLE_TYPES[ext]
    # SHA-256 by default; SM3 (GB/T 32905) where 密评 asks for it. Recorded with the digest.
    algorithm = settings.AUDIT_DIGEST_ALGORITHM
    hasher = audit.new_hasher(algorithm)
    upload.seek(0)
    for chunk in upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(65536), b""):
        hasher.update(chunk)
    upload.seek(0)
    return CheckedFile(
        name=name, kind=kind, content_type=content_type, size=size, digest=hasher.hexdigest(), algorithm=algorithm
    )


def _check_description(description: str) -> str:
    description = (description or "").strip()
    if not description:
        raise invalid("description", "请填写材料说明")
    if len(description) > 500:
        raise invalid("description", "材料说明不能超过 500 字")
    return description


def evidence_add(
    *,
    obligation: Obligation,
    actor: User,
    kind: str,
    description: str,
    file=None,
    url: str = "",
    document_number: str = "",
) -> Evidence:
    """Add one piece of evidence. A file upload is all or nothing: the file is written first, the
    row in a transaction; if anything fails the file is deleted, so there is never a file without
    its row nor a row without its file. Call it outside any transaction of your own (a rollback
    of an outer transaction cannot be seen from here)."""
    obligation = _fresh(obligation)
    _require(actor, Action.EVIDENCE, obligation)
    description = _check_description(description)
    department = actor.department if actor.department_id else obligation.department
    evidence = Evidence(
        obligation=obligation, department=department, kind=kind, description=description, uploaded_by=actor
    )
    if kind == Evidence.Kind.FILE:
        if file is None:
            raise invalid("file", "请选择要上传的文件")
        checked = evidence_check_file(file)
        evidence.original_name = display_name(checked.name)
        evidence.content_type = checked.content_type
        evidence.size = checked.size
        evidence.digest = checked.digest
        evidence.digest_algorithm = checked.algorithm
    elif kind == Evidence.Kind.LINK:
        url = (url or "").strip()
        try:
            URLValidator(schemes=["http", "https"])(url)
        except DjangoValidationError:
            raise invalid("url", "请输入以 http:// 或 https:// 开头的有效链接") from None
        if len(url) > 1000:
            raise invalid("url", "链接不能超过 1000 个字符")
        evidence.url = url
    elif kind == Evidence.Kind.DOCUMENT:
        document_number = (document_number or "").strip()
        if not DOCUMENT_NUMBER_RE.match(document_number):
            raise invalid("document_number", "发文字号格式应类似“济工信发〔2025〕12号”")
        evidence.document_number = document_number
    else:
        raise invalid("kind", "材料类型应为 file（文件）、link（链接）或 document（发文字号）")

    stored_name = None
    storage = evidence.file.storage
    try:
        if kind == Evidence.Kind.FILE:
            # Name chosen before writing (a uuid, see evidence_upload_path) so that a write that
            # fails half-way (disk full) can still be cleaned up.
            stored_name = evidence.file.field.generate_filename(evidence, "upload")
            stored_name = storage.save(stored_name, File(file))
            evidence.file.name = stored_name
            # The digest is of what was stored, not of what we were told.
            if evidence.file.size != evidence.size:
                raise ServiceError("文件保存不完整，请重试", code="storage_error", details={})
        with transaction.atomic():
            evidence.save()
            _touch(obligation)
            audit.record(
                AuditAction.EVIDENCE_ADDED,
                obligation=obligation,
                actor=actor,
                after={
                    "evidence_id": evidence.pk,
                    "kind": kind,
                    "description": description,
                    "digest": evidence.digest,
                    "algorithm": evidence.digest_algorithm,
                    "size": evidence.size,
                    "original_name": evidence.original_name,
                },
            )
    except BaseException:
        if stored_name and storage.exists(stored_name):
            storage.delete(stored_name)
        raise
    return evidence


# --------------------------------------------------------------------------------------------
# Assignment: reassigning, cooperating bodies, objections.


def _department(code_or_obj) -> Department:
    if isinstance(code_or_obj, Department):
        return code_or_obj
    department = Department.objects.filter(code=code_or_obj, active=True).first()
    if department is None:
        raise invalid("department", f"机构代码不存在：{code_or_obj}")
    return department


def _reassign(*, obligation: Obligation, actor: User, department: Department, reason: str, expected_version: Any):
    if department.pk == obligation.department_id:
        raise invalid("department", "新责任单位与当前责任单位相同")
    if Obligation.objects.filter(clause_id=obligation.clause_id, department=department).exists():
        raise Conflict(f"{department.short_name}在该条款下已有一项义务，不能重复分配", code="duplicate_obligation")
    old = obligation.department.code
    _update_row(obligation, expected_version, department=department)
    obligation.cooperating.remove(department)
    audit.record(
        AuditAction.OBLIGATION_REASSIGNED,
        obligation=obligation,
        actor=actor,
        before={"department": old},
        after={"department": department.code, "reason": reason},
    )
    return obligation


@transaction.atomic
def obligation_reassign(
    *, obligation: Obligation, actor: User, department, reason: str, expected_version: Any
) -> Obligation:
    obligation = _fresh(obligation)
    _require(actor, Action.REASSIGN, obligation)
    _check_version(obligation, expected_version)
    reason = _reason(reason)
    old_department_id = obligation.department_id
    _reassign(
        obligation=obligation,
        actor=actor,
        department=_department(department),
        reason=reason,
        expected_version=expected_version,
    )
    outbox_write(
        event=Event.REASSIGNED,
        obligation=obligation,
        actor=actor,
        payload={
            "old_department_id": old_department_id,
            "new_department_id": obligation.department_id,
            "reason": reason,
        },
    )
    return obligation


@transaction.atomic
def obligation_add_cooperating(
    *, obligation: Obligation, actor: User, departments: list, expected_version: Any
) -> Obligation:
    obligation = _fresh(obligation)
    _require(actor, Action.COOPERATING, obligation)
    _check_version(obligation, expected_version)
    if not departments:
        raise invalid("departments", "请选择至少一个协办单位")
    new = [_department(d) for d in departments]
    if any(d.pk == obligation.department_id for d in new):
        raise invalid("departments", "责任单位不能同时作为协办单位")
    before = sorted(obligation.cooperating.values_list("code", flat=True))
    after = sorted(set(before) | {d.code for d in new})
    if after == before:
        raise invalid("departments", "所选单位已是协办单位")
    _update_row(obligation, expected_version)
    obligation.cooperating.add(*new)
    audit.record(
        AuditAction.OBLIGATION_COOPERATING,
        obligation=obligation,
        actor=actor,
        before={"cooperating": before},
        after={"cooperating": after},
    )
    outbox_write(
        event=Event.COOPERATING,
        obligation=obligation,
        actor=actor,
        payload={"added_department_ids": sorted({d.pk for d in new if d.code not in before})},
    )
    return obligation


def assigned_on(obligation: Obligation) -> dt.date:
    """The day the obligation was (last) given to its current body: the objection window starts there."""
    entry = (
        AuditEntry.objects.filter(
            obligation=obligation,
            action=AuditAction.OBLIGATION_REASSIGNED,
            after__department=obligation.department.code,
        )
        .order_by("-id")
        .first()
    )
    moment = entry.at if entry else obligation.created_at
    return timezone.localdate(moment)


def objection_deadline(obligation: Obligation) -> dt.date:
    return add_working_days(assigned_on(obligation), settings.OBJECTION_WINDOW_DAYS)


@transaction.atomic
def objection_raise(*, obligation: Obligation, actor: User, reason: str, suggested_department=None) -> Objection:
    obligation = _fresh(obligation)
    _require(actor, Action.OBJECT, obligation)
    reason = _reason(reason)
    deadline = objection_deadline(obligation)
    if today() > deadline:
        raise InvalidTransition(
            f"异议期已过（截至 {deadline:%Y-%m-%d}），如有问题请联系牵头部门", code="objection_window_closed"
        )
    if obligation.objections.filter(status=Objection.Status.PENDING, department=obligation.department).exists():
        raise Conflict("已有一项待处理的异议", code="objection_pending")
    suggested = _department(suggested_department) if suggested_department else None
    try:
        with transaction.atomic():
            objection = Objection.objects.create(
                obligation=obligation,
                department=obligation.department,
                raised_by=actor,
                reason=reason,
                suggested_department=suggested,
            )
    except IntegrityError:  # a concurrent request raised one first (one_pending_objection_per_body)
        raise Conflict("已有一项待处理的异议", code="objection_pending") from None
    audit.record(
        AuditAction.OBJECTION_RAISED,
        obligation=obligation,
        actor=actor,
        after={
            "objection_id": objection.pk,
            "department": obligation.department.code,
            "reason": reason,
            "suggested_department": suggested.code if suggested else None,
        },
    )
    outbox_write(
        event=Event.OBJECTION_RAISED,
        obligation=obligation,
        actor=actor,
        payload={
            "objection_id": objection.pk,
            "reason": reason,
            "suggested_department_id": suggested.pk if suggested else None,
        },
    )
    return objection


@transaction.atomic
def objection_decide(
    *,
    objection: Objection,
    actor: User,
    decision: str,
    note: str = "",
    new_department=None,
    expected_version: Any = None,
) -> Objection:
    objection = Objection.objects.select_for_update().get(pk=objection.pk)
    obligation = _fresh(objection.obligation)
    _require(actor, Action.DECIDE_OBJECTION, obligation)
    if objection.status != Objection.Status.PENDING:
        raise InvalidTransition("该异议已处理", code="already_decided")
    note = _reason(note, field_name="note")
    if decision == "reassign":
        if not new_department:
            raise invalid("new_department", "请选择调整后的责任单位")
        _check_version(obligation, expected_version)
        department = _department(new_department)
        _reassign(
            obligation=obligation,
            actor=actor,
            department=department,
            reason=f"异议成立：{note}",
            expected_version=expected_version,
        )
        objection.status = Objection.Status.REASSIGNED
        objection.new_department = department
    elif decision == "confirm":
        objection.status = Objection.Status.CONFIRMED
    else:
        raise invalid("decision", "处理结果应为 confirm（维持原分工）或 reassign（调整责任单位）")
    objection.decided_by = actor
    objection.decided_at = clock.now()
    objection.decision_note = note
    objection.save()
    audit.record(
        AuditAction.OBJECTION_DECIDED,
        obligation=obligation,
        actor=actor,
        before={"status": Objection.Status.PENDING},
        after={
            "objection_id": objection.pk,
            "status": objection.status,
            "note": note,
            "new_department": objection.new_department.code if objection.new_department else None,
        },
    )
    # One decision, one message: a reassignment decided here is not a second event.
    outbox_write(
        event=Event.OBJECTION_DECIDED,
        obligation=obligation,
        actor=actor,
        payload={
            "objection_id": objection.pk,
            "status": objection.status,
            "objecting_department_id": objection.department_id,
            "new_department_id": objection.new_department_id,
            "objection_reason": objection.reason,
            "reason": note,
        },
    )
    return objection


# --------------------------------------------------------------------------------------------
# Periodic reports (定期报送).


@dataclass
class Period:
    label: str
    start: dt.date
    end: dt.date


def period_containing(day: dt.date, frequency: str) -> Period:
    if frequency == ReportingRequirement.Frequency.MONTHLY:
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return Period(f"{day:%Y-%m}", start, nxt - dt.timedelta(days=1))
    quarter = (day.month - 1) // 3 + 1
    start = dt.date(day.year, 3 * quarter - 2, 1)
    nxt = dt.date(day.year + 1, 1, 1) if quarter == 4 else dt.date(day.year, 3 * quarter + 1, 1)
    return Period(f"{day.year}Q{quarter}", start, nxt - dt.timedelta(days=1))


@dataclass
class ReportingStatus:
    """Where a body stands with its periodic reports on a given day."""

    frequency: str
    period: str  # the period whose report is due next (or is missing)
    due_on: dt.date  # when that report is (was) due
    missing: bool  # the due date has passed and no report for the period was filed
    submitted_periods: list[str] = field(default_factory=list)


def reporting_status(requirement: ReportingRequirement, on: dt.date | None = None) -> ReportingStatus:
    on = on or today()
    filed = set(
        ProgressEntry.objects.filter(obligation_id=requirement.obligation_id)
        .exclude(report_period="")
        .values_list("report_period", flat=True)
    )
    current = period_containing(on, requirement.frequency)
    previous = period_containing(current.start - dt.timedelta(days=1), requirement.frequency)
    due_day = dt.timedelta(days=requirement.due_day)
    if previous.end >= requirement.starts_on and previous.label not in filed:
        due_on = previous.end + due_day
        return ReportingStatus(requirement.frequency, previous.label, due_on, on > due_on, sorted(filed))
    return ReportingStatus(requirement.frequency, current.label, current.end + due_day, False, sorted(filed))


@transaction.atomic
def reporting_require(
    *, obligation: Obligation, actor: User, frequency: str, starts_on: dt.date | None = None, due_day: int = 5
) -> ReportingRequirement:
    obligation = _fresh(obligation)
    _require(actor, Action.REQUIRE_REPORTING, obligation)
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
        payload={"frequency": frequency, "starts_on": _iso(starts_on), "due_day": int(due_day)},
    )
    return requirement


# --------------------------------------------------------------------------------------------
# The registry: bodies a regulation names that the registry lacked (BodyProposal).


@dataclass
class BodyDecision:
    department: Department
    obligations_created: int


def _require_admin(actor: User) -> None:
    if not (actor.is_superuser or actor.is_admin_role):
        raise NotAllowed("只有系统管理员可以确认机构")


def _open_proposal(proposal: BodyProposal) -> BodyProposal:
    locked = BodyProposal.objects.select_for_update().get(pk=proposal.pk)
    if locked.status != BodyProposal.Status.PROPOSED:
        raise Conflict(f"“{locked.name}”已确认，不能再次处理")
    return locked


def _adopt(proposal: BodyProposal, department: Department, actor: User, status: str) -> BodyDecision:
    """Record the decision, then import again every regulation with a duty waiting on the name:
    the name now resolves to the body, and the import creates its obligations with audit entries."""
    proposal.department = department
    proposal.status = status
    proposal.decided_at = clock.now()
    proposal.decided_by = actor
    proposal.save(update_fields=["department", "status", "decided_at", "decided_by"])
    audit.record(
        AuditAction.REGISTRY_BODY_CONFIRMED
        if status == BodyProposal.Status.CONFIRMED
        else AuditAction.REGISTRY_BODY_MAPPED,
        actor=actor,
        after={"name": proposal.name, "department": department.code},
    )
    created = 0
    regulations = {clause.regulation_id: clause.regulation for clause in proposal.waiting_clauses()}
    for regulation in regulations.values():
        created += import_regulation(regulation.source_text, code=regulation.code, actor=actor).obligations_created
    return BodyDecision(department, created)


@transaction.atomic
def body_proposal_confirm(
    *,
    proposal: BodyProposal,
    actor: User,
    code: str = "",
    name: str = "",
    short_name: str = "",
    level: str = "",
    kind: str = "",
) -> BodyDecision:
    """Confirm a proposed body as a new registry entry (name as written unless given)."""
    _require_admin(actor)
    proposal = _open_proposal(proposal)
    name = (name or proposal.name).strip()
    code = (code or f"NEW-{proposal.pk}").strip()
    level = level or proposal.level
    kind = kind or proposal.kind
    if Department.objects.filter(name=name).exists():
        raise invalid("name", f"已有名为“{name}”的机构，请改为对应现有机构")
    if Department.objects.filter(code=code).exists():
        raise invalid("code", f"机构代码“{code}”已被使用")
    department = Department(
        code=code, name=name, short_name=(short_name or name)[:50], level=level, kind=kind, phrases=[]
    )
    try:
        department.full_clean()
    except DjangoValidationError as exc:
        raise InvalidInput(details={k: list(v) for k, v in exc.message_dict.items()}) from exc
    department.save()
    return _adopt(proposal, department, actor, BodyProposal.Status.CONFIRMED)


@transaction.atomic
def body_proposal_map(*, proposal: BodyProposal, actor: User, department: Department) -> BodyDecision:
    """The name is another way the law names an existing body."""
    _require_admin(actor)
    proposal = _open_proposal(proposal)
    return _adopt(proposal, department, actor, BodyProposal.Status.MAPPED)


# --------------------------------------------------------------------------------------------
# Decisions seen (obligations.decisions): the obligation page was opened.


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
                [DecisionSeen(user=user, obligation=obligation, entry_id=entry_id, seen_at=timezone.now())],
                update_conflicts=True,
                unique_fields=["user", "obligation"],
                update_fields=["entry_id", "seen_at"],
            )
            recorded = True
    if user.is_authenticated:
        decisions_seen.send(sender=Obligation, user=user, obligation=obligation)
    return recorded
