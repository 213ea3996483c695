"""Browser fixtures: Debian's Chromium driven by Playwright against the live test server.

Screenshots land in artifacts/screenshots/ (kept out of git) so that a person can look at the
pages at desktop (1366x768) and phone (390 px) widths.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--lang=zh-CN",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def browser_missing() -> str | None:
    """What the browser tests lack, or None. They fail (never skip) without it: a run that skipped
    them would pass without having looked at a single page (README, "What needs the network")."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"Chromium not found at {CHROMIUM}: run `make browser` (apt-get install chromium)"
    # Without a CJK font every Chinese character renders as a box (tofu) in the screenshots.
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    if not fonts.strip():
        return "no Chinese font installed: run `make browser` (apt-get install fonts-wqy-zenhei)"
    return None


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if missing := browser_missing():
        pytest.fail(missing)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=LAUNCH_ARGS,
            viewport=DESKTOP,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            accept_downloads=True,
        )
        yield context
        context.close()


# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make to set
# up and tear down data are still plain synchronous calls, one at a time. (Set for the whole
# session: the database flush after each browser test runs outside any narrower scope.
# tests/test_security_settings.py keeps it out of the production environment it checks.)
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def page(browser):
    """A fresh tab. Any JavaScript dialog (alert/confirm/prompt) is recorded and dismissed: none of
    our pages opens one, so a dialog means injected script ran. `page.dialogs` lists them and the
    test fails at teardown if there were any; `page.csp_errors` collects CSP refusals."""
    browser.clear_cookies()
    page = browser.new_page()
    page.set_viewport_size(DESKTOP)
    page.set_default_timeout(15_000)
    page.dialogs = []
    page.csp_errors = []

    def on_dialog(dialog):
        page.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            page.csp_errors.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    yield page
    page.close()
    assert page.dialogs == [], f"a JavaScript dialog fired: {page.dialogs}"


@pytest.fixture(autouse=True)
def e2e_settings(settings, tmp_path):
    """Evidence and report files of a browser test go to its own temporary folder (the live
    server runs in this process, so these overrides reach it)."""
    settings.MEDIA_ROOT = tmp_path / "evidence"
    settings.REPORTS_ROOT = tmp_path / "exports"
    # The journeys are about pages, not password hashing (tests/test_security_*.py are): a cheap
    # hasher saves about a second per user created and per login on a busy machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def screenshot(page, name: str) -> None:
    """Full-page screenshots at desktop and phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    # Nothing may widen the page beyond a phone's screen (wide tables scroll inside their box).
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(DESKTOP)
    assert width <= PHONE["width"], f"{name}: the page is {width}px wide on a {PHONE['width']}px phone"


def login(page, live_server, username: str, password: str = "pw-Secret-123") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
