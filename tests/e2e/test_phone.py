"""The pages on a phone (390×844): a one-line header with a menu, tables read as cards, nothing wider
than the screen. Each test prints the heights it measured (header, whole page)."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from notifications.models import Notification
from obligations import services
from obligations.models import today
from tests.e2e.conftest import DESKTOP, PHONE, SHOTS, login, screenshot
from tests.e2e.data import act, owned_by, set_due, submit_with_link
from tests.test_ledger import export, fill

HEADER_MAX = 72  # one line: the product's name, the unread badge, the menu button
TWO_CHARACTERS = 2 * 14  # the narrowest a cell with text may be: two characters of the cards' font


@pytest.fixture
def phone_world(regulation, cast):
    """An obligation of 大数据局 with a history a person reads on the phone: due dates moved by the
    lead with reasons, a milestone whose date moved, evidence, a return; people with Chinese names."""
    alice, lena = cast["alice"], cast["lena"]
    alice.full_name, lena.full_name = "张晓明", "王丽娜"
    alice.save(update_fields=["full_name"])
    lena.save(update_fields=["full_name"])
    own = list(owned_by("JN-DSJ")[:2])
    obligation = own[0]
    set_due(obligation, lena, today() + dt.timedelta(days=30), reason="按督办计划设定")
    set_due(obligation, lena, today() + dt.timedelta(days=60), reason="市政府常务会议调整工作安排，期限顺延一个月")
    milestone = services.milestone_add(
        obligation=obligation, actor=alice, title="制定实施方案", due_date=today() + dt.timedelta(days=10)
    )
    services.milestone_set_due_date(
        milestone=milestone, actor=alice, due_date=today() + dt.timedelta(days=20), reason="等待法制审核意见"
    )
    submit_with_link(obligation, alice)
    act(obligation, lena, "return", reason="请补充正式印发文件。")
    set_due(own[1], lena, today() - dt.timedelta(days=5))
    # An unread decision for the badge (the worker would write it; none runs here). It is about
    # another obligation: opening an obligation marks its notices read.
    Notification.objects.create(
        recipient=alice,
        kind=Notification.Kind.DUE_DATE_CHANGED,
        subject=f"【期限调整】{own[1].citation} 完成期限已调整",
        body="完成期限已调整。",
        obligation=own[1],
    )
    return {"obligation": obligation}


def measure(page, name: str) -> dict:
    """Header height, page height and width at the current viewport, printed for the closing note."""
    page.wait_for_load_state("networkidle")
    figures = page.evaluate(
        """() => ({
            header: document.querySelector('header.topbar').getBoundingClientRect().height,
            height: document.documentElement.scrollHeight,
            width: document.documentElement.scrollWidth,
        })"""
    )
    print(f"{name}: header {figures['header']:.0f} px, page {figures['height']} px, width {figures['width']} px")
    return figures


def narrow_cells(page, selector: str) -> list[str]:
    """Cells with text narrower than two characters, or whose text wraps one character per line."""
    return page.locator(f"{selector} td").evaluate_all(
        """(cells, least) => cells.filter(td => td.textContent.trim().length > 1)
            .filter(td => td.getBoundingClientRect().width < least)
            .map(td => `${td.textContent.trim().slice(0, 20)}: ${td.getBoundingClientRect().width}px`)""",
        TWO_CHARACTERS,
    )


def label_of(cell) -> str:
    return cell.evaluate("td => getComputedStyle(td, '::before').content").strip('"')


def test_staff_header_is_one_line_on_a_phone_and_opens_its_menu(page, live_server, phone_world):
    obligation = phone_world["obligation"]
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/tasks/")
    desktop = measure(page, "desktop /tasks/")
    assert desktop["header"] <= HEADER_MAX  # the desktop header stays one line at 1366 px
    expect(page.locator("header .mainnav a:text-is('我的任务')")).to_be_visible()
    expect(page.locator("header .menu-button")).to_be_hidden()

    page.set_viewport_size(PHONE)
    for path in ("/tasks/", f"/obligations/{obligation.pk}/", "/notifications/"):
        page.goto(f"{live_server.url}{path}")
        figures = measure(page, f"phone {path}")
        assert figures["header"] <= HEADER_MAX, (path, figures)
        assert figures["width"] <= PHONE["width"], (path, figures)
        # The name, the unread badge and the menu button share the line; the navigation is folded.
        expect(page.locator("header .brand")).to_be_visible()
        expect(page.locator("header .phone-notices .badge")).to_be_visible()
        expect(page.locator("header .mainnav")).to_be_hidden()

    # The menu opens and closes with the keyboard and says so to a screen reader.
    button = page.locator("header .menu-button")
    expect(button).to_have_attribute("aria-expanded", "false")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.locator("header .mainnav a:text-is('我的任务')")).to_be_visible()
    expect(page.locator("header .who button:text-is('退出')")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-menu-open-phone.png"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#site-menu') !== null")
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(page.locator("header .mainnav")).to_be_hidden()
    assert page.evaluate("document.activeElement.classList.contains('menu-button')")
    # Open, follow a link from the menu.
    button.click()
    page.locator("header .mainnav a:text-is('我的任务')").click()
    page.wait_for_url("**/tasks/")
    expect(page.locator("header .mainnav")).to_be_hidden()


def test_the_due_date_history_reads_as_cards_on_a_phone(page, live_server, phone_world):
    obligation = phone_world["obligation"]
    login(page, live_server, "alice")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/obligations/{obligation.pk}/")
    measure(page, "phone obligation page")
    changes = page.locator("table.due-date-changes")
    rows = changes.locator("tbody tr")
    assert rows.count() == 3  # the due date set, then moved; the milestone moved
    assert narrow_cells(page, "table.due-date-changes") == []
    # A card: the row is as wide as the table, each value under or beside its column's name.
    table_box, row_box = changes.bounding_box(), rows.first.bounding_box()
    assert row_box["width"] >= table_box["width"] - 2
    headers = changes.locator("thead th").all_inner_texts()
    cells = rows.first.locator("td")
    assert [label_of(cells.nth(i)) for i in range(cells.count())] == headers
    expect(changes).to_contain_text("王丽娜")
    # Every other table of the page reads the same way.
    for table in ("table.milestones", "table.evidence", "table.history"):
        assert narrow_cells(page, table) == [], table
        first = page.locator(f"{table} tbody tr").first.locator("td").first
        assert label_of(first) == page.locator(f"{table} thead th").first.inner_text(), table
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "phone-obligation")

    # At desktop width it is a table again, with its header row.
    page.set_viewport_size(DESKTOP)
    expect(changes.locator("thead")).to_be_visible()
    assert label_of(changes.locator("tbody td").first) in ("none", "")


def test_staff_pages_fit_a_phone(page, live_server, phone_world):
    login(page, live_server, "alice")
    for path, name in (("/tasks/", "phone-tasks"), ("/notifications/", "phone-notices")):
        page.set_viewport_size(PHONE)  # (screenshot() leaves the page at desktop width)
        page.goto(f"{live_server.url}{path}")
        measure(page, f"phone {path}")
        assert narrow_cells(page, "main table") == [], path
        screenshot(page, name)


def test_the_leads_dashboard_tables_are_cards_on_a_phone(page, live_server, phone_world):
    login(page, live_server, "lena")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/dashboard/")
    assert measure(page, "phone /dashboard/")["header"] <= HEADER_MAX
    tabs = page.locator("a[role=tab][href]").evaluate_all("els => els.map(e => e.href)")
    for href in tabs:
        page.goto(href)
        figures = measure(page, f"phone {href.split('/', 3)[-1]}")
        assert figures["width"] <= PHONE["width"], href
        assert narrow_cells(page, "main table.cards") == [], href
    page.goto(f"{live_server.url}/dashboard/")
    screenshot(page, "phone-dashboard")
    # By body: a card per body, its name first; the sort links stay in reach above the cards.
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/dashboard/?tab=bodies")
    card = page.locator("#sec-bodies tbody tr").first
    assert card.locator("th").bounding_box()["y"] < card.locator("td.num").first.bounding_box()["y"]
    assert label_of(card.locator("td.num").first) == "承担义务"
    expect(page.locator("#sec-bodies thead a").first).to_be_visible()
    screenshot(page, "phone-dashboard-bodies")


def test_the_ledger_preview_reads_as_cards_on_a_phone(page, live_server, cast, phone_world, tmp_path):
    alice = cast["alice"]
    filled = {"本期进展": "已完成方案起草，报分管领导审定", "状态申请": "开始办理"}
    rows = {o.pk: filled for o in owned_by("JN-DSJ")[2:5]}
    workbook = tmp_path / "台账.xlsx"
    workbook.write_bytes(fill(export(alice, alice.department), rows))
    login(page, live_server, "alice")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/tasks/ledger/import/")
    page.locator("input[type=file]").set_input_files(str(workbook))
    page.locator("button:text-is('上传并预览')").click()
    preview = page.locator(".ledger-preview table")
    expect(preview.locator("tbody tr")).to_have_count(3)
    assert narrow_cells(page, ".ledger-preview table") == []
    cells = preview.locator("tbody tr").first.locator("td")
    assert [label_of(cells.nth(i)) for i in range(cells.count())] == preview.locator("thead th").all_inner_texts()
    assert measure(page, "phone ledger preview")["width"] <= PHONE["width"]
    screenshot(page, "phone-ledger-preview")
