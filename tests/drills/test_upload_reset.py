"""Drill: an evidence upload cut by a connection reset, against gunicorn.

Django spools an upload above FILE_UPLOAD_MAX_MEMORY_SIZE (5 MB) to a temporary file. A client
that resets the connection (RST, not a clean close) in the middle of a 16 MB upload makes the
web server's read fail inside Django's multipart parser, with the file half written. The
temporary file must be gone, and closed, when that request ends: nothing left in the temporary
directory, no descriptor of a gunicorn worker pointing at it (not even a deleted file kept open);
the next whole upload is stored."""

import datetime as dt
import os
import socket
import struct
import time
import uuid
from pathlib import Path

import pytest

from accounts.services import api_token_create
from obligations.models import Evidence
from tests.factories import make_obligation

from .support import Gunicorn, child_env, database_url, wait_for
from .test_upload_interrupted import multipart

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SIZE = 16 * 1024 * 1024


def worker_pids(server: Gunicorn) -> list[int]:
    path = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return [int(p) for p in path.read_text().split()]


def temp_files(temp_dir: Path) -> list[str]:
    return sorted(p.name for p in temp_dir.iterdir() if not p.name.startswith("wgunicorn-"))


def open_temp_files(server: Gunicorn, temp_dir: Path) -> list[str]:
    """Descriptors of the gunicorn workers that point into the temporary directory."""
    found = []
    for pid in worker_pids(server):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(str(temp_dir)) and "/wgunicorn-" not in target:  # gunicorn's heartbeat
                found.append(f"{pid}:{target}")
    return found


def send(server: Gunicorn, token: str, obligation_id: int, body: bytes, boundary: str, *, cut: int | None) -> bytes:
    head = (
        f"POST /api/obligations/{obligation_id}/evidence/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Token {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    try:
        if cut is not None:
            sock.sendall(head + body[:cut])
            time.sleep(1)  # the server is reading and spooling
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
            return b""
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        sock.close()


def test_an_upload_reset_mid_body_leaves_no_temporary_file_open_or_on_disk(cast, tmp_path):
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    evidence_root = tmp_path / "evidence"
    obligation = make_obligation(cast["alice"].department, dt.date(2026, 12, 31))
    _, token = api_token_create(user=cast["alice"])
    env = child_env(
        database_url=database_url(), redis_url="redis://127.0.0.1:1/0", TMPDIR=str(temp_dir),
        EVIDENCE_ROOT=str(evidence_root),
    )  # fmt: skip
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=1, threads=2).start()
    pdf = b"%PDF-1.4\n" + os.urandom(SIZE) + b"\n%%EOF\n"
    boundary = uuid.uuid4().hex
    body = multipart({"kind": "file", "description": "实施方案"}, pdf, boundary)
    try:
        for cut in (len(body) // 2, len(body) - 100):
            send(server, token, obligation.id, body, boundary, cut=cut)
            # The request ends when the read fails; give the worker a moment to notice.
            wait_for(lambda: not open_temp_files(server, temp_dir) and not temp_files(temp_dir), 30,
                     f"the temporary file to go: open {open_temp_files(server, temp_dir)}, "
                     f"on disk {temp_files(temp_dir)}", server)  # fmt: skip
        assert not Evidence.objects.exists()

        response = send(server, token, obligation.id, body, boundary, cut=None)
        assert response.startswith(b"HTTP/1.1 201"), response[:1000]
        assert Evidence.objects.get().size == len(pdf)
        assert open_temp_files(server, temp_dir) == [] and temp_files(temp_dir) == []
    finally:
        server.stop()
