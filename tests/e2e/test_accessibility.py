"""Accessibility of every main page, for every role, at desktop and phone width.

axe-core (an npm dev dependency, never served by the app) is evaluated in the page through the
DevTools protocol, so the page's Content Security Policy stays as strict as in production. A page
passes when axe reports no serious or critical violation. Forms must be usable with the keyboard
alone: every visible control of a page is reached by Tab, in an order that does not trap focus.
"""

import datetime as dt
from pathlib import Path

import pytest

from obligations import services
from obligations.models import Obligation, today
from tests.e2e.conftest import DESKTOP, PHONE, login
from tests.e2e.data import act, owned_by, set_due, submit_with_link

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
# The WCAG 2.1 A/AA rules plus axe's best practices (landmarks, headings, regions).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Controls a person operates; hidden ones (type=hidden, display:none) are left out in the page.
CONTROLS = "input:not([type=hidden]), select, textarea, button, a[href], summary, [tabindex]:not([tabindex='-1'])"


@pytest.fixture
def world(regulation, cast):
    """A little of everything, so that no page is empty: a returned, a verified, a submitted and an
    overdue obligation of 大数据局, an objection and an extension request pending for the lead."""
    alice, lena = cast["alice"], cast["lena"]
    own = list(owned_by("JN-DSJ")[:6])
    submit_with_link(own[0], alice)
    act(own[0], lena, "return", reason="请补充正式印发文件。")
    submit_with_link(own[1], alice)
    act(own[1], lena, "verify")
    submit_with_link(own[2], alice)
    set_due(own[3], lena, today() - dt.timedelta(days=10))
    act(own[4], alice, "start")
    set_due(own[4], lena, today() + dt.timedelta(days=30))
    own[4].refresh_from_db()
    services.extension_request(
        obligation=own[4],
        actor=alice,
        requested_date=today() + dt.timedelta(days=60),
        reason="需与省级部门会商，申请延期。",
    )
    services.objection_raise(obligation=own[5], actor=alice, reason="本条应由市发改委牵头，我局配合。")
    return {"obligation": own[0], "submitted": own[2]}


def axe_violations(page) -> list[str]:
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    found = []
    for violation in result["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [" ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{violation['impact']} {violation['id']}: {violation['help']} at {targets}")
    return found


def check_both_widths(page, url: str, problems: list[str]) -> None:
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(url)
        problems.extend(f"{url} ({name}) {v}" for v in axe_violations(page))
        # Every panel behind a tab is a page of its own to the reader (each tab is also a link
        # that opens the page with its panel, which is what is checked here).
        for href in tab_links(page):
            page.goto(href)
            problems.extend(f"{href} ({name}) {v}" for v in axe_violations(page))
    page.set_viewport_size(DESKTOP)


def tab_links(page) -> list[str]:
    return page.locator("a[role=tab][href]").evaluate_all("els => els.map(e => e.href)")


def pages_of(role: str, world) -> list[str]:
    obligation, submitted = world["obligation"], world["submitted"]
    common = ["/tasks/", f"/obligations/{obligation.pk}/", "/regulation/", "/notifications/"]
    common += ["/notifications/preferences/", "/accounts/security/", "/accounts/password/"]
    common += [f"/regulation/{obligation.clause.regulation_id}/"]
    return {
        "alice": common
        + ["/dashboard/", "/tasks/ledger/import/", "/no-such-page/", "/notifications/acknowledgements/"],
        "lena": common
        + ["/dashboard/", f"/obligations/{submitted.pk}/", "/reports/", "/tasks/ledger/import/", "/regulation/import/"]
        + ["/dashboard/queue/", "/dashboard/objections/", "/dashboard/extensions/"],
        "audrey": ["/tasks/", f"/obligations/{obligation.pk}/", "/reports/", "/dashboard/", "/notifications/"],
    }[role]


def test_the_login_page_has_no_serious_accessibility_violation(page, live_server):
    problems: list[str] = []
    check_both_widths(page, f"{live_server.url}/accounts/login/", problems)
    assert problems == []


@pytest.mark.parametrize("username", ["alice", "lena", "audrey"])
def test_every_main_page_has_no_serious_accessibility_violation(page, live_server, world, username):
    login(page, live_server, username)
    problems: list[str] = []
    for path in pages_of(username, world):
        check_both_widths(page, f"{live_server.url}{path}", problems)
    assert problems == [], "\n".join(problems)


def test_axe_finds_a_serious_violation_when_there_is_one(page, live_server):
    """The check above can fail: an image button without a name is a critical violation."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<button><svg></svg></button>')")
    assert any("button-name" in v for v in axe_violations(page))


def tab_reachable(page) -> tuple[set[str], list[str]]:
    """Press Tab until focus comes back round; return the ids of every control focused and the
    visible controls that were never reached. Folded sections (<details>) are opened first, as a
    person would open them with Enter on their summary, so that the controls inside count too."""
    page.evaluate(
        """(selector) => {
            for (const d of document.querySelectorAll('details')) { d.open = true; }
            let n = 0;
            for (const el of document.querySelectorAll(selector)) { el.dataset.kbd = String(n++); }
        }""",
        CONTROLS,
    )
    page.locator("body").focus()
    seen: list[str] = []
    for _ in range(400):
        page.keyboard.press("Tab")
        key = page.evaluate("document.activeElement && document.activeElement.dataset.kbd || ''")
        if key and seen and key == seen[0]:
            break
        seen.append(key)
    missing = page.evaluate(
        """([selector, seen]) => [...document.querySelectorAll(selector)]
            .filter(el => el.checkVisibility() && !el.disabled && !el.closest('[inert],[hidden]'))
            .filter(el => !seen.includes(el.dataset.kbd))
            .map(el => el.outerHTML.slice(0, 120))""",
        [CONTROLS, seen],
    )
    return set(seen), missing


@pytest.mark.parametrize(
    ("username", "path"),
    [("alice", "obligation"), ("alice", "/accounts/password/"), ("lena", "/dashboard/"), ("lena", "/reports/")],
)
def test_every_control_of_a_form_page_is_reached_with_the_keyboard(page, live_server, world, username, path):
    login(page, live_server, username)
    if path == "obligation":
        path = f"/obligations/{world['obligation'].pk}/"
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    seen, missing = tab_reachable(page)
    assert missing == [], f"{path}: controls the keyboard never reaches: {missing} (reached {sorted(seen)})"


def test_staff_logs_progress_and_submits_with_the_keyboard_alone(page, live_server, world, cast):
    """Log in, open an obligation, write progress and send it, using only keys."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_username").focus()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type("pw-Secret-123")
    page.keyboard.press("Enter")
    page.wait_for_url("**/tasks/**")
    obligation = world["obligation"]
    page.goto(f"{live_server.url}/obligations/{obligation.pk}/")
    # Tab to the folded 填报进展 section, open it with Enter, Tab into its text field.
    page.locator("body").focus()
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "填报进展":
            break
    else:
        pytest.fail("the 填报进展 section is not reached with Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "progress-text"
    page.keyboard.type("键盘录入的进展：已召开专题会议。")
    before = Obligation.objects.get(pk=obligation.pk).progress_entries.count()
    # Tab on to the form's submit button and press it.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "submit":
            break
    assert page.evaluate("document.activeElement.textContent.trim()") == "提交进展"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert Obligation.objects.get(pk=obligation.pk).progress_entries.count() == before + 1
    assert page.locator("text=键盘录入的进展：已召开专题会议。").count() >= 1


def test_the_dashboard_charts_keep_their_data_tables(page, live_server, world):
    login(page, live_server, "lena")
    page.goto(f"{live_server.url}/dashboard/")
    charts_seen = 0
    for href in [page.url, *tab_links(page)]:
        page.goto(href)
        page.wait_for_load_state("networkidle")
        charts = page.locator(".chart:visible")
        for i in range(charts.count()):
            chart = charts.nth(i)
            assert chart.get_attribute("role") == "img"
            assert "数据见" in (chart.get_attribute("aria-label") or "")
            # The figures the chart draws are also in a table of the same section.
            section = chart.locator("xpath=ancestor::section[1]")
            assert section.locator("table").count() >= 1, chart.get_attribute("id")
            charts_seen += 1
    assert charts_seen >= 4
