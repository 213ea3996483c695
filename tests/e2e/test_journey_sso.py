"""Sign-in through the unified identity service in the browser, against a real OpenID Connect
provider (node's oidc-provider on loopback, tests/oidc_provider.py): a newly mapped member of
staff reaches their first task in one sign-in, the lead and an auditor land on the dashboard,
signing out ends the session here and at the provider, and a person whose organisation maps to
no body is told whom to ask."""

from playwright.sync_api import expect

from accounts.models import User
from obligations.audit import AuditAction
from obligations.models import AuditEntry
from tests.e2e.conftest import screenshot
from tests.e2e.data import owned_by
from tests.oidc_provider import PASSWORD


def sign_in(page, live_server, login: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("text=使用统一身份认证登录")
    page.fill("#idp-login", login)
    page.fill("#idp-password", PASSWORD)
    page.click("#idp-submit")
    page.wait_for_load_state("networkidle")


def sign_out(page, live_server, oidc_on) -> None:
    page.click("text=退出")
    page.wait_for_url(f"{oidc_on.issuer}/session/end**")  # the identity service asks to confirm
    page.click("text=确认退出")
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    expect(page.locator(".messages")).to_contain_text("您已安全退出")


def test_new_staff_reach_their_first_task_in_one_sign_in_and_sign_out_everywhere(
    page, live_server, oidc_on, regulation
):
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("a.sso-login")).to_have_text("使用统一身份认证登录")
    expect(page.locator("#id_password")).to_be_visible()  # the local form stays (admin, break-glass)
    screenshot(page, "login-sso")

    sign_in(page, live_server, "zhang.wei")
    page.wait_for_url(f"{live_server.url}/tasks/")
    expect(page.locator(".who")).to_contain_text("张伟（部门经办人）")
    expect(page.locator(".who")).to_contain_text("大数据局")
    own = owned_by("JN-DSJ").first()
    page.locator(f"table.tasks a[href='/obligations/{own.pk}/']").first.click()
    page.wait_for_url(f"{live_server.url}/obligations/{own.pk}/")
    expect(page.locator("h1")).to_contain_text("大数据局")
    assert AuditEntry.objects.filter(action=AuditAction.ACCOUNT_PROVISIONED, after__user="zhang.wei").exists()

    sign_out(page, live_server, oidc_on)
    # Signed out at the identity service too: the next sign-in asks for the password again.
    page.click("text=使用统一身份认证登录")
    expect(page.locator("#idp-login")).to_be_visible()


def test_the_lead_and_an_auditor_land_on_the_dashboard_with_their_roles(page, live_server, oidc_on, regulation):
    for login, words in (("li.na", "李娜（牵头部门负责人）"), ("wang.fang", "王芳（审计人员）")):
        sign_in(page, live_server, login)
        page.wait_for_url(f"{live_server.url}/dashboard/")
        expect(page.locator(".who")).to_contain_text(words)
        sign_out(page, live_server, oidc_on)
    assert set(User.objects.filter(username__in=["li.na", "wang.fang"]).values_list("role", flat=True)) == {
        User.Role.LEAD,
        User.Role.AUDITOR,
    }


def test_a_person_whose_organisation_maps_to_no_body_is_told_whom_to_ask(page, live_server, oidc_on):
    users = User.objects.count()
    sign_in(page, live_server, "zhao.lei")
    page.wait_for_url(f"{live_server.url}/accounts/sso/refused/")
    expect(page.locator("h1")).to_have_text("暂不能登录本系统")
    expect(page.locator("main")).to_contain_text("市工信局数字经济处")
    expect(page.locator("main")).to_contain_text("SD-XYZ-999")
    screenshot(page, "sso-refused")
    assert User.objects.count() == users
    assert page.csp_errors == []
