"""Small builders for the workflow tests: an obligation without importing the whole regulation."""

import datetime as dt
import io
import itertools
import zipfile
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Department
from obligations.models import Article, Chapter, Clause, Evidence, Obligation, Regulation

_counter = itertools.count(1)


def make_obligation(
    department: Department | str,
    *,
    cooperating=(),
    status=Obligation.Status.NOT_STARTED,
    due_date: dt.date | None = None,
    text: str = "应当建立公共数据目录管理制度",
    article_number: int | None = None,
) -> Obligation:
    if isinstance(department, str):
        department = Department.objects.get(code=department)
    regulation, _ = Regulation.objects.get_or_create(
        code="test-reg", defaults={"title": "测试条例", "source_text": "", "source_sha256": ""}
    )
    chapter, _ = Chapter.objects.get_or_create(
        regulation=regulation, number=1, defaults={"label": "第一章", "title": "总则"}
    )
    number = article_number or next(_counter) + 100
    article, _ = Article.objects.get_or_create(
        regulation=regulation,
        number=number,
        defaults={"chapter": chapter, "label": f"第{number}条", "text": f"市大数据部门{text}，并向社会公布。"},
    )
    clause = Clause.objects.create(
        regulation=regulation,
        article=article,
        paragraph_number=1,
        ordinal=Clause.objects.filter(article=article).count() + 1,
        text=f"市大数据部门{text}",
        subject="市大数据部门",
        kind=Clause.Kind.DUTY,
    )
    obligation = Obligation.objects.create(clause=clause, department=department, status=status, due_date=due_date)
    for code in cooperating:
        obligation.cooperating.add(Department.objects.get(code=code))
    return obligation


def add_link_evidence(obligation: Obligation, user) -> Evidence:
    return Evidence.objects.create(
        obligation=obligation,
        department=user.department,
        kind=Evidence.Kind.LINK,
        description="方案",
        url="https://example.gov.cn/plan",
        uploaded_by=user,
    )


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 32
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def zip_bytes(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            archive.writestr(member, "<x/>")
    return buffer.getvalue()


DOCX = zip_bytes("[Content_Types].xml", "word/document.xml")
XLSX = zip_bytes("[Content_Types].xml", "xl/workbook.xml")
OFD = zip_bytes("OFD.xml", "Doc_0/Document.xml")


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def stored_files(settings) -> list:
    """Every file under MEDIA_ROOT (the evidence store)."""
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def fast_passwords(settings):
    """The cast is created for every test; PBKDF2 would make the role matrix take minutes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
