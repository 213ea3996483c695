"""Issue 14, item 2: the admin is no back door.

A superuser drives the admin with Django's test client: the change forms, the delete pages, the
add pages and the bulk delete action of every workflow row are refused, nothing in the database
changes, and the audit chain still verifies.
"""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict

from accounts.models import Department
from notifications import outbox
from notifications.models import Delivery, Notification, OutboxMessage, Reminder
from obligations import audit, services
from obligations.models import (
    Article,
    AuditEntry,
    Chapter,
    Clause,
    DueDateChange,
    Evidence,
    ExtensionRequest,
    Milestone,
    Objection,
    Obligation,
    Paragraph,
    ProgressEntry,
    Regulation,
    ReportingRequirement,
    StandingResponsibility,
)
from reports.models import ExportJob
from tests.factories import make_obligation

pytestmark = pytest.mark.django_db

# Every row the workflow writes, and the regulation it works on: the admin may only look.
WORKFLOW_MODELS = [
    Obligation,
    ProgressEntry,
    Evidence,
    Milestone,
    DueDateChange,
    ExtensionRequest,
    Objection,
    ReportingRequirement,
    AuditEntry,
    Regulation,
    Chapter,
    Article,
    Clause,
    StandingResponsibility,
    Notification,
    Reminder,
    Delivery,
    OutboxMessage,
    ExportJob,
]


def everything() -> dict:
    return {model.__name__: sorted(map(repr, model.objects.values())) for model in [*WORKFLOW_MODELS, Paragraph]}


@pytest.fixture
def worked_on(cast):
    """An obligation with one of everything, written through the services."""
    o = _work_on(cast)
    outbox.deliver_pending()  # what the worker does with the notices
    assert Notification.objects.exists() and OutboxMessage.objects.exists() and Delivery.objects.exists()
    Reminder.objects.create(
        target_type="obligation",
        target_id=o.pk,
        obligation=o,
        stage="due",
        due_date=o.due_date,
        recipient=cast["alice"],
        scheduled_for=o.due_date,
    )
    return o


def _work_on(cast):
    alice, lena = cast["alice"], cast["lena"]
    o = make_obligation("JN-DSJ")
    Paragraph.objects.create(article=o.clause.article, number=1, text="市大数据部门应当建立公共数据目录管理制度。")
    StandingResponsibility.objects.create(
        regulation=o.clause.regulation,
        department=o.department,
        article=o.clause.article,
        paragraph_number=1,
        text="负责公共数据管理",
    )
    o = services.obligation_transition(obligation=o, actor=alice, action="start", expected_version=1)
    services.obligation_set_due_date(
        obligation=o, actor=lena, due_date=dt.date(2031, 6, 30), reason="年度计划", expected_version=o.version
    )
    services.progress_add(obligation=o, actor=alice, text="已起草目录", percent=40)
    services.evidence_add(
        obligation=o, actor=alice, kind=Evidence.Kind.LINK, description="方案", url="https://example.gov.cn/plan"
    )
    services.milestone_add(obligation=o, actor=alice, title="征求意见", due_date=dt.date(2031, 3, 31))
    services.extension_request(obligation=o, actor=alice, requested_date=dt.date(2031, 9, 30), reason="等待上级文件")
    services.objection_raise(obligation=o, actor=alice, reason="该职责属于科技部门")
    services.reporting_require(obligation=o, actor=lena, frequency="monthly")
    ExportJob.objects.create(requested_by=lena, format="csv", params={}, total_rows=1)
    o.refresh_from_db()
    o = services.obligation_transition(obligation=o, actor=alice, action="submit", expected_version=o.version)
    return o


@pytest.fixture
def root(client):
    user = get_user_model().objects.create_superuser(username="root", password="x-Secret-12345")
    client.force_login(user)
    return client


def admin_url(obj, view: str) -> str:
    meta = obj._meta
    if view in {"add", "changelist"}:
        return f"/admin/{meta.app_label}/{meta.model_name}/{'add/' if view == 'add' else ''}"
    return f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/{view}/"


def test_the_obligations_change_form_cannot_verify_it_or_move_its_date(worked_on, root):
    o = worked_on
    before = everything()
    form = model_to_dict(o) | {
        "status": Obligation.Status.VERIFIED,
        "due_date": "2030-01-01",
        "department": Department.objects.get(code="JN-FGW").pk,
        "cooperating": [],
        "version": o.version,
    }
    form = {k: v for k, v in form.items() if v is not None}
    response = root.post(admin_url(o, "change"), form)
    assert response.status_code == 403
    page = root.get(admin_url(o, "change"))
    assert page.status_code == 200  # the admin may look
    assert 'name="status"' not in page.content.decode() and 'name="_save"' not in page.content.decode()
    assert everything() == before
    o.refresh_from_db()
    assert o.status == Obligation.Status.SUBMITTED and o.due_date == dt.date(2031, 6, 30) and o.verified_at is None
    assert audit.verify_chain().ok


def test_no_workflow_row_can_be_added_changed_or_deleted_in_the_admin(worked_on, root):
    before = everything()
    for model in WORKFLOW_MODELS:
        name = model.__name__
        assert model in admin.site._registry, f"{name} is not in the admin"
        obj = model.objects.order_by("pk").first()
        assert obj is not None, f"the fixture wrote no {name}"
        changelist = root.get(admin_url(obj, "changelist"))
        assert changelist.status_code == 200, name
        assert 'value="delete_selected"' not in changelist.content.decode(), name
        assert root.get(admin_url(obj, "change")).status_code == 200, name  # the admin may look

        data = {k: v for k, v in model_to_dict(obj).items() if isinstance(v, str | int | dt.date)}
        assert root.post(admin_url(obj, "change"), data).status_code == 403, name
        assert root.post(admin_url(obj, "delete"), {"post": "yes"}).status_code == 403, name
        assert root.get(admin_url(obj, "add")).status_code == 403, name
        assert root.post(admin_url(obj, "add"), data).status_code == 403, name
        # The bulk delete action, posted by hand although the page does not offer it.
        action = {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
        root.post(admin_url(obj, "changelist"), action)
        assert everything() == before, name
    assert audit.verify_chain().ok


def test_deleting_a_user_does_not_take_their_notices_with_it(worked_on, root, cast):
    """A notice is the record that someone was told: the admin may not delete it by cascade."""
    alice = cast["alice"]
    assert Notification.objects.filter(recipient=alice).exists() or Notification.objects.exists()
    recipient = Notification.objects.first().recipient
    before = everything()
    response = root.post(admin_url(recipient, "delete"), {"post": "yes"})
    assert response.status_code in {200, 403}
    assert get_user_model().objects.filter(pk=recipient.pk).exists()
    assert everything() == before


def test_settings_stay_editable_in_the_admin(root, departments):
    """What the admin is for (bodies, users, reminder settings, calendars, robots) still works."""
    for url in [
        "/admin/accounts/department/add/",
        "/admin/accounts/user/add/",
        "/admin/core/officialcalendar/add/",
        "/admin/notifications/webhookendpoint/add/",
    ]:
        assert root.get(url).status_code == 200, url


def test_a_bodys_code_cannot_be_changed_once_it_exists(root, departments):
    """Audit entries and reports name bodies by code: renaming a code would rewrite what they mean."""
    body = Department.objects.get(code="JN-DSJ")
    page = root.get(f"/admin/accounts/department/{body.pk}/change/").content.decode()
    assert 'name="code"' not in page and 'name="name"' in page
