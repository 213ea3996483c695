"""Drill: an evidence upload is interrupted.

1. The client drops the connection half-way through the request body: a raw socket to a live
   server (pytest-django's live_server, a real threaded WSGI server) sends the headers and part
   of a multipart body, then closes. The request ends (request_finished) without an Evidence row
   and without a new file under the evidence directory; the next upload works.
2. Storage fails half-way through writing the file (a disk error): no Evidence row, no file
   left behind, no audit entry.
"""

import datetime as dt
import socket
import threading
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished

from accounts.services import api_token_create
from obligations import services
from obligations.models import AuditEntry, Evidence
from obligations.services import evidence as evidence_service
from tests.factories import make_obligation

PDF = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def multipart(fields: dict, file_bytes: bytes, boundary: str) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="方案.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + file_bytes
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def post_raw(live_server, path: str, token: str, body: bytes, boundary: str, *, send: int | None = None) -> bytes:
    """POST over a raw socket; with `send`, only that many body bytes go out before the socket closes."""
    host, port = live_server.thread.host, live_server.thread.port
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Token {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head + body[: len(body) if send is None else send])
        if send is not None:
            sock.shutdown(socket.SHUT_RDWR)  # the client is gone
            return b""
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def evidence_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "evidence"
    return settings.MEDIA_ROOT


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [200_000, 6 * 1024 * 1024], ids=["in-memory", "temp-file"])
def test_a_client_dropping_mid_body_leaves_no_file_and_no_record(
    cast, live_server, evidence_root, size, tmp_path, settings
):
    # Above FILE_UPLOAD_MAX_MEMORY_SIZE (5 MB) Django spools the upload to a temporary file.
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "upload-tmp"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    pdf = b"%PDF-1.4\n" + b"0" * size + b"\n%%EOF\n"
    obligation = make_obligation(cast["alice"].department, dt.date(2026, 12, 31))
    _, key = api_token_create(user=cast["alice"])
    path = f"/api/obligations/{obligation.id}/evidence/"
    boundary = uuid.uuid4().hex
    body = multipart({"kind": "file", "description": "实施方案"}, pdf, boundary)

    finished = threading.Event()

    def on_finished(**kwargs):
        finished.set()

    request_finished.connect(on_finished, dispatch_uid="drill-upload")
    try:
        for cut in (len(body) // 2, len(body) - 20):  # mid-file, and just before the closing boundary
            finished.clear()
            post_raw(live_server, path, key, body, boundary, send=cut)
            assert finished.wait(60), "the server never finished the dropped request"
            assert not Evidence.objects.exists()
            assert files_under(evidence_root) == []
            assert files_under(settings.FILE_UPLOAD_TEMP_DIR) == []
    finally:
        request_finished.disconnect(dispatch_uid="drill-upload")

    # The same request, whole, goes through (so the dropped ones were authenticated and
    # failed in the body) and is stored once.
    response = post_raw(live_server, path, key, body, boundary)
    assert response.startswith(b"HTTP/1.1 201"), response[:500]
    evidence = Evidence.objects.get()
    assert evidence.size == len(pdf)
    assert files_under(evidence_root) == [evidence.file.name]
    assert files_under(settings.FILE_UPLOAD_TEMP_DIR) == []


class FailingRead:
    """An upload whose data cannot be read past the first chunk (a disk error while storing)."""

    def __init__(self, data: bytes, fail_after: int):
        self.upload = SimpleUploadedFile("方案.pdf", data, content_type="application/pdf")
        self.fail_after = fail_after

    def __getattr__(self, name):
        return getattr(self.upload, name)

    def chunks(self, chunk_size=16 * 1024):
        self.upload.seek(0)
        data = self.upload.read()
        for start in range(0, len(data), chunk_size):
            if start >= self.fail_after:
                raise OSError(28, "No space left on device")
            yield data[start : start + chunk_size]


@pytest.mark.django_db
def test_storage_failing_mid_write_leaves_no_file_and_no_record(cast, evidence_root, monkeypatch):
    obligation = make_obligation(cast["alice"].department, dt.date(2026, 12, 31))
    upload = FailingRead(PDF, fail_after=64 * 1024)
    # The checks read the upload first (whole); the failure comes when storage reads it again.
    monkeypatch.setattr(evidence_service, "File", lambda f: upload)
    entries = AuditEntry.objects.count()

    with pytest.raises(OSError):
        services.evidence_add(
            obligation=obligation, actor=cast["alice"], kind="file", description="实施方案", file=upload.upload
        )

    assert not Evidence.objects.exists()
    assert files_under(evidence_root) == []
    assert AuditEntry.objects.count() == entries
