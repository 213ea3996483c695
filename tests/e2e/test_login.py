from tests.e2e.conftest import login, screenshot


def test_login_page_is_chinese_and_a_bad_password_is_refused_in_chinese(page, live_server, cast):
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("h1").inner_text() == "用户登录"
    screenshot(page, "login")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名" in page.locator("[role=alert]").inner_text()


def test_staff_logs_in_and_out(page, live_server, cast):
    login(page, live_server, "alice")
    assert "alice" in page.locator(".who").inner_text()
    page.click("text=退出")
    page.wait_for_url("**/accounts/login/")
    assert "您已安全退出" in page.locator(".messages").inner_text()
