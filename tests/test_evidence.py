"""Evidence: type by content, size, names, digest, all-or-nothing storage, downloads."""

import hashlib
import io
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from core import errors
from obligations import audit, services
from obligations.models import AuditEntry, Evidence
from tests.factories import (
    DOCX,
    EXE,
    GIF,
    JPEG,
    OFD,
    OLE,
    PDF,
    PNG,
    XLSX,
    fast_passwords,
    make_obligation,
    stored_files,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    fast_passwords(settings)
    settings.MEDIA_ROOT = tmp_path / "evidence"
    return settings


def add_file(obligation, user, name, content):
    return services.evidence_add(
        obligation=obligation, actor=user, kind="file", description="材料", file=upload(name, content)
    )


@pytest.mark.parametrize(
    "name,content,content_type",
    [
        ("方案.pdf", PDF, "application/pdf"),
        ("通知.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("台账.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("公文.ofd", OFD, "application/ofd"),
        ("旧文件.doc", OLE, "application/msword"),
        ("旧表格.xls", OLE, "application/vnd.ms-excel"),
        ("现场.png", PNG, "image/png"),
        ("现场.JPG", JPEG, "image/jpeg"),
        ("动图.gif", GIF, "image/gif"),
    ],
)
def test_accepted_files_are_stored_with_digest_size_and_original_name(cast, settings, name, content, content_type):
    o = make_obligation("JN-DSJ")
    e = add_file(o, cast["alice"], name, content)
    assert e.kind == "file" and e.content_type == content_type
    assert e.size == len(content) and e.digest == hashlib.sha256(content).hexdigest() and e.digest_algorithm == "sha256"
    assert e.original_name == name
    # Stored under a random name, never the user's.
    assert name not in e.file.name and e.file.name.startswith("evidence/")
    assert [p.read_bytes() for p in stored_files(settings)] == [content]
    entry = AuditEntry.objects.get(obligation=o, action="evidence.added")
    assert entry.after == {
        "evidence_id": e.pk,
        "kind": "file",
        "description": "材料",
        "digest": e.digest,
        "algorithm": "sha256",
        "size": len(content),
        "original_name": name,
    }
    o.refresh_from_db()
    assert o.last_activity_at is not None and o.version == 1


class RawName(io.BytesIO):
    """An upload whose name was not cleaned up on the way in (Django's parser strips paths)."""

    def __init__(self, name, content):
        super().__init__(content)
        self.name = name
        self.size = len(content)

    def chunks(self, chunk_size=65536):
        self.seek(0)
        while chunk := self.read(chunk_size):
            yield chunk


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("a.pdf.exe", EXE, "不支持的文件类型"),
        ("a.pdf", b"just some text pretending to be a pdf", "不支持的文件类型"),
        ("a.pdf", PNG, "扩展名与文件内容不符"),
        ("a.docx", b"PK\x03\x04" + b"\x00" * 40, "不支持的文件类型"),
        ("empty.pdf", b"", "文件为空"),
        ("../../etc/passwd", PDF, "不能包含路径"),
        ("..\\..\\boot.ini", PDF, "不能包含路径"),
        ("evil\x00.pdf", PDF, "控制字符"),
        ("bell\x07name.pdf", PDF, "控制字符"),
    ],
)
def test_refused_files_leave_nothing_behind(cast, settings, name, content, message):
    o = make_obligation("JN-DSJ")
    audit_count = AuditEntry.objects.count()
    with pytest.raises(errors.InvalidInput) as exc:
        services.evidence_add(
            obligation=o, actor=cast["alice"], kind="file", description="材料", file=RawName(name, content)
        )
    assert message in exc.value.message and exc.value.details["file"]
    assert not Evidence.objects.exists() and stored_files(settings) == []
    assert AuditEntry.objects.count() == audit_count


def test_files_over_the_limit_are_refused(cast, settings):
    settings.EVIDENCE_MAX_BYTES = 100
    o = make_obligation("JN-DSJ")
    with pytest.raises(errors.InvalidInput) as exc:
        add_file(o, cast["alice"], "big.pdf", PDF + b"0" * 200)
    assert "超过大小上限" in exc.value.message
    assert not Evidence.objects.exists() and stored_files(settings) == []


def test_a_failure_after_the_file_is_written_removes_the_file(cast, settings, monkeypatch):
    o = make_obligation("JN-DSJ")

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        add_file(o, cast["alice"], "方案.pdf", PDF)
    assert not Evidence.objects.exists() and stored_files(settings) == []


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"kind": "link", "url": "ftp://example.gov.cn/a"}, "url"),
        ({"kind": "link", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "link", "url": ""}, "url"),
        ({"kind": "document", "document_number": "济工信发2025第12号"}, "document_number"),
        ({"kind": "document", "document_number": "〔2025〕12号"}, "document_number"),
        ({"kind": "file"}, "file"),
        ({"kind": "photo"}, "kind"),
    ],
)
def test_bad_links_and_document_numbers_are_refused(cast, kwargs, field):
    o = make_obligation("JN-DSJ")
    with pytest.raises(errors.InvalidInput) as exc:
        services.evidence_add(obligation=o, actor=cast["alice"], description="材料", **kwargs)
    assert field in exc.value.details
    assert not Evidence.objects.exists()


def test_links_and_document_numbers_are_kept(cast):
    o = make_obligation("JN-DSJ")
    link = services.evidence_add(
        obligation=o, actor=cast["alice"], kind="link", description="公开", url="https://www.jinan.gov.cn/x"
    )
    doc = services.evidence_add(
        obligation=o, actor=cast["alice"], kind="document", description="印发", document_number="济工信发〔2025〕12号"
    )
    assert link.url == "https://www.jinan.gov.cn/x" and doc.document_number == "济工信发〔2025〕12号"


def test_display_name_strips_paths_and_control_characters():
    assert services.display_name("../../etc/pa\x00ss\x1bwd.pdf") == "passwd.pdf"
    assert services.display_name("C:\\Users\\x\\方案.pdf") == "方案.pdf"


def test_api_upload_and_download_as_attachment_with_rfc5987_name(cast, settings):
    o = make_obligation("JN-DSJ", cooperating=["JN-FGW"])
    client = APIClient()
    client.force_authenticate(cast["carol"])  # a cooperating body may add evidence
    response = client.post(
        f"/api/obligations/{o.pk}/evidence/",
        {"kind": "file", "description": "会议纪要", "file": upload("会议纪要.pdf", PDF)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["department"] == "JN-FGW" and body["digest"] == hashlib.sha256(PDF).hexdigest()
    client.force_authenticate(cast["alice"])
    download = client.get(body["download_url"])
    assert download.status_code == 200
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=utf-8''%E4%BC%9A%E8%AE%AE" in disposition
    assert b"".join(download.streaming_content) == PDF
    # Another body's staff: the obligation and its files do not exist for them.
    client.force_authenticate(cast["dave"])
    assert client.get(body["download_url"]).status_code == 404
    # The web download is the same, behind the session login.
    web = APIClient()
    web.force_login(cast["dave"])
    assert web.get(f"/obligations/{o.pk}/evidence/{body['id']}/download/").status_code == 404
    web.force_login(cast["audrey"])
    assert web.get(f"/obligations/{o.pk}/evidence/{body['id']}/download/").status_code == 200


def test_api_refuses_hostile_upload_with_one_error_shape_and_leaves_nothing(cast, settings):
    o = make_obligation("JN-DSJ")
    client = APIClient()
    client.force_authenticate(cast["alice"])
    response = client.post(
        f"/api/obligations/{o.pk}/evidence/",
        {"kind": "file", "description": "x", "file": upload("../../etc/passwd", PDF)},
        format="multipart",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "file" in body["details"]
    assert not Evidence.objects.exists() and stored_files(settings) == []


def test_evidence_files_are_not_under_a_static_url(settings):
    from django.urls import Resolver404, resolve

    # MEDIA_URL exists only because Django's live test server wants one; no URL serves it.
    with pytest.raises(Resolver404):
        resolve(f"{settings.MEDIA_URL}evidence/2025/01/0123456789abcdef")
    assert not Path(settings.MEDIA_ROOT).resolve().is_relative_to(Path(settings.STATIC_ROOT).resolve())


def test_a_write_that_fails_half_way_leaves_no_partial_file(cast, settings, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    o = make_obligation("JN-DSJ")
    real_save = FileSystemStorage._save

    def half_write(self, name, content):
        path = self.path(name)
        import os

        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(PDF[:5])
        raise OSError("No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", half_write)
    with pytest.raises(OSError):
        add_file(o, cast["alice"], "方案.pdf", PDF)
    monkeypatch.setattr(FileSystemStorage, "_save", real_save)
    assert not Evidence.objects.exists() and stored_files(settings) == []


def test_the_clean_up_task_removes_stale_hidden_partials_only(cast, settings):
    """A process killed mid-write leaves a `.partial-…` file: beat removes it after a day,
    never a visible file (however old) nor a partial still being written."""
    import os
    import time

    from core import storage
    from obligations.tasks import EVIDENCE_PARTIAL_SWEEP_TASK, remove_stale_evidence_partials
    from tracker.celery import app

    o = make_obligation("JN-DSJ")
    ev = add_file(o, cast["alice"], "方案.pdf", PDF)
    root = Path(settings.MEDIA_ROOT)
    stored = root / ev.file.name
    folder = stored.parent
    stale = folder / f"{storage.PARTIAL_PREFIX}方案.pdf-0123456789abcdef"
    fresh = folder / f"{storage.PARTIAL_PREFIX}通知.pdf-fedcba9876543210"
    nested = root / "elsewhere" / f"{storage.PARTIAL_PREFIX}x.pdf-00"
    visible_old = folder / "旧材料.pdf"
    nested.parent.mkdir()
    for path in (stale, fresh, nested, visible_old):
        path.write_bytes(b"half")
    old = time.time() - (storage.PARTIAL_MAX_AGE_HOURS * 3600 + 60)
    for path in (stale, nested, visible_old, stored):
        os.utime(path, (old, old))

    assert remove_stale_evidence_partials.apply().get() == {"removed": 2}
    assert not stale.exists() and not nested.exists()
    assert fresh.exists() and visible_old.exists()
    assert stored.read_bytes() == PDF
    assert remove_stale_evidence_partials.apply().get() == {"removed": 0}
    assert any(entry["task"] == EVIDENCE_PARTIAL_SWEEP_TASK for entry in app.conf.beat_schedule.values())
