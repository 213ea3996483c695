"""Journey 1: a member of staff of 大数据局 works on one of their body's obligations in the browser."""

import re

import pytest
from playwright.sync_api import expect

from obligations import services
from obligations.models import Obligation
from tests.e2e.conftest import login, screenshot
from tests.e2e.data import minimal_pdf, owned_by


@pytest.fixture
def staff_world(regulation, cast):
    own = owned_by("JN-DSJ").first()
    # An obligation 大数据局 only cooperates on (the responsible body is someone else's).
    cooperating = Obligation.objects.active().filter(cooperating__code="JN-DSJ").exclude(department__code="JN-DSJ")
    if not cooperating.exists():
        other = owned_by("JN-GXJ").first()
        services.obligation_add_cooperating(
            obligation=other, actor=cast["lena"], departments=["JN-DSJ"], expected_version=other.version
        )
    foreign = owned_by("JN-FGW").exclude(cooperating__code="JN-DSJ").first()
    return {"own": own, "cooperating": cooperating.first(), "foreign": foreign}


def obligation_links(page) -> set[int]:
    hrefs = page.locator("table.tasks a[href^='/obligations/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    return {int(re.search(r"/obligations/(\d+)/", h).group(1)) for h in hrefs}


def test_staff_works_an_obligation_from_task_list_to_submission(page, live_server, cast, staff_world):
    alice = cast["alice"]
    own, cooperating, foreign = staff_world["own"], staff_world["cooperating"], staff_world["foreign"]

    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/tasks/")
    expected = set(Obligation.objects.visible_to(alice).active().values_list("pk", flat=True))
    assert len(expected) < 20, "the journey assumes one page of tasks"
    assert obligation_links(page) == expected
    assert foreign.pk not in expected
    # Their own body's obligations, and the one they cooperate on, marked as such.
    bodies = {cell.strip() for cell in page.locator("table.tasks tbody tr td:nth-child(4)").all_inner_texts()}
    assert bodies == {"市大数据局", f"{cooperating.department.short_name} 协办"}
    screenshot(page, "staff-tasks")

    # Open one of the body's own obligations from the list.
    page.click(f"table.tasks a[href='/obligations/{own.pk}/']")
    page.wait_for_url(f"**/obligations/{own.pk}/")
    mark = page.locator(".article-text mark")
    assert mark.count() == 1
    assert mark.inner_text().strip() == own.clause.text.strip()
    assert page.locator(".summary .status").inner_text() == "未启动"

    # Start, log progress, upload a PDF, submit for verification.
    page.click(".actions button:has-text('启动')")
    expect(page.locator(".summary .status")).to_have_text("推进中")
    expect(page.locator(".messages")).to_contain_text("已开始办理")
    # No evidence yet: 提交核验 says so before anyone clicks it.
    expect(page.locator(".actions button:has-text('提交核验')")).to_be_disabled()
    expect(page.locator("#submit-missing")).to_contain_text("至少上传一份佐证材料")

    page.click("summary:has-text('填报进展')")
    page.fill("#id_progress-text", "已制定数据共享工作方案，完成首批目录编制。")
    page.fill("#id_progress-percent", "60")
    page.click("button:has-text('提交进展')")
    expect(page.locator(".messages")).to_contain_text("工作进展已记录")
    assert "已制定数据共享工作方案" in page.locator(".timeline").inner_text()
    assert "完成 60%" in page.locator(".timeline").inner_text()

    page.click("summary:has-text('提交佐证材料')")
    page.select_option("#id_evidence-kind", "file")
    page.fill("#id_evidence-description", "工作方案（盖章版）")
    pdf = minimal_pdf()
    page.set_input_files(
        "#id_evidence-file", files=[{"name": "工作方案.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    page.click("form[data-evidence-form] button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("佐证材料已提交")
    link = page.locator("a:has-text('工作方案.pdf')")
    assert link.count() == 1
    evidence = own.evidence.get()
    assert evidence.size == len(pdf)
    # The stored file is the one uploaded, and it downloads intact.
    with page.expect_download() as download:
        link.click()
    assert open(download.value.path(), "rb").read() == pdf

    page.click(".actions button:has-text('提交核验')")
    expect(page.locator(".summary .status")).to_have_text("待核验")
    expect(page.locator(".messages")).to_contain_text("已提交核验")
    assert "提交核验" in page.locator(".summary").inner_text()
    own.refresh_from_db()
    assert own.status == Obligation.Status.SUBMITTED and own.submitted_by == alice
    # Staff may not verify their own submission: no verify button.
    assert page.locator(".actions button:has-text('核验通过')").count() == 0
    screenshot(page, "staff-obligation-submitted")

    # An obligation the body only cooperates on: progress and evidence, nothing that steers it.
    page.goto(f"{live_server.url}/obligations/{cooperating.pk}/")
    assert page.locator("h1").inner_text().endswith(cooperating.department.short_name)
    actions = set(
        page.locator("form[action*='/act/']").evaluate_all(
            "els => els.map(e => e.getAttribute('action').split('/act/')[1].replace('/', ''))"
        )
    )
    assert actions == {"progress", "evidence"}
    assert page.locator(".actions").count() == 0
    assert page.locator("form[action*='/milestones/']").count() == 0
    screenshot(page, "staff-obligation-cooperating")

    # Another body's obligation does not exist for them.
    response = page.goto(f"{live_server.url}/obligations/{foreign.pk}/")
    assert response.status == 404
    assert "市发改委" not in page.content()
