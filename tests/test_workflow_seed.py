"""seed_demo goes through the services: due dates with history, some work in progress and submitted."""

from io import StringIO

import pytest
from django.core.management import call_command

from core.errors import ServiceError
from obligations.models import AuditEntry, DueDateChange, Evidence, Obligation, ProgressEntry


@pytest.mark.django_db
def test_seed_demo_puts_work_in_progress_and_submitted_through_the_services(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=StringIO())
    assert Obligation.objects.filter(status=Obligation.Status.IN_PROGRESS).count() >= 3
    submitted = Obligation.objects.filter(status=Obligation.Status.SUBMITTED)
    assert submitted.count() >= 3
    for o in submitted:
        assert o.submitted_by is not None and o.last_activity_at is not None
        assert Evidence.objects.filter(obligation=o, kind="link").exists()
        assert ProgressEntry.objects.filter(obligation=o).exists()
    assert DueDateChange.objects.count() == Obligation.objects.active().count()
    assert not AuditEntry.objects.filter(action="obligation.due_date_set").exists()
    assert AuditEntry.objects.filter(action="obligation.due_date").count() == DueDateChange.objects.count()
    count = AuditEntry.objects.count()
    try:
        call_command("seed_demo", stdout=StringIO())
    except ServiceError as exc:  # pragma: no cover - the message says what went wrong
        pytest.fail(exc.message)
    assert AuditEntry.objects.count() == count
