"""Journey 3: the auditor exports the compliance report as of a past date in three formats, and
finds nothing on any page that would change anything."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pypdf
import pytest
import time_machine

from obligations.models import AuditEntry, Obligation
from obligations.seeding import import_regulation
from tests.e2e.conftest import login, screenshot
from tests.e2e.data import act, owned_by, submit_with_link

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = dt.date(2025, 4, 30)


@pytest.fixture
def audit_world(departments, seed_text, cast):
    """A history: the regulation imported and one obligation submitted in March 2025, verified in
    June; another submitted today and waiting in the lead's queue."""
    with time_machine.travel(dt.datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI), tick=True):
        import_regulation(seed_text, code="jinan-digital-economy")
        historic = submit_with_link(owned_by("JN-DSJ").first(), cast["alice"])
    with time_machine.travel(dt.datetime(2025, 6, 2, 10, 0, tzinfo=SHANGHAI), tick=True):
        act(historic, cast["lena"], "verify")
    waiting = submit_with_link(owned_by("JN-DSJ")[1], cast["alice"])
    return {"historic": historic, "waiting": waiting}


def download(page, fmt: str, folder) -> bytes:
    with page.expect_download() as info:
        page.click(f"button[name=format][value={fmt}]")
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    assert info.value.suggested_filename.endswith(f"_{AS_OF:%Y%m%d}.{fmt}")
    return target.read_bytes()


def post_forms(page) -> list[str]:
    """The actions of every POST form on the page except logging out."""
    actions = page.locator("form").evaluate_all(
        "els => els.filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'post')"
        ".map(f => f.getAttribute('action'))"
    )
    return [a for a in actions if not a.endswith("/accounts/logout/")]


def test_auditor_exports_reports_as_of_a_date_and_finds_no_controls(page, live_server, cast, audit_world, tmp_path):
    historic, waiting = audit_world["historic"], audit_world["waiting"]
    total = Obligation.objects.active().count()

    login(page, live_server, "audrey")
    page.goto(f"{live_server.url}/reports/")
    assert page.locator("h1").inner_text() == "合规报告"
    page.fill("#id_as_of", AS_OF.isoformat())
    screenshot(page, "auditor-reports")

    # Excel: the obligation submitted in March is 待核验 on 30 April (verified only in June).
    workbook = openpyxl.load_workbook(io.BytesIO(download(page, "xlsx", tmp_path)), read_only=True)
    assert workbook.sheetnames[:2] == ["汇总", "义务明细"]
    summary = "\n".join(str(c) for row in workbook["汇总"].iter_rows(values_only=True) for c in row if c)
    assert "2025年04月30日日终" in summary
    rows = list(workbook["义务明细"].iter_rows(values_only=True))
    header = list(rows[0])
    records = {r[header.index("义务编号")]: dict(zip(header, r, strict=False)) for r in rows[1:]}
    assert len(records) == total
    assert records[historic.pk]["状态"] == "待核验"
    assert records[waiting.pk]["状态"] == "未启动"

    # CSV: same rows, same reconstruction, readable as UTF-8 (with BOM, for Excel).
    text = download(page, "csv", tmp_path).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert any("2025年04月30日日终" in cell for line in lines for cell in line)
    start = next(i for i, line in enumerate(lines) if line and line[0] == "条款")
    header = lines[start]
    body = [dict(zip(header, line, strict=False)) for line in lines[start + 1 :] if line]
    assert len(body) == total
    by_id = {int(r["义务编号"]): r for r in body}
    assert by_id[historic.pk]["状态"] == "待核验"

    # PDF: opens, has pages, and says as of when.
    reader = pypdf.PdfReader(io.BytesIO(download(page, "pdf", tmp_path)))
    assert len(reader.pages) >= 2
    first_page = reader.pages[0].extract_text()
    assert "《济南市数字经济促进条例》义务履行情况报告" in first_page
    assert "2025年04月30日日终" in first_page

    # Every export is on the audit trail.
    assert AuditEntry.objects.filter(action="report.exported", actor=cast["audrey"]).count() == 3

    # Nothing to change anything: the obligation pages, the dashboard, the task list.
    for obligation in (historic, waiting):
        page.goto(f"{live_server.url}/obligations/{obligation.pk}/")
        assert post_forms(page) == []
        assert page.locator(".actions, details form, button:has-text('核验通过'), button:has-text('退回')").count() == 0
    screenshot(page, "auditor-obligation")
    page.goto(f"{live_server.url}/dashboard/")
    assert page.locator(f"li[data-obligation-id='{waiting.pk}']").count() == 1  # the queue is shown ...
    assert post_forms(page) == []
    page.goto(f"{live_server.url}/dashboard/queue/")
    assert page.locator(f"tr[data-obligation-id='{waiting.pk}']").count() == 1  # ... and its page
    assert page.locator(".queue-action").count() == 0  # ... without its verify/return controls
    assert page.locator("button:has-text('核验通过'), button:has-text('退回')").count() == 0
    assert post_forms(page) == []
    page.goto(f"{live_server.url}/tasks/")
    assert post_forms(page) == []
