"""Journey: the 工信局 lead amends 上海市检验检测条例 (2016) with its 2024 修正 in the app: from the
regulation's page to the upload, the preview with both texts and the changed words marked, one
match corrected, then confirmed; the regulation's page names the new version."""

import pytest
from playwright.sync_api import expect

from obligations.models import Obligation
from obligations.seeding import import_regulation
from regulations.models import RegulationVersion
from tests.e2e.conftest import login, screenshot
from tests.e2e.test_accessibility import axe_violations
from tests.test_amendments import TEXT_2016, TEXT_2024, read


@pytest.fixture
def shanghai(cast):
    return import_regulation(read(TEXT_2016), code="sh-jcjc").regulation


def test_the_lead_amends_a_regulation_in_the_app(page, live_server, cast, shanghai):
    gov5 = Obligation.objects.get(
        clause__article__number=5, clause__paragraph_number=1, department__code="JN-GOV", clause__ordinal=1
    )
    login(page, live_server, "lena")
    page.goto(f"{live_server.url}/regulation/{shanghai.pk}/")
    page.get_by_role("link", name="导入修正/修订文本").click()
    page.wait_for_url(f"**/regulation/{shanghai.pk}/amend/")
    page.set_input_files("#id_file", str(TEXT_2024))
    page.select_option("#id_kind", "amended")
    page.fill("#id_effective", "2025-03-01")
    page.get_by_role("button", name="上传并预览（不写入）").click()
    page.wait_for_url(f"**/regulation/{shanghai.pk}/amend/preview/")

    summary = page.locator(".amendment-summary")
    expect(summary).to_contain_text("第2版（2024年修正）")
    expect(summary).to_contain_text("文字修改 6")
    # Both texts side by side, the words the 修正 changed marked on each side.
    reworded = page.locator("tr.lineage-reworded").first
    expect(reworded.locator("del.diff-del").first).to_have_text("质量技")
    expect(reworded.locator("ins.diff-ins").first).to_have_text("市场")
    expect(reworded).to_contain_text("新增义务：济南市市场监督管理局")
    assert page.locator("tr.lineage-row").count() == 58
    assert axe_violations(page) == []
    screenshot(page, "lead-amendment-preview")

    # 第五条第一款 is read as another duty: new, the old one repealed.
    row = page.locator("tr.lineage-row", has_text="第五条第一款").first
    row.get_by_role("button", name="改为不对应").click()
    expect(page.locator(".messages")).to_contain_text("已按更正重新比对")
    expect(summary).to_contain_text("已更正 1 处")
    expect(page.locator("tr.lineage-repealed")).to_contain_text("已废止：济南市人民政府")
    assert RegulationVersion.objects.filter(regulation=shanghai).count() == 1  # nothing written yet

    page.get_by_role("button", name="确认导入并结转义务").click()
    page.wait_for_url(f"**/regulation/{shanghai.pk}/")
    expect(page.locator(".messages")).to_contain_text("已导入《上海市检验检测条例》第2版（2024年修正）")
    expect(page.locator("main")).to_contain_text("第2版（2024年修正）")
    screenshot(page, "lead-amendment-done")
    gov5.refresh_from_db()
    assert gov5.status == Obligation.Status.REPEALED
    assert page.csp_errors == []
