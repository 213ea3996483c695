"""The Word implementation report (实施情况报告): read back with python-docx, its figures are the
dashboard's for the same day, and it is laid out as an official document (GB/T 9704)."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from docx import Document
from docx.oxml.ns import qn

from obligations import services
from obligations.figures import format_rate
from obligations.models import AuditEntry, Obligation
from obligations.seeding import import_regulation
from tests.factories import add_link_evidence

pytestmark = pytest.mark.django_db

DAY = dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC)
STATES = ["未启动", "推进中", "待核验", "已核验", "已废止"]
STATE_KEYS = ["not_started", "in_progress", "submitted", "verified", "repealed"]


@pytest.fixture
def worked(departments, seed_text, cast):
    """The seed regulation, imported in May, with a week of work: started, handed in, verified,
    returned, overdue."""
    alice, lena = cast["alice"], cast["lena"]
    with time_machine.travel(DAY - dt.timedelta(days=30), tick=False):
        import_regulation(seed_text, code="jinan-digital-economy")
    dsj = list(Obligation.objects.filter(department__code="JN-DSJ").order_by("id"))
    others = list(Obligation.objects.exclude(department__code="JN-DSJ").order_by("id")[:6])
    with time_machine.travel(DAY - dt.timedelta(days=7), tick=False):
        for o in dsj[:6] + others:
            services.obligation_set_due_date(
                obligation=o, actor=lena, due_date=dt.date(2025, 5, 20), reason="统一部署", expected_version=o.version
            )
        for o in dsj[:4]:
            o.refresh_from_db()
            services.obligation_transition(obligation=o, actor=alice, action="start", expected_version=o.version)
            add_link_evidence(o, alice)
    with time_machine.travel(DAY - dt.timedelta(days=1), tick=False):
        for o in dsj[:3]:
            o.refresh_from_db()
            services.obligation_transition(obligation=o, actor=alice, action="submit", expected_version=o.version)
        verified, returned = dsj[0], dsj[1]
        verified.refresh_from_db()
        services.obligation_transition(
            obligation=verified, actor=lena, action="verify", expected_version=verified.version
        )
        returned.refresh_from_db()
        services.obligation_transition(
            obligation=returned, actor=lena, action="return", reason="佐证材料不完整", expected_version=returned.version
        )
    return {"dsj": dsj, "returned": returned}


def read(path) -> Document:
    return Document(str(path))


def text_of(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def table_rows(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def rate(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def test_the_reports_figures_are_the_dashboards_for_the_same_day(worked, cast, client, tmp_path):
    path = tmp_path / "report.docx"
    with time_machine.travel(DAY, tick=False):
        call_command("export_implementation_report", "--format", "docx", "-o", str(path))
        client.force_login(cast["lena"])
        summary = client.get("/api/dashboard/summary/").json()
        bodies = client.get("/api/dashboard/bodies/").json()
    doc = read(path)
    overall, by_body = doc.tables[0], doc.tables[1]

    header, values = table_rows(overall)
    assert header[: 1 + len(STATES) + 1] == ["义务总数", *STATES, "逾期未提交"]
    figures = dict(zip(header, values, strict=True))
    assert int(figures["义务总数"]) == summary["total"]
    for label, key in zip(STATES, STATE_KEYS, strict=True):
        assert int(figures[label]) == summary[key], label
    assert int(figures["逾期未提交"]) == summary["overdue"] > 0
    # One on-time rule (obligations.figures): the rate reads as the dashboard's, printed one way.
    assert figures["按期完成率"] == format_rate(summary["on_time_rate"])

    rows = table_rows(by_body)
    assert rows[0] == ["责任单位", "义务数", *STATES, "逾期", "按期完成率"]
    in_doc = {r[0]: r[1:] for r in rows[1:]}
    assert set(in_doc) == {b["full_name"] for b in bodies}
    for body in bodies:
        got = in_doc[body["full_name"]]
        expected = [body[k] for k in ("assigned", *STATE_KEYS, "overdue")]
        assert [int(v) for v in got[:7]] == expected, body["code"]
        assert got[7] == format_rate(body["on_time_rate"]), body["code"]
    assert sum(int(r[1]) for r in rows[1:]) == summary["total"]


def test_the_report_reads_as_an_official_document(worked, tmp_path):
    path = tmp_path / "report.docx"
    with time_machine.travel(DAY, tick=False):
        call_command("export_implementation_report", "--format", "docx", "-o", str(path))
    doc = read(path)
    section = doc.sections[0]
    # Word stores twentieths of a point: millimetres come back to a hundredth.
    assert [round(v.mm, 1) for v in (section.page_width, section.page_height)] == [210, 297]
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(v.mm, 1) for v in margins] == [37, 35, 28, 26]
    paragraphs = [p for p in doc.paragraphs if p.text]
    assert paragraphs[0].text == "《济南市数字经济促进条例》实施情况报告"
    assert paragraphs[1].text.startswith("济南市人民政府") and paragraphs[1].text.endswith("：")
    headings = [p.text for p in paragraphs if p.text[:2] in {"一、", "二、", "三、", "四、", "五、", "六、", "七、"}]
    assert headings == [
        "一、总体情况",
        "二、各责任单位落实情况",
        "三、各章义务落实情况",
        "四、逾期未提交事项",
        "五、退回待重新提交事项",
        "六、错过期限后调整期限事项",
        "七、数据来源与核验",
    ]
    chapters = [p.text for p in paragraphs if p.text.startswith("（")]
    assert chapters[0].startswith("（一）第一章")

    def east_asia(paragraph):
        return paragraph.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia"))

    by_text = {p.text: p for p in paragraphs}
    assert east_asia(by_text["一、总体情况"]) == "黑体"
    assert east_asia(by_text[chapters[0]]) == "楷体"
    assert east_asia(paragraphs[0]) == "方正小标宋简体"
    body = next(p for p in paragraphs if p.text.startswith("条例共分解义务"))
    assert east_asia(body) == "仿宋" and body.runs[0].font.size.pt == 16
    assert paragraphs[-2].text == "济南市工业和信息化局" and paragraphs[-1].text == "2025年6月2日"
    footer_xml = section.footer.paragraphs[0]._element.xml
    assert "PAGE" in footer_xml and "— " in section.footer.paragraphs[0].text


def test_the_report_names_overdue_and_returned_items_and_the_chain_head(worked, tmp_path):
    path = tmp_path / "report.docx"
    with time_machine.travel(DAY, tick=False):
        call_command("export_implementation_report", "--format", "docx", "-o", str(path))
    text = text_of(read(path))
    returned = worked["returned"]
    assert (
        f"{returned.department.name}，{returned.clause.citation}（2025年6月1日退回，退回原因：佐证材料不完整）" in text
    )
    assert "已逾期13天" in text  # due 2025-05-20, not handed in by 2025-06-02
    exported = AuditEntry.objects.get(action="report.exported")
    head = AuditEntry.objects.filter(id__lt=exported.id).order_by("-id").first()
    assert f"第{head.id}条记录，SHA256摘要{head.hash}" in text
    assert exported.after["format"] == "docx"


def test_a_past_day_is_rebuilt_from_the_audit_trail(worked, tmp_path):
    path = tmp_path / "report.docx"
    with time_machine.travel(DAY, tick=False):
        call_command("export_implementation_report", "--format", "docx", "--as-of", "2025-05-28", "-o", str(path))
    doc = read(path)
    header, values = table_rows(doc.tables[0])
    figures = dict(zip(header, values, strict=True))
    # On 28 May four had been started and nothing handed in.
    assert (figures["推进中"], figures["待核验"], figures["已核验"]) == ("4", "0", "0")
    text = text_of(doc)
    assert "截至2025年5月28日日终（依据审计记录还原）" in text and "无经核验退回" in text


def test_the_lead_downloads_it_and_staff_cannot(worked, cast, client):
    with time_machine.travel(DAY, tick=False):
        client.force_login(cast["alice"])
        assert client.post("/reports/implementation-report/").status_code == 404
        client.force_login(cast["lena"])
        assert "导出实施情况报告（Word）" in client.get("/reports/").content.decode()
        response = client.post("/reports/implementation-report/", {"as_of": ""})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    doc = Document(io.BytesIO(b"".join(response.streaming_content)))
    assert doc.paragraphs[0].text == "《济南市数字经济促进条例》实施情况报告"
    assert "lena" in text_of(doc)


def test_the_report_is_written_and_signed_by_the_configured_lead_department(worked, settings, tmp_path):
    # LEAD_DEPARTMENT_CODE (README) decides who writes the report, not a name in the code.
    settings.LEAD_DEPARTMENT_CODE = "JN-DSJ"
    path = tmp_path / "report.docx"
    with time_machine.travel(DAY, tick=False):
        call_command("export_implementation_report", "--format", "docx", "-o", str(path))
    doc = read(path)
    paragraphs = [p for p in doc.paragraphs if p.text.strip()]
    assert paragraphs[-2].text == "济南市大数据局"
    assert doc.core_properties.author == "济南市大数据局"
    assert "按照条例规定，济南市大数据局牵头" in text_of(doc)
    assert "工业和信息化局" not in text_of(doc)
