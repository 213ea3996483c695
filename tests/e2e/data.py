"""Data for the browser journeys, written through the services (so the audit trail, versions and
timestamps are what the product itself would have written)."""

import datetime as dt

from obligations import services
from obligations.models import Obligation

ACTIVE_PER_PAGE = 20


def minimal_pdf(text: str = "Progress report") -> bytes:
    """A small but valid one-page PDF (header, catalog, pages, page, content stream, font, xref
    table with exact byte offsets, trailer), so that pypdf and any viewer can open it."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def act(obligation: Obligation, actor, action: str, reason: str = "") -> Obligation:
    obligation.refresh_from_db()
    return services.obligation_transition(
        obligation=obligation, actor=actor, action=action, reason=reason, expected_version=obligation.version
    )


def submit_with_link(obligation: Obligation, actor, note: str = "已完成并报送") -> Obligation:
    """start → evidence (a link) → submit, as the responsible body's staff would."""
    act(obligation, actor, "start")
    services.progress_add(obligation=obligation, actor=actor, text=note, percent=100)
    services.evidence_add(
        obligation=obligation,
        actor=actor,
        kind="link",
        description="工作方案公开链接",
        url="https://www.jinan.gov.cn/example",
    )
    return act(obligation, actor, "submit")


def set_due(obligation: Obligation, lead, due: dt.date, reason: str = "按督办计划设定") -> Obligation:
    obligation.refresh_from_db()
    return services.obligation_set_due_date(
        obligation=obligation, actor=lead, due_date=due, reason=reason, expected_version=obligation.version
    )


def owned_by(code: str):
    return Obligation.objects.active().filter(department__code=code).order_by("clause__article__number", "id")
