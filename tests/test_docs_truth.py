"""What the README and the pages say is what the code does (issue 27, item 10)."""

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from obligations import services
from tests.factories import PDF, make_obligation

ROOT = Path(__file__).resolve().parent.parent


def test_the_browser_tests_fail_without_chromium_as_the_readme_says(monkeypatch):
    from tests.e2e import conftest as e2e

    monkeypatch.setattr(e2e, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(e2e.shutil, "which", lambda name: None)
    assert "Chromium not found" in e2e.browser_missing()
    readme = (ROOT / "README.md").read_text()
    assert "without it the browser tests fail" in readme
    assert (
        "browser tests are skipped" not in readme and "will be skipped" not in (ROOT / "scripts/browser.sh").read_text()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("algorithm", "label", "other"), [("sm3", "SM3", "SHA-256"), ("sha256", "SHA-256", "SM3")])
def test_the_obligation_page_names_the_algorithm_each_digest_was_taken_with(
    cast, settings, tmp_path, algorithm, label, other
):
    settings.MEDIA_ROOT = tmp_path / "evidence"
    settings.AUDIT_DIGEST_ALGORITHM = algorithm
    o = make_obligation("JN-DSJ")
    evidence = services.evidence_add(
        obligation=o, actor=cast["alice"], kind="file", description="方案", file=ContentFile(PDF, name="方案.pdf")
    )
    assert evidence.digest_algorithm == algorithm
    client = Client()
    client.force_login(cast["alice"])
    page = client.get(f"/obligations/{o.pk}/").content.decode()
    assert f"{label} {evidence.digest[:10]}" in page
    assert f"{other} {evidence.digest[:10]}" not in page


def test_functions_nothing_called_are_gone():
    from accounts.models import User
    from notifications.models import Notification
    from obligations.decisions import Decision
    from reports import csv

    assert not hasattr(csv, "manifest_lines")
    assert not hasattr(User, "is_auditor") and not hasattr(Notification, "is_read")
    assert not hasattr(Decision, "local_at")
