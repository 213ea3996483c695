"""Errors answer in Chinese, in the app's layout: 403, 404 and 500 pages. The API's schema and docs
need a login in production unless the setting opens them."""

import json
import re

import pytest
from django.test import Client

from tests.factories import make_obligation

pytestmark = pytest.mark.django_db

LAYOUT = 'class="topbar"'


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_page(response, status: int, *texts: str):
    assert response.status_code == status
    page = response.content.decode()
    assert LAYOUT in page and '<html lang="zh-CN">' in page, page[:300]
    for text in texts:
        assert text in page, text
    assert "Not Found" not in page and "Server Error" not in page and "Forbidden" not in page


def test_a_missing_page_is_a_chinese_404_in_the_layout(cast, settings):
    assert settings.DEBUG is False  # production's handlers (pytest-django runs with DEBUG off)
    assert_page(Client().get("/no-such-page/"), 404, "页面不存在", "返回首页")
    page = as_user(cast["alice"]).get("/no-such-page/")
    assert_page(page, 404, "页面不存在")
    assert "退出" in page.content.decode()  # the logged-in layout, with its navigation


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_another_bodys_obligation_gets_the_same_404_as_a_missing_one(cast):
    hidden = make_obligation("JN-DSJ")
    carol = as_user(cast["carol"])
    missing, other = carol.get("/obligations/999999/"), carol.get(f"/obligations/{hidden.pk}/")
    assert_page(other, 404, "页面不存在")
    assert without_csrf(missing) == without_csrf(other)


def test_a_server_error_is_a_chinese_500_in_the_layout(cast, settings):
    settings.ROOT_URLCONF = "tests.error_urls"
    client = Client(raise_request_exception=False)
    assert_page(client.get("/boom/"), 500, "系统错误", "错误已记录")


@pytest.mark.parametrize("debug", [False, True])
def test_a_page_staff_may_not_open_is_a_chinese_403_saying_why(cast, settings, debug):
    settings.DEBUG = debug  # Django's technical pages are for 404 and 500; a 403 is ours either way
    response = as_user(cast["alice"]).get("/notifications/acknowledgements/")
    assert_page(response, 403, "无权访问", "升级确认情况仅供牵头部门、审计人员和系统管理员查看")
    assert as_user(cast["lena"]).get("/notifications/acknowledgements/").status_code == 200


def test_schema_and_docs_need_a_login_unless_opened(cast, settings):
    settings.API_DOCS_PUBLIC = False
    anonymous = Client()
    schema = anonymous.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 401 and json.loads(schema.content)["code"] == "not_authenticated"
    docs = anonymous.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"] == "/accounts/login/?next=/api/docs/"
    member = as_user(cast["audrey"])
    assert member.get("/api/schema/").status_code == 200
    assert member.get("/api/docs/").status_code == 200

    settings.API_DOCS_PUBLIC = True
    assert anonymous.get("/api/schema/").status_code == 200
    assert anonymous.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("debug", [False, True])
def test_the_api_answers_an_unknown_path_and_a_refused_method_in_its_own_shape(cast, settings, debug):
    settings.DEBUG = debug
    client = as_user(cast["lena"])
    for path in ("/api/no-such-thing/", "/api/obligations/1/no-such-action/", "/api/dashboard/nothing/"):
        response = client.get(path)
        assert response.status_code == 404 and response["Content-Type"].startswith("application/json"), path
        body = json.loads(response.content)
        assert body["code"] == "not_found" and "接口不存在" in body["message"], body
    # A plain (non-DRF) view under /api/ refusing a method: the API's body, the Allow header kept.
    response = client.post("/api/auth/token/", {}, content_type="application/json")
    refused = client.put("/api/notifications/read-all/", {}, content_type="application/json")
    for r in (refused,):
        assert r.status_code == 405 and r["Content-Type"].startswith("application/json")
        assert json.loads(r.content)["code"] == "method_not_allowed" and r.has_header("Allow")
    assert response.status_code != 405
    # Pages outside /api/ keep the app's HTML 404.
    assert Client().get("/no-such-page/").status_code == 404
