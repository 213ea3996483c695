"""Hostile input, through the API and the web forms: what is refused, with which answer, and
proof that nothing was written (rows, audit entries, stored evidence files).

The rules (core/validators.py, core/middleware.py, core/parsers.py):
- typed text refuses control characters, bidi overrides, lone surrogates and text that is only
  whitespace or zero-width characters; each field's length limit is an error, never a cut;
- dates are ISO (2025-03-01), real, and between 1900 and 2199;
- an API query parameter the schema does not document, or an ordering on an unknown field, is 400;
- a body larger than any legitimate request is 413 before it is read; a body that ends early is
  400 `incomplete_body`; both in the API's JSON shape, or a Chinese page on the web;
- another body's objects do not exist for a user (404), in URLs and in request bodies alike;
- evidence file names and archives: tests/test_evidence_refusals.py.
"""

import datetime as dt
import io
import json

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from accounts.models import ApiToken, Department
from accounts.services import api_token_create
from notifications.models import Notification, WebhookEndpoint
from obligations import services
from obligations.models import Obligation
from reports.models import ExportJob
from tests.factories import PDF, fast_passwords, make_obligation, stored_files, upload

pytestmark = pytest.mark.django_db

FUTURE = (dt.date.today() + dt.timedelta(days=60)).isoformat()
ERROR_SHAPE = {"code", "message", "details"}


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    fast_passwords(settings)
    settings.MEDIA_ROOT = tmp_path / "evidence"
    settings.REPORTS_ROOT = tmp_path / "exports"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def web(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def everything(settings) -> dict:
    """Row counts of every model of the project's apps, the obligations' own columns, and the
    stored evidence files: equal before and after means nothing was written."""
    counts = {
        model._meta.label: model.objects.count()
        for app in ("accounts", "obligations", "notifications", "reports")
        for model in apps.get_app_config(app).get_models()
    }
    rows = list(Obligation.objects.order_by("pk").values_list("pk", "version", "status", "due_date", "department_id"))
    return {"counts": counts, "obligations": rows, "files": stored_files(settings)}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == ERROR_SHAPE, body
    if code is not None:
        assert body["code"] == code, body
    return body


# --- Text --------------------------------------------------------------------------------------

HOSTILE_TEXT = [
    ("方案\x00说明", "control_character"),
    ("响铃\x07", "control_character"),
    ("\x1b[31m红字\x1b[0m", "control_character"),
    ("C1 控制符\x9b31m", "control_character"),
    ("方案\u202efdp.exe", "bidi_control"),
    ("\u202a嵌入\u202c", "bidi_control"),
    ("\u2066隔离\u2069", "bidi_control"),
    ("\u200b\u200c\u200d\ufeff", "invisible_text"),
    (" \u200b \u2060 ", "invisible_text"),
]

# (name, method, path template, body with the text in field, field, length limit)
TEXT_ENDPOINTS = {
    "progress": ("post", "/api/obligations/{o}/progress/", lambda t: {"text": t}, "text", 5000),
    "evidence": (
        "post",
        "/api/obligations/{o}/evidence/",
        lambda t: {"kind": "link", "description": t, "url": "https://example.gov.cn/a"},
        "description",
        500,
    ),
    "milestone": ("post", "/api/obligations/{o}/milestones/", lambda t: {"title": t, "due_date": FUTURE}, "title", 200),
    "extension": (
        "post",
        "/api/obligations/{o}/extension-requests/",
        lambda t: {"requested_date": FUTURE, "reason": t},
        "reason",
        500,
    ),
    "objection": ("post", "/api/obligations/{o}/objections/", lambda t: {"reason": t}, "reason", 500),
    "token": (
        "post",
        "/api/auth/tokens/new/",
        lambda t: {"username": "alice", "password": "pw-Secret-123", "name": t},
        "name",
        100,
    ),
}


def call_text_endpoint(cast, o, name, text):
    method, template, body, field, _ = TEXT_ENDPOINTS[name]
    client = api(None if name == "token" else cast["alice"])
    return getattr(client, method)(template.format(o=o.pk), body(text), format="json"), field


@pytest.mark.parametrize("endpoint", list(TEXT_ENDPOINTS))
@pytest.mark.parametrize("text,code", HOSTILE_TEXT)
def test_api_refuses_hostile_text_with_a_precise_code_and_writes_nothing(cast, settings, endpoint, text, code):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    response, field = call_text_endpoint(cast, o, endpoint, text)
    body = assert_error(response, 400, code)
    assert field in body["details"] and body["message"].startswith("提交的内容有误")
    assert everything(settings) == before


def test_a_lone_surrogate_in_json_is_refused(cast, settings):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    response = api(cast["alice"]).generic(
        "POST", f"/api/obligations/{o.pk}/progress/", b'{"text": "\\ud800 half a character"}', "application/json"
    )
    body = assert_error(response, 400, "invalid_unicode")
    assert "text" in body["details"]
    assert everything(settings) == before


@pytest.mark.parametrize("endpoint", list(TEXT_ENDPOINTS))
def test_length_limits_are_errors_never_cuts(cast, settings, endpoint):
    limit = TEXT_ENDPOINTS[endpoint][4]
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    response, field = call_text_endpoint(cast, o, endpoint, "长" * (limit + 1))
    body = assert_error(response, 400, "invalid")
    assert str(limit) in body["details"][field][0]
    assert everything(settings) == before
    response, field = call_text_endpoint(cast, o, endpoint, "长" * limit)
    assert response.status_code in (200, 201), response.content[:300]
    stored = response.json().get(field) if endpoint != "token" else ApiToken.objects.get(pk=response.json()["id"]).name
    assert stored == "长" * limit


def test_ordinary_text_with_newlines_tabs_and_emoji_joiners_is_kept_as_typed(cast):
    o = make_obligation("JN-DSJ")
    text = "第一行\n第二行\t缩进\r\n已完成 👩\u200d💻"
    response = api(cast["alice"]).post(f"/api/obligations/{o.pk}/progress/", {"text": text}, format="json")
    assert response.status_code == 201 and response.json()["text"] == text


# The web forms: (action, form fields besides the text, the text's field)
WEB_FORMS = {
    "progress": ({}, "text"),
    "milestone": ({"due_date": FUTURE}, "title"),
    "extension": ({"requested_date": FUTURE}, "reason"),
    "objection": ({}, "reason"),
    "evidence": ({"kind": "link", "url": "https://example.gov.cn/a"}, "description"),
}
WEB_MESSAGES = {
    "control_character": "不能包含控制字符",
    "bidi_control": "不能包含改变文字方向的控制字符",
    "invisible_text": "内容不能只有空白或不可见字符",
}


@pytest.mark.parametrize("form", list(WEB_FORMS))
@pytest.mark.parametrize("text,code", [HOSTILE_TEXT[0], HOSTILE_TEXT[4], HOSTILE_TEXT[7]])
def test_web_forms_show_the_chinese_error_next_to_the_field(cast, settings, form, text, code):
    o = make_obligation("JN-DSJ")
    extra, field = WEB_FORMS[form]
    data = {f"{form}-{name}": value for name, value in {**extra, field: text}.items()}
    before = everything(settings)
    response = web(cast["alice"]).post(f"/obligations/{o.pk}/act/{form}/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<div class="field-error">{WEB_MESSAGES[code]}' in html
    assert everything(settings) == before


def test_web_form_length_limit_is_an_error_next_to_the_field(cast, settings):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    response = web(cast["alice"]).post(f"/obligations/{o.pk}/act/progress/", {"progress-text": "长" * 5001})
    assert response.status_code == 400
    assert '<div class="field-error">' in response.content.decode() and "5000" in response.content.decode()
    assert everything(settings) == before


def test_web_token_name_follows_the_text_rule(cast, settings):
    client = web(cast["alice"])
    before = everything(settings)
    response = client.post("/accounts/tokens/new/", {"name": "脚本\x00"})
    assert response.status_code == 400 and "不能包含控制字符" in response.content.decode()
    response = client.post("/accounts/tokens/new/", {"name": "长" * 101})
    assert response.status_code == 400 and "100" in response.content.decode()
    assert everything(settings) == before
    assert client.post("/accounts/tokens/new/", {"name": "季度报表脚本"}).status_code == 200
    assert ApiToken.objects.get(user=cast["alice"]).name == "季度报表脚本"


# --- Unknown query parameters ------------------------------------------------------------------


def build_world(cast) -> dict:
    """One object of every kind the API addresses by id, visible to the lead."""
    alice, lena = cast["alice"], cast["lena"]
    o = make_obligation("JN-DSJ", due_date=dt.date.today() + dt.timedelta(days=30))
    evidence = services.evidence_add(
        obligation=o, actor=alice, kind="file", description="方案", file=ContentFile(PDF, name="方案.pdf")
    )
    notification = Notification.objects.create(recipient=lena, kind="reminder", subject="提醒", body="请处理")
    job = ExportJob.objects.create(requested_by=lena, format=ExportJob.Format.CSV)
    return {"o": o, "evidence": evidence, "notification": notification, "job": job}


def fill(path: str, world: dict) -> str:
    ids = {
        "id": world["notification"].pk if path.startswith("/api/notifications/") else world["o"].pk,
        "eid": world["evidence"].pk,
        "job_id": world["job"].pk,
    }
    for name, value in ids.items():
        path = path.replace(f"{{{name}}}", str(value))
    assert "{" not in path, f"a path parameter this test does not know: {path}"
    return path


# Values for the query parameters an endpoint requires.
REQUIRED = {"n": "1"}


def get_operations(client, *, required=False) -> list[tuple[str, set[str]]]:
    """Every GET of the OpenAPI schema, with its documented (or only its required) query parameters."""
    schema = client.get("/api/schema/?format=json").json()
    return [
        (
            path,
            {
                p["name"]
                for p in ops["get"].get("parameters", [])
                if p["in"] == "query" and (p.get("required", False) or not required)
            },
        )
        for path, ops in schema["paths"].items()
        if "get" in ops
    ]


def test_every_list_endpoint_refuses_an_undocumented_query_parameter(cast, settings):
    world = build_world(cast)
    client = api(cast["lena"])
    operations = get_operations(client)
    required = dict(get_operations(client, required=True))
    assert len(operations) >= 20 and any("progress" in path for path, _ in operations)
    before = everything(settings)
    failures = []
    for template, documented in operations:
        path = fill(template, world)
        plain = client.get(path, {name: REQUIRED[name] for name in required[template]})
        if plain.status_code == 400:
            failures.append(f"{path}: 400 with its required parameters alone")
        for unknown in ("stauts", "search" if "search" not in documented else "sort_by", "page_size"):
            if unknown in documented:
                continue
            response = client.get(path, {unknown: "1"})
            body = response.json() if response["Content-Type"].startswith("application/json") else {}
            if response.status_code != 400 or body.get("code") != "unknown_parameter":
                failures.append(f"{path}?{unknown}=1: {response.status_code} {body}")
            elif unknown not in body["message"] or body["details"]["unknown_parameters"] != [unknown]:
                failures.append(f"{path}?{unknown}=1: the error does not name it: {body}")
        if "page" in documented and client.get(path, {"page": "1", "format": "json"}).status_code == 400:
            failures.append(f"{path}?page=1&format=json refused")
    assert not failures, "\n".join(failures)
    assert everything(settings) == before


def test_nested_lists_document_no_filters_of_the_obligation_list(cast):
    operations = dict(get_operations(api(cast["lena"])))
    assert operations["/api/obligations/"] >= {"status", "department", "due_before", "search", "ordering", "page"}
    for name in ("progress", "evidence", "milestones", "history", "objections", "extension-requests"):
        assert operations[f"/api/obligations/{{id}}/{name}/"] == set(), name


def test_query_parameters_on_writes_are_refused_too(cast, settings):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    response = api(cast["alice"]).post(f"/api/obligations/{o.pk}/progress/?force=1", {"text": "x"}, format="json")
    assert_error(response, 400, "unknown_parameter")
    assert everything(settings) == before


@pytest.mark.parametrize(
    "path,ordering",
    [("/api/obligations/", "password"), ("/api/obligations/", "due_date,nope"), ("/api/notifications/", "subject")],
)
def test_ordering_on_an_unknown_field_is_refused_naming_it(cast, path, ordering):
    body = assert_error(api(cast["lena"]).get(path, {"ordering": ordering}), 400, "invalid")
    assert ordering.split(",")[-1] in body["details"]["ordering"][0]
    assert api(cast["lena"]).get("/api/obligations/", {"ordering": "-due_date,id"}).status_code == 200


@pytest.mark.parametrize("sort", ["bogus", "-password", ""])
def test_dashboard_body_sort_on_an_unknown_column_is_refused_naming_it(cast, sort):
    body = assert_error(api(cast["lena"]).get("/api/dashboard/bodies/", {"sort": sort}), 400, "invalid")
    assert (sort or "（空）") in body["details"]["sort"][0]
    assert api(cast["lena"]).get("/api/dashboard/bodies/", {"sort": "-on_time_rate"}).status_code == 200


def test_an_approved_extension_keeps_both_reasons_whole(cast):
    o = make_obligation("JN-DSJ", status=Obligation.Status.IN_PROGRESS, due_date=dt.date.today() + dt.timedelta(days=5))
    asked = "因" * 500
    request = services.extension_request(
        obligation=o, actor=cast["alice"], requested_date=dt.date.today() + dt.timedelta(days=40), reason=asked
    )
    services.extension_decide(request=request, actor=cast["lena"], approve=True, note="同" * 500, expected_version=1)
    change = o.due_date_changes.get()
    assert change.reason == f"同意延期申请：{asked}（{'同' * 500}）"


@pytest.mark.parametrize("url", ["ftp://robot.example.gov.cn/hook", "file:///etc/passwd"])
def test_webhook_endpoints_are_http_or_https_only(url):
    with pytest.raises(ValidationError) as refused:
        WebhookEndpoint(name="机器人", url=url).full_clean()
    assert "http:// 或 https://" in str(refused.value.message_dict["url"])
    WebhookEndpoint(name="机器人", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k").full_clean()


def test_names_typed_in_the_admin_follow_the_text_rule(cast, settings):
    root = get_user_model().objects.create_superuser(username="root", password="x-Secret-12345")
    client = web(root)
    body = Department.objects.get(code="JN-DSJ")
    url = f"/admin/accounts/department/{body.pk}/change/"
    form = {f: getattr(body, f) for f in ("code", "name", "level", "kind", "note", "sort_order")}
    form |= {"short_name": "大数据\u202e局", "phrases": "[]", "other_names": "[]", "active": "on"}
    before = everything(settings)
    response = client.post(url, form)
    assert response.status_code == 200 and "不能包含改变文字方向的控制字符（U+202E）" in response.content.decode()
    assert everything(settings) == before
    body.refresh_from_db()
    assert body.short_name == "市大数据局"
    assert client.post(url, form | {"short_name": "大数据局"}).status_code == 302  # the same form, typed plainly
    body.refresh_from_db()
    assert body.short_name == "大数据局"
    with pytest.raises(ValidationError):
        cast["alice"].full_name = "张\x00三"
        cast["alice"].full_clean()


# --- Numbers and credentials that were 500s (found by tests/test_api_fuzz.py) -------------------


@pytest.mark.parametrize(
    "path",
    ["/api/dashboard/overdue/?offset=99999999999999999999999", "/api/dashboard/queue/?offset=9223372036854775808"],
)
def test_offsets_beyond_the_databases_integers_are_an_empty_page(cast, path):
    response = api(cast["lena"]).get(path)
    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.parametrize("url", ["/api/auth/token/", "/api/auth/tokens/new/"])
@pytest.mark.parametrize("username", ["a\x00lice", "长" * 6000])
def test_logins_with_impossible_usernames_are_400_and_leave_no_trace(cast, settings, url, username):
    before = everything(settings)
    response = api().post(url, {"username": username, "password": "pw-Secret-123"}, format="json")
    assert_error(response, 400)
    assert everything(settings) == before
    assert apps.get_model("axes", "AccessAttempt").objects.count() == 0


# --- Dates -------------------------------------------------------------------------------------

BAD_DATES = ["2025-02-30", "2025-13-01", "10000-01-01", "9999-12-31", "0001-01-01", "2025/03/01", "20250301", "明天"]


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize(
    "path,param",
    [
        ("/api/obligations/", "due_before"),
        ("/api/dashboard/trend/", "date_from"),
        ("/api/dashboard/overdue/", "date_to"),
        ("/api/calendar/working-days/?n=1", "start"),
    ],
)
def test_filters_refuse_invalid_dates(cast, path, param, value):
    body = assert_error(api(cast["lena"]).get(path, {param: value}), 400)
    assert param in body["details"]


def date_bodies(world):
    o = world["o"]
    return [
        ("put", f"/api/obligations/{o.pk}/due-date/", lambda d: {"due_date": d, "reason": "调整", "version": 1}),
        ("post", f"/api/obligations/{o.pk}/milestones/", lambda d: {"title": "节点", "due_date": d}),
        ("post", f"/api/obligations/{o.pk}/reporting/", lambda d: {"frequency": "monthly", "starts_on": d}),
        ("post", "/api/reports/exports/", lambda d: {"format": "csv", "as_of": d}),
    ]


@pytest.mark.parametrize("value", [*BAD_DATES, ""])
def test_write_bodies_refuse_invalid_dates_and_write_nothing(cast, settings, value):
    world = build_world(cast)
    before = everything(settings)
    for method, path, body in date_bodies(world):
        if value == "" and "due-date" in path:
            continue  # null clears the due date; "" is refused below like any other non-date
        response = getattr(api(cast["adam"]), method)(path, body(value), format="json")
        assert response.status_code == 400, (path, value, response.content[:300])
        assert set(response.json()) == ERROR_SHAPE
    assert everything(settings) == before


def test_an_empty_due_date_is_refused_not_taken_for_clearing_it(cast, settings):
    o = make_obligation("JN-DSJ", due_date=dt.date.today())
    before = everything(settings)
    response = api(cast["lena"]).put(
        f"/api/obligations/{o.pk}/due-date/", {"due_date": "", "reason": "调整", "version": 1}, format="json"
    )
    assert_error(response, 400)
    assert everything(settings) == before


def test_dates_out_of_range_have_their_own_code(cast):
    o = make_obligation("JN-DSJ")
    response = api(cast["alice"]).post(
        f"/api/obligations/{o.pk}/milestones/", {"title": "节点", "due_date": "2300-01-01"}, format="json"
    )
    body = assert_error(response, 400, "date_out_of_range")
    assert "1900-01-01" in body["details"]["due_date"][0]


def test_web_form_refuses_an_impossible_date_next_to_the_field(cast, settings):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    response = web(cast["lena"]).post(
        f"/obligations/{o.pk}/act/due_date/",
        {"due_date-due_date": "2025-02-30", "due_date-reason": "调整", "due_date-version": "1"},
    )
    assert response.status_code == 400 and '<div class="field-error">' in response.content.decode()
    assert everything(settings) == before


# --- Oversized bodies and uploads --------------------------------------------------------------


@pytest.fixture
def small_limits(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    settings.EVIDENCE_MAX_BYTES = 2_000


def test_an_oversized_json_body_is_413_before_it_is_read(cast, settings, small_limits):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    response = api(cast["alice"]).post(f"/api/obligations/{o.pk}/progress/", {"text": "长" * 20_000}, format="json")
    body = assert_error(response, 413, "request_too_large")
    assert body["details"]["limit_bytes"] == 10_000
    assert everything(settings) == before


def evidence_upload(client, o, size, *, prefix=""):
    url = f"/obligations/{o.pk}/act/evidence/" if prefix else f"/api/obligations/{o.pk}/evidence/"
    data = {"kind": "file", "description": "方案", "file": upload("方案.pdf", PDF + b"0" * (size - len(PDF)))}
    return client.post(url, {prefix + k: v for k, v in data.items()}, format="multipart")


def test_oversized_uploads_through_the_api_leave_no_file(cast, settings, small_limits):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    over_the_evidence_limit = evidence_upload(api(cast["alice"]), o, 3_000)
    body = assert_error(over_the_evidence_limit, 400, "invalid")
    assert "超过大小上限" in body["details"]["file"][0]
    over_any_request = evidence_upload(api(cast["alice"]), o, 50_000)
    assert_error(over_any_request, 413, "request_too_large")
    assert everything(settings) == before


def test_oversized_uploads_through_the_web_get_a_chinese_page(cast, settings, small_limits):
    o = make_obligation("JN-DSJ")
    client = web(cast["alice"])
    before = everything(settings)
    over_the_evidence_limit = evidence_upload(client, o, 3_000, prefix="evidence-")
    assert over_the_evidence_limit.status_code == 400
    assert "超过大小上限" in over_the_evidence_limit.content.decode()
    over_any_request = evidence_upload(client, o, 50_000, prefix="evidence-")
    assert over_any_request.status_code == 413 and "请求内容过大" in over_any_request.content.decode()
    too_long_a_form = client.post(f"/obligations/{o.pk}/act/progress/", {"progress-text": "长" * 20_000})
    assert too_long_a_form.status_code == 413 and "未保存任何内容" in too_long_a_form.content.decode()
    assert everything(settings) == before


# --- Bodies that end early ---------------------------------------------------------------------

BOUNDARY = "----hostile-boundary"


def multipart(prefix="") -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{prefix}kind"\r\n\r\nfile\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{prefix}description"\r\n\r\n方案\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{prefix}file"; filename="方案.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n",
    ]
    return "".join(parts).encode() + PDF * 40 + f"\r\n--{BOUNDARY}--\r\n".encode()


class ShortStream:
    """A client that announced more than it sent (or whose connection broke): EOF or an error
    before Content-Length bytes arrived."""

    def __init__(self, data: bytes, *, reset: bool = False):
        self.data = io.BytesIO(data)
        self.reset = reset

    def read(self, size=-1):
        chunk = self.data.read(size)
        if not chunk and self.reset:
            raise OSError("Connection reset by peer")
        return chunk

    def readline(self, size=-1):
        return self.data.readline(size)


def post_raw(client, url, body: bytes, *, announced: int | None = None, reset: bool = False):
    extra = {}
    if announced is not None:
        extra = {"wsgi.input": ShortStream(body, reset=reset), "CONTENT_LENGTH": str(announced)}
    return client.generic("POST", url, body, f"multipart/form-data; boundary={BOUNDARY}", **extra)


@pytest.mark.parametrize("cut", [-3, -60, 200])
def test_an_api_upload_cut_in_the_middle_is_a_json_error_and_leaves_nothing(cast, settings, cut):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    response = post_raw(api(cast["alice"]), f"/api/obligations/{o.pk}/evidence/", multipart()[:cut])
    body = assert_error(response, 400, "incomplete_body")
    assert "不完整" in body["message"]
    assert everything(settings) == before


@pytest.mark.parametrize("reset", [False, True])
def test_an_api_upload_shorter_than_its_content_length_is_a_json_error(cast, settings, reset):
    o = make_obligation("JN-DSJ")
    body = multipart()
    before = everything(settings)
    response = post_raw(
        api(cast["alice"]), f"/api/obligations/{o.pk}/evidence/", body[:700], announced=len(body), reset=reset
    )
    assert_error(response, 400, "incomplete_body")
    assert everything(settings) == before


def test_a_complete_hand_built_upload_is_stored(cast, settings):
    o = make_obligation("JN-DSJ")
    response = post_raw(api(cast["alice"]), f"/api/obligations/{o.pk}/evidence/", multipart())
    assert response.status_code == 201 and response.json()["size"] == len(PDF) * 40
    assert len(stored_files(settings)) == 1


def test_a_web_upload_whose_connection_breaks_is_a_chinese_400(cast, settings):
    o = make_obligation("JN-DSJ")
    body = multipart(prefix="evidence-")
    before = everything(settings)
    response = post_raw(
        web(cast["alice"]), f"/obligations/{o.pk}/act/evidence/", body[:700], announced=len(body), reset=True
    )
    assert response.status_code == 400 and "未保存任何内容" in response.content.decode()
    assert everything(settings) == before


def test_bodies_django_refuses_while_parsing_are_json_errors_not_its_html_page(cast, settings, small_limits):
    o = make_obligation("JN-DSJ")
    client = api(cast["alice"])
    url = f"/api/obligations/{o.pk}/progress/"
    before = everything(settings)
    many_fields = "&".join(f"f{i}=1" for i in range(1200)) + "&text=x"
    response = client.generic("POST", url, many_fields, "application/x-www-form-urlencoded")
    assert_error(response, 400, "too_many_fields")
    # Under the multipart limit (a file may be large) but with a form field over the field limit.
    big_field = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="text"\r\n\r\n{"长" * 5000}\r\n--{BOUNDARY}--\r\n'
    )
    response = post_raw(client, url, big_field.encode())
    assert_error(response, 413, "request_too_large")
    assert everything(settings) == before


def test_a_json_body_that_is_not_json_is_a_json_error(cast, settings):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    response = api(cast["alice"]).generic(
        "POST", f"/api/obligations/{o.pk}/progress/", b'{"text": "unterminated', "application/json"
    )
    assert_error(response, 400, "parse_error")
    assert everything(settings) == before


# --- Other bodies' objects ---------------------------------------------------------------------


@pytest.fixture
def two_bodies(cast):
    """Everything of one kind twice: at 大数据局 (alice's) and at 历下区 (dave's)."""

    def side(department, staff):
        o = make_obligation(department, due_date=dt.date.today() + dt.timedelta(days=30))
        return {
            "o": o,
            "progress": services.progress_add(obligation=o, actor=staff, text="进展"),
            "evidence": services.evidence_add(
                obligation=o, actor=staff, kind="file", description="方案", file=ContentFile(PDF, name="方案.pdf")
            ),
            "milestone": services.milestone_add(
                obligation=o, actor=staff, title="节点", due_date=dt.date.fromisoformat(FUTURE)
            ),
            "extension": services.extension_request(
                obligation=o, actor=staff, requested_date=dt.date.today() + dt.timedelta(days=90), reason="等待"
            ),
            "objection": services.objection_raise(obligation=o, actor=staff, reason="不属于本单位"),
            "notification": Notification.objects.create(recipient=staff, kind="reminder", subject="提醒", body="x"),
            "job": ExportJob.objects.create(requested_by=staff, format=ExportJob.Format.CSV),
            "token": api_token_create(user=staff, name="脚本")[0],
        }

    return {"own": side("JN-DSJ", cast["alice"]), "other": side("JN-LIXIA", cast["dave"])}


def cross_body_urls(own, other):
    """(method, url, body) aimed at the other body's objects, from alice's own obligation."""
    o, x = own["o"].pk, other["o"].pk
    return [
        ("get", f"/api/obligations/{x}/", None),
        ("post", f"/api/obligations/{x}/progress/", {"text": "越权进展"}),
        ("post", f"/api/obligations/{x}/transitions/", {"action": "start", "version": 1}),
        ("get", f"/api/obligations/{o}/evidence/{other['evidence'].pk}/download/", None),
        ("get", f"/api/obligations/{x}/evidence/{other['evidence'].pk}/download/", None),
        ("post", f"/api/obligations/{o}/milestones/{other['milestone'].pk}/done/", None),
        (
            "put",
            f"/api/obligations/{o}/milestones/{other['milestone'].pk}/due-date/",
            {"due_date": FUTURE, "reason": "x"},
        ),
        ("post", f"/api/obligations/{o}/extension-requests/{other['extension'].pk}/decide/", {"approve": True}),
        (
            "post",
            f"/api/obligations/{o}/objections/{other['objection'].pk}/decide/",
            {"decision": "confirm", "note": "x"},
        ),
        ("get", f"/api/notifications/{other['notification'].pk}/", None),
        ("post", f"/api/notifications/{other['notification'].pk}/read/", None),
        ("post", f"/api/notifications/{other['notification'].pk}/acknowledge/", None),
        ("get", f"/api/reports/jobs/{other['job'].pk}/", None),
        ("get", f"/api/reports/jobs/{other['job'].pk}/download/", None),
        ("delete", f"/api/auth/tokens/{other['token'].pk}/", None),
    ]


def test_other_bodies_objects_in_urls_are_404_and_untouched(cast, settings, two_bodies):
    before = everything(settings)
    client = api(cast["alice"])
    for method, url, body in cross_body_urls(two_bodies["own"], two_bodies["other"]):
        response = getattr(client, method)(url, body, format="json")
        # Staff may decide nothing at all: refused before any id is looked at, whichever body's it is.
        assert_error(response, 403 if url.endswith("/decide/") else 404)
    assert everything(settings) == before
    assert Notification.objects.get(pk=two_bodies["other"]["notification"].pk).read_at is None


def test_the_lead_cannot_decide_a_request_through_another_obligations_url(cast, settings, two_bodies):
    own, other = two_bodies["own"], two_bodies["other"]
    before = everything(settings)
    lena = api(cast["lena"])
    url = f"/api/obligations/{own['o'].pk}/extension-requests/{other['extension'].pk}/decide/"
    assert_error(lena.post(url, {"approve": True, "version": 1}, format="json"), 404)
    url = f"/api/obligations/{own['o'].pk}/objections/{other['objection'].pk}/decide/"
    assert_error(lena.post(url, {"decision": "confirm", "note": "维持", "version": 1}, format="json"), 404)
    assert everything(settings) == before


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("progress/", lambda other: {"text": "更正", "corrects": other["progress"].pk}, "corrects"),
        ("progress/", lambda other: {"text": "完成节点", "milestone": other["milestone"].pk}, "milestone"),
        ("progress/", lambda other: {"text": "更正", "corrects": 2**62}, "corrects"),
        ("objections/", lambda other: {"reason": "建议调整", "suggested_department": "NO-SUCH"}, None),
    ],
)
def test_other_bodies_ids_in_request_bodies_are_refused(cast, settings, two_bodies, path, body, field):
    o = two_bodies["own"]["o"]
    # The own objection is pending: a second one would be refused for that reason alone.
    two_bodies["own"]["objection"].delete()
    before = everything(settings)
    response = api(cast["alice"]).post(f"/api/obligations/{o.pk}/{path}", body(two_bodies["other"]), format="json")
    response_body = assert_error(response, 400)
    if field:
        assert field in response_body["details"]
    assert everything(settings) == before


def test_lead_cannot_reassign_to_an_unknown_body(cast, settings, two_bodies):
    o = two_bodies["own"]["o"]
    before = everything(settings)
    lena = api(cast["lena"])
    for url, body in [
        (f"/api/obligations/{o.pk}/reassign/", {"department": "NO-SUCH", "reason": "调整", "version": 1}),
        (f"/api/obligations/{o.pk}/cooperating/", {"departments": ["JN-KJJ", "NO-SUCH"], "version": 1}),
    ]:
        assert_error(lena.post(url, body, format="json"), 400)
    assert everything(settings) == before


def test_web_milestone_and_download_of_another_body_are_404(cast, settings, two_bodies):
    own, other = two_bodies["own"], two_bodies["other"]
    client = web(cast["alice"])
    before = everything(settings)
    assert client.post(f"/obligations/{own['o'].pk}/milestones/{other['milestone'].pk}/done/").status_code == 404
    assert client.get(f"/obligations/{own['o'].pk}/evidence/{other['evidence'].pk}/download/").status_code == 404
    assert client.post(f"/notifications/{other['notification'].pk}/read/").status_code == 404
    assert client.post(f"/accounts/tokens/{other['token'].pk}/revoke/").status_code == 404
    assert everything(settings) == before


def test_a_token_of_one_user_does_not_reach_another_users_notifications(cast, two_bodies):
    _, key = api_token_create(user=cast["alice"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    ids = {row["id"] for row in client.get("/api/notifications/").json()["results"]}
    assert two_bodies["own"]["notification"].pk in ids and two_bodies["other"]["notification"].pk not in ids
    assert json.loads(client.get(f"/api/notifications/{two_bodies['other']['notification'].pk}/").content)["code"] == (
        "not_found"
    )


@pytest.mark.django_db(transaction=True)
def test_over_a_real_socket_an_upload_shorter_than_announced_is_a_json_400(cast, settings, live_server):
    """The client announces the whole body, sends part of it and stops sending: the server reads
    to the end of what came and answers with the JSON error; no row, no file."""
    import socket
    from urllib.parse import urlsplit

    o = make_obligation("JN-DSJ")
    _, key = api_token_create(user=cast["alice"], name="socket")
    body = multipart()
    before = everything(settings)
    url = urlsplit(live_server.url)
    head = (
        f"POST /api/obligations/{o.pk}/evidence/ HTTP/1.1\r\nHost: {url.hostname}\r\n"
        f"Authorization: Token {key}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=30) as connection:
        connection.sendall(head + body[: len(body) // 2])
        connection.shutdown(socket.SHUT_WR)
        answer = b"".join(iter(lambda: connection.recv(65536), b""))
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 400 " in status_line, answer[:300]
    assert b"application/json" in rest.split(b"\r\n\r\n", 1)[0]
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["code"] == "incomplete_body"
    assert everything(settings) == before


# --- Tampered cursors, nested JSON, extreme offsets, NUL (issue: 500s where a 400 belongs) --------

ROLE_USERS = ["alice", "lena", "audrey", "adam"]
CURSOR_LISTS = [
    "/api/obligations/",
    "/api/progress/",
    "/api/history/",
    "/api/notifications/",
    "/api/notifications/acknowledgements/",
    "/api/auth/tokens/",
]
# Values put in a cursor's position, each at every place of it: wrong types, the edges of the
# database's numbers and dates, text the database refuses.
CURSOR_VALUES = [
    {"a": 1},
    [1],
    "x",
    "",
    "\x00",
    "长" * 5000,
    10**30,
    -(10**30),
    2**63,
    1.5,
    True,
    "9999-12-31T23:59:59-15:00",
    "0001-01-01",
    "2025-02-30",
    "2025-01-01T00:00:00+99:00",
]


def encode_cursor(payload) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def tampered_cursors(length: int) -> list[str]:
    cursors = ["!!!", "游标", "\x00", "e30", encode_cursor([]), encode_cursor({"p": "x"}), encode_cursor(5)]
    cursors.append(encode_cursor({"p": [1] * (length + 1)}))
    cursors.append("eyJwIjpbTmFOXX0")  # {"p":[NaN]}
    for value in CURSOR_VALUES:
        for place in range(length):
            position = [1] * length
            position[place] = value
            cursors.append(encode_cursor({"p": position}))
            cursors.append(encode_cursor({"p": position, "r": 1}))
    return cursors


def cursor_length(client, path: str) -> int:
    import base64

    page = client.get(path, {"page_size": 1})
    assert page.status_code == 200, (path, page.content[:300])
    link = page.json()["next"]
    assert link, f"{path}: the test needs two rows"
    raw = link.split("cursor=")[1].split("&")[0]
    return len(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["p"])


@pytest.mark.parametrize("username", ROLE_USERS)
def test_tampered_cursors_are_400_on_every_list_for_every_role(cast, settings, username):
    user = cast[username]
    for n in range(2):
        o = make_obligation("JN-DSJ", due_date=dt.date.today() + dt.timedelta(days=30 + n))
        services.progress_add(obligation=o, actor=cast["alice"], text=f"进展{n}", percent=10)
        Notification.objects.create(
            recipient=user, kind=Notification.Kind.ESCALATION, subject="逾期", body="请处理", requires_ack=True
        )
        api_token_create(user=user, name=f"脚本{n}")
    client = api(user)
    before = everything(settings)
    failures = []
    for path in CURSOR_LISTS:
        page = client.get(path, {"page_size": 1})
        if page.status_code == 403:  # a list this role may not read at all
            continue
        for cursor in tampered_cursors(cursor_length(client, path)):
            response = client.get(path, {"cursor": cursor})
            body = response.json() if response["Content-Type"].startswith("application/json") else {}
            if response.status_code != 400 or set(body) != ERROR_SHAPE or "cursor" not in body["details"]:
                failures.append(f"{path}?cursor={cursor[:60]}: {response.status_code} {response.content[:200]}")
    assert not failures, "\n".join(failures[:20])
    assert everything(settings) == before


def test_a_cursor_from_a_next_link_still_reads_the_next_page(cast):
    for n in range(3):
        make_obligation("JN-DSJ", due_date=dt.date.today() + dt.timedelta(days=30 + n))
    client = api(cast["lena"])
    seen, url = [], "/api/obligations/?page_size=1"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 3


def nested(depth: int, *, kind: str = "list") -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("depth", [60, 100_000])
def test_deeply_nested_json_is_400_and_writes_nothing(cast, settings, kind, depth):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    body = ('{"text": ' + nested(depth, kind=kind) + ', "percent": 10}').encode()
    parsed = []
    for username in ROLE_USERS:
        for url in [f"/api/obligations/{o.pk}/progress/", "/api/auth/token/", "/api/reports/exports/"]:
            response = api(cast[username]).generic("POST", url, body, "application/json")
            if response.status_code == 403:  # refused before the body is read
                continue
            assert_error(response, 400, "parse_error")
            parsed.append((username, url))
    assert ("alice", f"/api/obligations/{o.pk}/progress/") in parsed and ("lena", "/api/reports/exports/") in parsed
    assert everything(settings) == before


def test_json_of_ordinary_depth_is_read(cast):
    o = make_obligation("JN-DSJ")
    response = api(cast["alice"]).post(
        f"/api/obligations/{o.pk}/progress/", {"text": "已完成", "percent": 30}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-01T00:00:00+16:00",
        "2025-01-01T00:00:00-23:59",
        "2025-01-01T00:00:00+99:00",
        "9999-12-31T23:59:59-15:00",
        "0001-01-01T00:00:00+15:00",
        "2300-01-01T00:00:00Z",
    ],
)
@pytest.mark.parametrize("path", ["/api/progress/", "/api/history/"])
@pytest.mark.parametrize("param", ["since", "until"])
def test_since_and_until_beyond_the_databases_range_are_400(cast, path, param, value):
    body = assert_error(api(cast["lena"]).get(path, {param: value}), 400)
    assert param in body["details"]


def test_since_with_an_ordinary_offset_is_read(cast):
    response = api(cast["lena"]).get("/api/progress/", {"since": "2025-01-01T00:00:00+15:59"})
    assert response.status_code == 200


NUL_PAGES = ["/tasks/", "/dashboard/", "/reports/", "/notifications/", "/regulation/", "/accounts/security/"]


@pytest.mark.parametrize("username", ROLE_USERS)
def test_a_nul_in_any_parameter_of_a_page_is_a_chinese_400(cast, settings, username):
    make_obligation("JN-DSJ")
    before = everything(settings)
    client = web(cast[username])
    for page in NUL_PAGES:
        for query in ["q=a%00b", "status=%00", "a%00=1"]:
            response = client.get(f"{page}?{query}")
            assert response.status_code == 400, (page, query, response.status_code)
            assert "不能包含控制字符" in response.content.decode(), (page, query)
    response = client.post("/tasks/ledger/import/?x=%00", {})
    assert response.status_code == 400
    assert everything(settings) == before


@pytest.mark.parametrize("username", ROLE_USERS)
def test_a_nul_in_any_parameter_of_the_api_is_a_json_400(cast, settings, username):
    o = make_obligation("JN-DSJ")
    before = everything(settings)
    client = api(cast[username])
    for url in ["/api/obligations/?search=a%00b", "/api/progress/?department=%00", "/api/notifications/?a%00=1"]:
        assert_error(client.get(url), 400, "control_character")
    body = "text=a%00b&percent=1"
    response = client.generic("POST", f"/api/obligations/{o.pk}/progress/", body, "application/x-www-form-urlencoded")
    assert_error(response, 400 if username == "alice" else response.status_code)
    assert response.status_code in (400, 403)
    assert everything(settings) == before
