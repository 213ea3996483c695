"""Journey 4: the first hour on the demo, as `make run` seeds it (a year into implementation).

The lead finds a dashboard that shows what it is for (work in every state, a trend over months);
the auditor's Excel carries the due-date history and the 曾逾期 fact, the PDF carries its own font;
the administrator reads the admin in Chinese, actions by their names, not their codes."""

import io
from io import StringIO

import openpyxl
import pypdf
import pytest
from django.conf import settings
from django.core.management import call_command

from obligations.audit import AuditAction
from obligations.models import DueDateChange
from tests.e2e.conftest import login, screenshot


@pytest.fixture
def demo(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=StringIO())


def figure(page, label: str) -> str:
    return page.locator(f".figure:has(.figure-label:text-is('{label}')) .figure-value").first.inner_text()


def test_the_lead_finds_a_year_of_work_on_the_dashboard(page, live_server, demo):
    login(page, live_server, "lead", settings.DEMO_PASSWORD)
    page.goto(f"{live_server.url}/dashboard/")
    assert int(figure(page, "义务总数")) > 300
    assert int(figure(page, "逾期")) > 0 and int(figure(page, "待核验")) > 0
    rate = figure(page, "按期完成率")
    assert rate.endswith("%") and 0 < float(rate.rstrip("%")) < 100
    # Something waits for the lead on the first screen: submissions, and requests for more time.
    assert page.locator("#sec-queue li[data-obligation-id]").count() > 0
    assert page.get_by_text("待审批延期申请（0）").count() == 0
    assert page.locator("a:text-is('审批')").count() >= 1
    screenshot(page, "demo-dashboard")

    # The trend starts where the data start: months of weeks, with completions in them.
    page.goto(f"{live_server.url}/dashboard/?tab=trend")
    weeks = page.locator("#sec-trend tbody tr")
    assert weeks.count() >= 26
    # (the table sits in a folded <details>: its text is read, not its rendering)
    completed = [int(weeks.nth(i).locator("td").first.text_content()) for i in range(weeks.count())]
    assert sum(1 for n in completed if n > 0) >= 8
    screenshot(page, "demo-trend")


def test_the_auditors_reports_carry_the_due_date_history_and_their_font(page, live_server, demo, tmp_path):
    login(page, live_server, "auditor", settings.DEMO_PASSWORD)
    page.goto(f"{live_server.url}/reports/")

    with page.expect_download() as info:
        page.click("button[name=format][value=xlsx]")
    workbook = openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes()), read_only=True)
    assert "期限调整" in workbook.sheetnames
    changes = list(workbook["期限调整"].iter_rows(values_only=True))
    assert len(changes) - 1 == DueDateChange.objects.count() > 0
    rows = list(workbook["义务明细"].iter_rows(values_only=True))
    header = list(rows[0])
    ever = [r[header.index("曾逾期")] for r in rows[1:]]
    assert "是" in ever and "否" in ever

    # A PDF with its embedded font takes a while on a loaded machine: allow it a minute.
    with page.expect_download(timeout=60_000) as info:
        page.click("button[name=format][value=pdf]", timeout=60_000)
    reader = pypdf.PdfReader(io.BytesIO(info.value.path().read_bytes()))
    fonts = set()
    for pdf_page in reader.pages[:3]:
        for font in (pdf_page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts") or [font]
            for descendant in descendants:
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None:
                    fonts.add(("/FontFile2" in descriptor.get_object(), str(font["/BaseFont"])))
    assert fonts and all(embedded for embedded, _ in fonts), fonts
    assert "期限调整记录" in "".join(p.extract_text() for p in reader.pages)


def test_the_administrator_reads_the_admin_in_chinese(page, live_server, demo):
    login(page, live_server, "admin", settings.DEMO_PASSWORD)
    page.goto(f"{live_server.url}/admin/obligations/auditentry/")
    headers = " ".join(page.locator("thead th").all_inner_texts())
    assert headers.strip() and not any(word in headers for word in ("OBLIGATION", "ACTOR", "ACTION", "AT"))
    body = page.locator("#result_list tbody").inner_text()
    assert AuditAction.OBLIGATION_CREATED.label in body
    assert "obligation.due_date" not in body and "obligation.created" not in body
    screenshot(page, "demo-admin-audit")
