"""Evidence files refused before anything is stored: names that are not plain names (refused, not
repaired as Django's parser would), and ZIP-based documents that declare too many entries or too
much content, judged before their directory is read."""

import io
import struct
import time
import zipfile
from dataclasses import replace

import pytest

from obligations.services import evidence
from tests.factories import DOCX, PDF, fast_passwords, make_obligation, zip_bytes
from tests.test_hostile_input import api, assert_error, everything, web

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    fast_passwords(settings)
    settings.MEDIA_ROOT = tmp_path / "evidence"


def named(name: str, content: bytes) -> io.BytesIO:
    """A file the test client sends under exactly this name (SimpleUploadedFile would cut it to 255)."""
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def post_api(user, obligation, file):
    return api(user).post(
        f"/api/obligations/{obligation.pk}/evidence/",
        {"kind": "file", "description": "方案", "file": file},
        format="multipart",
    )


def post_web(user, obligation, file):
    return web(user).post(
        f"/obligations/{obligation.pk}/act/evidence/",
        {"evidence-kind": "file", "evidence-description": "方案", "evidence-file": file},
        format="multipart",
    )


BAD_NAMES = [
    ("方案\u202efdp.exe.pdf", "bidi_control", "改变文字方向"),
    ("方案\u2066.pdf", "bidi_control", "改变文字方向"),
    ("报告\x1b[31m.pdf", "control_character", "控制字符"),
    ("报告\x7f.pdf", "control_character", "控制字符"),
    ("\u200b.pdf", "control_character", "不可见字符"),
    ("报告\u200b.pdf", "control_character", "不可见字符"),
    ("报告\t二.pdf", "control_character", "不可见字符"),
    ("长" * 252 + ".pdf", "file_name_too_long", "文件名过长（256 个字符，最多 255 个）"),
    ("a" * 296 + ".pdf", "file_name_too_long", "文件名过长（300 个字符，最多 255 个）"),
]


@pytest.mark.parametrize(("name", "code", "message"), BAD_NAMES)
def test_a_bad_file_name_is_refused_through_the_api_with_its_code(cast, settings, name, code, message):
    obligation = make_obligation("JN-DSJ")
    before = everything(settings)
    body = assert_error(post_api(cast["alice"], obligation, named(name, PDF)), 400, code)
    assert message in body["message"] and message in body["details"]["file"][0]
    assert everything(settings) == before


@pytest.mark.parametrize(("name", "code", "message"), BAD_NAMES)
def test_a_bad_file_name_is_refused_on_the_page_with_its_reason(cast, settings, name, code, message):
    obligation = make_obligation("JN-DSJ")
    before = everything(settings)
    response = post_web(cast["alice"], obligation, named(name, PDF))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert everything(settings) == before


@pytest.mark.parametrize("name", ["长" * 251 + ".pdf", "工作\u3000方案 (终稿).pdf"])
def test_a_proper_name_is_kept_exactly_as_sent(cast, name):
    obligation = make_obligation("JN-DSJ")
    response = post_api(cast["alice"], obligation, named(name, PDF))
    assert response.status_code == 201, response.content[:300]
    assert response.json()["original_name"] == name


def many_entries(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for i in range(count - 2):
            archive.writestr(f"w/{i}", b"")
    return buffer.getvalue()


def claims_entries(document: bytes, entries: int) -> bytes:
    """A real docx whose end record claims `entries` entries (ZIP64 above 65,535, as zip writers
    do): opening its directory would fail, so it is refused only if judged by the end record."""
    end = document.rindex(b"PK\x05\x06")
    if entries < 0xFFFF:
        return document[: end + 8] + struct.pack("<HH", entries, entries) + document[end + 12 :]
    zip64_at = end
    zip64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, 50 * entries, 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_at, 1)
    record = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return document[:end] + zip64 + locator + record


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(many_entries(10_001), id="10001-entries"),
        pytest.param(claims_entries(DOCX, 60_000), id="end-record-claims-60000"),
        pytest.param(claims_entries(DOCX, 450_000), id="zip64-end-record-claims-450000"),
    ],
)
def test_an_archive_with_too_many_entries_is_refused_before_anything_is_stored(cast, settings, content):
    obligation = make_obligation("JN-DSJ")
    before = everything(settings)
    started = time.perf_counter()
    body = assert_error(
        post_api(cast["alice"], obligation, named("方案.docx", content)), 400, "archive_too_many_entries"
    )
    assert "最多 10000 个" in body["message"]
    assert everything(settings) == before
    assert time.perf_counter() - started < 30  # a guard against a hang, not a benchmark


def test_an_archive_declaring_too_much_content_is_refused(cast, settings, monkeypatch):
    monkeypatch.setattr(evidence, "EVIDENCE_LIMITS", replace(evidence.EVIDENCE_LIMITS, unpacked_bytes=1024 * 1024))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x00" * (2 * 1024 * 1024))  # 2 MB of zeros: a few KB packed
    obligation = make_obligation("JN-DSJ")
    before = everything(settings)
    body = assert_error(
        post_api(cast["alice"], obligation, named("方案.docx", buffer.getvalue())), 400, "archive_too_large"
    )
    assert "解压后过大（2 MB，最多 1 MB）" in body["message"]
    assert everything(settings) == before


def test_ordinary_office_documents_and_ofd_are_still_accepted(cast):
    obligation = make_obligation("JN-DSJ")
    for name, content in [
        ("方案.docx", DOCX),
        ("大量条目.docx", many_entries(10_000)),
        ("文件.ofd", zip_bytes("OFD.xml")),
    ]:
        assert post_api(cast["alice"], obligation, named(name, content)).status_code == 201, name
