"""Builders for test data: obligations without importing the whole regulation, and the small
files the evidence tests upload. The one place tests make obligations."""

import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Department
from obligations.models import Evidence, Obligation
from regulations.models import Article, Chapter, Clause, Regulation
from regulations.parser import article_label

SUBJECT = "市大数据部门"
DUTY = "应当建立公共数据目录管理制度"


def regulation_for_tests() -> Regulation:
    regulation, _ = Regulation.objects.get_or_create(
        code="test-reg", defaults={"title": "测试条例", "source_text": "测试", "source_sha256": "0" * 64}
    )
    return regulation


def _department(department: Department | str) -> Department:
    return Department.objects.get(code=department) if isinstance(department, str) else department


def make_obligations(
    department: Department | str,
    due_dates: Iterable[dt.date | None],
    *,
    status: str = Obligation.Status.NOT_STARTED,
    text: str = DUTY,
    cooperating: Iterable[str] = (),
    article_number: int | None = None,
) -> list[Obligation]:
    """One obligation per due date, each on its own article (第N条第一款: "市大数据部门" + text)."""
    department, due_dates = _department(department), list(due_dates)
    regulation = regulation_for_tests()
    chapter, _ = Chapter.objects.get_or_create(
        regulation=regulation, number=1, defaults={"label": "第一章", "title": "总则"}
    )
    if article_number is None:
        last = Article.objects.filter(regulation=regulation).order_by("-number").values_list("number", flat=True)
        start = (last.first() or 0) + 1
    else:
        start = article_number
    numbers = range(start, start + len(due_dates))
    existing = {a.number: a for a in Article.objects.filter(regulation=regulation, number__in=numbers)}
    Article.objects.bulk_create(
        [
            Article(
                regulation=regulation,
                chapter=chapter,
                number=n,
                label=article_label(n),
                text=f"{SUBJECT}{text}，并向社会公布。",
            )
            for n in numbers
            if n not in existing
        ]
    )
    articles = {a.number: a for a in Article.objects.filter(regulation=regulation, number__in=numbers)}
    clauses = Clause.objects.bulk_create(
        [
            Clause(
                regulation=regulation,
                article=articles[n],
                paragraph_number=1,
                ordinal=Clause.objects.filter(article=articles[n]).count() + 1,
                text=f"{SUBJECT}{text}",
                subject=SUBJECT,
                kind=Clause.Kind.DUTY,
            )
            for n in numbers
        ]
    )
    obligations = Obligation.objects.bulk_create(
        [
            Obligation(clause=clause, department=department, due_date=due, status=status)
            for clause, due in zip(clauses, due_dates, strict=True)
        ]
    )
    bodies = [_department(code) for code in cooperating]
    for obligation in obligations:
        obligation.cooperating.add(*bodies)
    return obligations


def make_obligation(department: Department | str, due_date: dt.date | None = None, **kwargs) -> Obligation:
    return make_obligations(department, [due_date], **kwargs)[0]


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
