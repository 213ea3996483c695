"""Evidence: files (kind judged by content, digest recorded), links and document numbers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.core.validators import URLValidator
from django.db import transaction

from accounts.models import User
from core import filekinds
from core.errors import InvalidInput, ServiceError, invalid
from core.validators import safe_text

from .. import audit
from ..audit import AuditAction
from ..models import Evidence, Obligation
from ..permissions import Action
from .locking import fresh_obligation, require, touch_activity

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
EVIDENCE_LIMITS = filekinds.ArchiveLimits(entries=10_000, directory_bytes=4 * 1024 * 1024, unpacked_bytes=1024**3)


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


def detect_file_kind(upload) -> str | None:
    """What the file is, by its content (core.filekinds). None when it is none of the accepted
    kinds. A ZIP-based kind (docx, xlsx, OFD) over the archive limits is refused here, before its
    directory is read."""
    try:
        kind = filekinds.kind_of(upload, EVIDENCE_LIMITS)
    except filekinds.ArchiveRefused as refused:
        if refused.reason == "entries":
            raise _refuse_file(
                "archive_too_many_entries",
                f"文件内部条目过多（{refused.count} 个，最多 {EVIDENCE_LIMITS.entries} 个），不像正常的文档，未保存",
            ) from None
        limit = EVIDENCE_LIMITS.unpacked_bytes // 1024 // 1024
        raise _refuse_file(
            "archive_too_large",
            f"文件解压后过大（{refused.unpacked / 1024 / 1024:.0f} MB，最多 {limit} MB），未保存",
        ) from None
    return kind if kind in FILE_KINDS else None


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
    obligation = fresh_obligation(obligation)
    require(actor, Action.EVIDENCE, obligation)
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
            touch_activity(obligation)
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
