"""Issue 14, item 2: the admin is no back door.

A superuser drives the admin with Django's test client: the change forms, the delete pages, the
add pages and the bulk delete action of every workflow row are refused, nothing in the database
changes, and the audit chain still verifies.
"""

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from django.test import override_settings

from accounts.models import Department
from notifications import outbox
from notifications.models import Delivery, Notification, Reminder
from obligations import audit, services
from obligations.models import (
    AuditEntry,
    DueDateChange,
    Evidence,
    ExtensionRequest,
    Milestone,
    Objection,
    Obligation,
    OutboxMessage,
    ProgressEntry,
    ReportingRequirement,
)
from regulations.models import Article, BodyProposal, Chapter, Clause, Paragraph, Regulation, StandingResponsibility
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
        "/admin/regulations/bodyclass/add/",
    ]:
        assert root.get(url).status_code == 200, url


def test_a_bodys_code_cannot_be_changed_once_it_exists(root, departments):
    """Audit entries and reports name bodies by code: renaming a code would rewrite what they mean."""
    body = Department.objects.get(code="JN-DSJ")
    page = root.get(f"/admin/accounts/department/{body.pk}/change/").content.decode()
    assert 'name="code"' not in page and 'name="name"' in page


# --- Issue 15, item 7: the admin speaks Chinese -----------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_admin_label_is_chinese(db):
    """Model and app names, field labels and list columns of every model in the admin."""
    english = []
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        names = [meta.verbose_name, meta.verbose_name_plural, meta.app_config.verbose_name]
        names += [f.verbose_name for f in meta.get_fields() if f.concrete and not f.primary_key]
        names += [label_for_field(item, model, model_admin) for item in model_admin.list_display]
        english += [f"{meta.label}: {name}" for name in map(str, names) if not CJK.search(name)]
    # django-celery-beat's one untranslatable label (a plain string): core.admin names it in the
    # form, the filter and the inline instead (checked on the pages below).
    assert english == ["django_celery_beat.PeriodicTask: Task Name"], english


@pytest.fixture
def everything_listed(worked_on, cast):
    """At least one row in every admin list, so that each list renders its table."""
    import importlib

    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django_celery_beat.models import ClockedSchedule, SolarSchedule

    from accounts.models import ApiToken, BodyMapping, ExternalIdentity, RoleMapping
    from core.models import OfficialCalendar
    from notifications.models import NotificationPreference, WebhookEndpoint

    for name in ["notifications.migrations.0002_beat_schedule", "obligations.migrations.0007_trust_audit"]:
        importlib.import_module(name).create_schedule(apps, None)  # flushed by an earlier transactional test?
    seen = {"user_agent": "curl", "ip_address": "10.0.0.1", "username": "alice", "http_accept": "*/*"}
    AccessAttempt.objects.create(
        **seen, path_info="/accounts/login/", get_data="", post_data="", failures_since_start=5
    )
    AccessLog.objects.create(**seen, path_info="/accounts/login/")
    AccessFailureLog.objects.create(**seen, path_info="/accounts/login/", locked_out=True)
    Group.objects.create(name="督办组")
    BodyProposal.objects.create(name="市数字经济促进中心", level=Department.Level.CITY, kind=Department.Kind.DEPARTMENT)
    SolarSchedule.objects.create(event="sunrise", latitude=36.65, longitude=117.12)
    ClockedSchedule.objects.create(clocked_time=dt.datetime(2031, 1, 1, tzinfo=dt.UTC))
    OfficialCalendar.objects.create(year=2031, source="国务院办公厅通知")
    WebhookEndpoint.objects.create(name="大数据局工作群", url="https://robot.example.gov.cn/hook")
    NotificationPreference.objects.get_or_create(user=cast["alice"])
    ApiToken.objects.create(user=cast["alice"], name="脚本", prefix="jt_abc", digest="0" * 64)
    BodyMapping.objects.create(claim="org_code", value="")
    RoleMapping.objects.create(claim="groups", value="tracker-lead", role="lead")
    now = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
    ExternalIdentity.objects.create(user=cast["bob"], provider="oidc", subject="bob", first_seen=now, last_seen=now)
    from obligations.models import Carryover, Obligation
    from regulations.models import Amendment, RegulationVersion

    obligation = Obligation.objects.select_related("clause__regulation").first()
    version, _ = RegulationVersion.objects.get_or_create(
        regulation=obligation.clause.regulation, number=1, defaults={"source_sha256": "0" * 64}
    )
    Carryover.objects.create(
        version=version,
        obligation=obligation,
        old_clause=obligation.clause,
        new_clause=obligation.clause,
        lineage="unchanged",
        outcome=Carryover.Outcome.KEPT,
        effective_on=dt.date(2031, 1, 1),
    )
    Amendment.objects.create(
        regulation=obligation.clause.regulation,
        kind=RegulationVersion.Kind.AMENDED,
        source_text="（修订后文本）",
        source_sha256="1" * 64,
        effective_on=dt.date(2031, 6, 1),
        confirmed_by=cast["lena"],
    )
    with override_settings(AUDIT_CHECKPOINT_KEY="k" * 40):
        audit.checkpoint_write(reason="manual")  # the log file is written after a commit: never here
    return worked_on


def _texts(pattern: str, html: str) -> list[str]:
    return [re.sub(r"<[^>]+>|\s+", " ", m).strip() for m in re.findall(pattern, html, re.S)]


def test_every_admin_list_has_chinese_column_headers_filters_and_actions(everything_listed, root):
    english = []
    for model in admin.site._registry:
        if model._meta.model_name == "remindersettings":
            continue  # a singleton: its list redirects to the one row's form
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        page = root.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert 'id="result_list"' in html, f"{url} lists nothing: give the fixture a row"
        headers = [h for h in _texts(r'<th scope="col"[^>]*>(.*?)</th>', html) if h]
        filters = re.findall(r'data-filter-title="([^"]*)"', html)
        actions = _texts(r'<select name="action"[^>]*>(.*?)</select>', html)
        for text in headers + filters + actions:
            if not CJK.search(text):
                english.append(f"{url}: {text}")
    assert not english, sorted(set(english))


def test_audit_actions_are_shown_by_their_chinese_names(worked_on, root):
    page = root.get("/admin/obligations/auditentry/").content.decode()
    assert "提出异议" in page and "要求定期报送" in page and 'data-filter-title="操作"' in page
    assert ">objection.raised<" not in page
    entry = AuditEntry.objects.filter(action="objection.raised").get()
    detail = root.get(f"/admin/obligations/auditentry/{entry.pk}/change/").content.decode()
    assert "提出异议" in detail


def test_the_beat_schedule_is_for_superusers_only(root, cast, client):
    from django.contrib.auth.models import Permission

    beat = "/admin/django_celery_beat/periodictask/"
    assert root.get(beat).status_code == 200
    assert "django_celery_beat" in root.get("/admin/").content.decode()
    form = root.get(f"{beat}add/").content.decode()
    assert "任务名" in form and "Task Name" not in form

    adam = cast["adam"]  # the admin role: staff with every permission, not a superuser
    adam.is_staff = True
    adam.save()
    adam.user_permissions.set(Permission.objects.all())
    client.force_login(adam)
    assert client.get("/admin/").status_code == 200
    assert "django_celery_beat" not in client.get("/admin/").content.decode()
    for url in [beat, f"{beat}add/", "/admin/django_celery_beat/crontabschedule/"]:
        assert client.get(url).status_code == 403, url
    assert client.get("/admin/accounts/department/").status_code == 200  # the rest of the admin is theirs


def test_the_user_form_asks_for_the_apps_fields_first_in_chinese(root, departments):
    staff = get_user_model().objects.create(
        username="zhang", full_name="张三", role="staff", department=Department.objects.get(code="JN-DSJ")
    )
    for url in ("/admin/accounts/user/add/", f"/admin/accounts/user/{staff.pk}/change/"):
        page = root.get(url).content.decode()
        form = page[page.index("<form") :]
        # 姓名 / 所属机构 / 角色 come before the login fields; nothing the app does not use.
        assert form.index('name="full_name"') < form.index('name="department"') < form.index('name="role"')
        assert form.index('name="role"') < form.index('name="username"')
        for unused in ('name="groups"', 'name="user_permissions"', 'name="first_name"', 'name="last_name"'):
            assert unused not in form, (url, unused)
        for english in ("After you", "Choose ", "Can add", "Hold down"):
            assert english not in page, (url, english)
    # The form still creates a person.
    response = root.post(
        "/admin/accounts/user/add/",
        {
            "full_name": "李四",
            "department": Department.objects.get(code="JN-FGW").pk,
            "role": "staff",
            "username": "lisi",
            "email": "lisi@example.gov.cn",
            "password1": "Zx-9-long-pass-2026",
            "password2": "Zx-9-long-pass-2026",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = get_user_model().objects.get(username="lisi")
    assert (created.full_name, created.department.code, created.role) == ("李四", "JN-FGW", "staff")
