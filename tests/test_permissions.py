"""Every role against every action, through the API: the expected status code, and when the
action is refused, proof that nothing changed (row, related rows, audit trail, stored files)."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from obligations.models import (
    AuditEntry,
    DueDateChange,
    Evidence,
    ExtensionRequest,
    Milestone,
    Objection,
    Obligation,
    ProgressEntry,
    ReportingRequirement,
)
from obligations.permissions import Action, can
from tests.factories import PDF, add_link_evidence, fast_passwords, make_obligation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    fast_passwords(settings)


S = Obligation.Status
FUTURE = (dt.date.today() + dt.timedelta(days=60)).isoformat()


def setup_plain(o, cast):
    return {}


def setup_in_progress_with_evidence(o, cast):
    Obligation.objects.filter(pk=o.pk).update(status=S.IN_PROGRESS)
    add_link_evidence(o, cast["alice"])
    return {}


def setup_status(status):
    def setup(o, cast):
        Obligation.objects.filter(pk=o.pk).update(status=status)
        return {}

    return setup


def setup_extension(o, cast):
    r = ExtensionRequest.objects.create(
        obligation=o, requested_by=cast["alice"], requested_date=dt.date.today() + dt.timedelta(days=90), reason="忙"
    )
    return {"rid": r.pk}


def setup_objection(o, cast):
    x = Objection.objects.create(obligation=o, department=o.department, raised_by=cast["alice"], reason="不是我们")
    return {"oid": x.pk}


def setup_file(o, cast, settings_dir=None):
    from django.core.files.base import ContentFile

    e = Evidence(
        obligation=o,
        department=o.department,
        kind=Evidence.Kind.FILE,
        description="文件",
        original_name="方案.pdf",
        content_type="application/pdf",
        size=len(PDF),
        uploaded_by=cast["alice"],
    )
    e.file.save("x", ContentFile(PDF), save=False)
    e.save()
    return {"eid": e.pk}


# action -> (setup, method, path template, payload)
ACTIONS = {
    "view": (setup_plain, "get", "{o}/", None),
    "history": (setup_plain, "get", "{o}/history/", None),
    "download": (setup_file, "get", "{o}/evidence/{eid}/download/", None),
    "start": (setup_plain, "post", "{o}/transitions/", {"action": "start", "version": 1}),
    "submit": (setup_in_progress_with_evidence, "post", "{o}/transitions/", {"action": "submit", "version": 1}),
    "verify": (setup_status(S.SUBMITTED), "post", "{o}/transitions/", {"action": "verify", "version": 1}),
    "return": (
        setup_status(S.SUBMITTED),
        "post",
        "{o}/transitions/",
        {"action": "return", "reason": "材料不全", "version": 1},
    ),
    "reopen": (
        setup_status(S.VERIFIED),
        "post",
        "{o}/transitions/",
        {"action": "reopen", "reason": "发现问题", "version": 1},
    ),
    "due_date": (setup_plain, "put", "{o}/due-date/", {"due_date": FUTURE, "reason": "统一部署", "version": 1}),
    "reassign": (setup_plain, "post", "{o}/reassign/", {"department": "JN-KJJ", "reason": "职责调整", "version": 1}),
    "cooperating": (setup_plain, "post", "{o}/cooperating/", {"departments": ["JN-KJJ"], "version": 1}),
    "progress": (setup_plain, "post", "{o}/progress/", {"text": "已起草方案", "percent": 20}),
    "evidence": (
        setup_plain,
        "post",
        "{o}/evidence/",
        {"kind": "link", "description": "方案", "url": "https://example.gov.cn/a"},
    ),
    "milestone": (setup_plain, "post", "{o}/milestones/", {"title": "征求意见", "due_date": FUTURE}),
    "request_extension": (
        setup_plain,
        "post",
        "{o}/extension-requests/",
        {"requested_date": FUTURE, "reason": "需要上级批复"},
    ),
    "decide_extension": (
        setup_extension,
        "post",
        "{o}/extension-requests/{rid}/decide/",
        {"approve": True, "note": "同意", "version": 1},
    ),
    "object": (setup_plain, "post", "{o}/objections/", {"reason": "该职责属于科技部门"}),
    "decide_objection": (
        setup_objection,
        "post",
        "{o}/objections/{oid}/decide/",
        {"decision": "confirm", "note": "维持", "version": 1},
    ),
    "require_reporting": (setup_plain, "post", "{o}/reporting/", {"frequency": "monthly"}),
}

OK = {"get": 200, "post": 200, "put": 200}
CREATED = {"progress", "evidence", "milestone", "request_extension", "object"}
STAFF_OWN = {"view", "history", "download", "start", "submit", "progress", "evidence", "milestone"} | {
    "request_extension",
    "object",
}
COOPERATING = {"view", "history", "download", "progress", "evidence"}
LEAD = {"view", "history", "download", "verify", "return", "reopen", "due_date", "reassign", "cooperating"} | {
    "decide_extension",
    "decide_objection",
    "require_reporting",
}
AUDITOR = {"view", "history", "download"}


def expected(role: str, action: str) -> int:
    if role == "anonymous":
        return 401
    if role == "dave":  # another body's staff: the obligation does not exist for them
        return 404
    allowed = {"alice": STAFF_OWN, "carol": COOPERATING, "lena": LEAD, "audrey": AUDITOR, "adam": set(ACTIONS)}[role]
    if action not in allowed:
        return 403
    return 201 if action in CREATED else 200


def snapshot(o: Obligation):
    o.refresh_from_db()
    return {
        "row": (o.status, o.version, o.due_date, o.department_id, o.submitted_at, o.verified_at),
        "cooperating": sorted(o.cooperating.values_list("code", flat=True)),
        "progress": ProgressEntry.objects.filter(obligation=o).count(),
        "evidence": Evidence.objects.filter(obligation=o).count(),
        "milestones": Milestone.objects.filter(obligation=o).count(),
        "extensions": sorted(ExtensionRequest.objects.filter(obligation=o).values_list("status", flat=True)),
        "objections": sorted(Objection.objects.filter(obligation=o).values_list("status", flat=True)),
        "reporting": ReportingRequirement.objects.filter(obligation=o).count(),
        "date_changes": DueDateChange.objects.filter(obligation=o).count(),
        "audit": AuditEntry.objects.count(),
    }


ROLES = ["alice", "carol", "dave", "lena", "audrey", "adam", "anonymous"]


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", ROLES)
def test_role_action_matrix(role, action, cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    o = make_obligation("JN-DSJ", cooperating=["JN-FGW"])
    setup, method, template, payload = ACTIONS[action]
    ids = setup(o, cast)
    path = "/api/obligations/" + template.format(o=o.pk, **ids)
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(cast[role])
    before = snapshot(o)
    files_before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    response = getattr(client, method)(path, payload, format="json")
    want = expected(role, action)
    assert response.status_code == want, (role, action, response.content[:300])
    if want >= 400:
        body = response.json()
        assert set(body) == {"code", "message", "details"}
        assert snapshot(o) == before
        assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == files_before
    elif method != "get":
        assert snapshot(o) != before
        assert AuditEntry.objects.count() > before["audit"]


def test_can_agrees_with_the_matrix_for_every_permission_action(cast):
    o = make_obligation("JN-DSJ", cooperating=["JN-FGW"])
    mapping = {"due_date": Action.SET_DUE_DATE}
    for role in ["alice", "carol", "dave", "lena", "audrey", "adam"]:
        for action in ACTIONS:
            permission = mapping.get(action, action)
            assert can(cast[role], permission, o) == (expected(role, action) < 400), (role, action)


def test_nobody_may_work_on_a_superseded_obligation(cast):
    o = make_obligation("JN-DSJ")
    Obligation.objects.filter(pk=o.pk).update(superseded_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    o.refresh_from_db()
    assert can(cast["alice"], "view", o)
    assert not can(cast["alice"], "progress", o)
    assert not can(cast["adam"], "verify", o)


def test_unknown_action_is_refused(cast):
    o = make_obligation("JN-DSJ")
    assert not can(cast["adam"], "delete_everything", o)
