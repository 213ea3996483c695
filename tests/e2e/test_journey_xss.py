"""A progress note that is HTML shows as text wherever it appears, and never runs."""

import datetime as dt

from core.clock import today
from obligations import services
from tests.e2e.conftest import login, screenshot
from tests.e2e.data import owned_by, set_due

NOTE = "<script>alert(1)</script>"


def assert_shown_as_text(page, where):
    assert NOTE in where.inner_text()
    assert page.locator("script").evaluate_all("els => els.filter(e => e.textContent.includes('alert(1)')).length") == 0
    assert page.dialogs == []


def test_script_in_a_progress_note_is_text_on_every_page(page, live_server, regulation, cast):
    obligation = owned_by("JN-DSJ").first()
    # Overdue, so that the dashboard lists it with its last progress.
    set_due(obligation, cast["lena"], today() - dt.timedelta(days=3))
    services.progress_add(obligation=obligation, actor=cast["alice"], text=NOTE, percent=10)

    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/obligations/{obligation.pk}/")
    assert_shown_as_text(page, page.locator(".timeline"))
    # The correction picker quotes the note too.
    assert NOTE[:20] in page.locator("#id_progress-corrects").text_content()
    screenshot(page, "xss-obligation")

    page.context.clear_cookies()
    login(page, live_server, "lena")
    page.goto(f"{live_server.url}/dashboard/?tab=overdue")  # the overdue list is a section of its own
    overdue = page.locator("section[aria-labelledby=h-overdue] tbody tr", has_text="第")
    assert overdue.count() == 1
    assert_shown_as_text(page, overdue)
    page.goto(f"{live_server.url}/obligations/{obligation.pk}/")
    assert_shown_as_text(page, page.locator(".timeline"))

    page.context.clear_cookies()
    login(page, live_server, "audrey")
    page.goto(f"{live_server.url}/reports/")
    assert page.dialogs == []
