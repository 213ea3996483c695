"""Issue 15 (staff): the latest decision at the top of the obligation page and marked in 我的任务
until seen; what 提交核验 still needs, said before the click; errors at the top; messages that name
what happened; logging out says so; notices without raw addresses; the site's icon."""

import datetime as dt
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from notifications import outbox
from notifications.models import Notification
from obligations import decisions, services
from obligations.models import DecisionSeen, Obligation
from tests.factories import add_link_evidence, fast_passwords, make_obligation, make_obligations

pytestmark = pytest.mark.django_db
S = Obligation.Status
# 09:30 in Shanghai is 01:30 UTC: the page must say 09:30.
DECIDED_AT = dt.datetime(2026, 6, 1, 1, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    fast_passwords(settings)
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://tracker.example.gov.cn"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def returned(cast, reason="佐证材料缺少盖章文件，请补充。") -> Obligation:
    o = make_obligation("JN-DSJ", status=S.SUBMITTED, due_date=dt.date(2026, 12, 31))
    with time_machine.travel(DECIDED_AT, tick=False):
        services.obligation_transition(
            obligation=o, actor=cast["lena"], action="return", expected_version=o.version, reason=reason
        )
    o.refresh_from_db()
    return o


def task_row(html: str, pk: int) -> str:
    match = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*?/obligations/{pk}/(?:(?!</tr>).)*</tr>", html, re.S)
    assert match, f"row of obligation {pk} not on the page"
    return match.group(0)


def banner(html: str) -> str:
    match = re.search(r'<section class="card decision[^"]*".*?</section>', html, re.S)
    return match.group(0) if match else ""


# --------------------------------------------------------------------------- 1. the latest decision


def test_a_returned_submission_is_marked_in_my_tasks_and_at_the_top_of_the_page_until_seen(cast):
    o = returned(cast)
    other = make_obligation("JN-DSJ", due_date=dt.date(2026, 12, 31))
    alice, bob = login(cast["alice"]), login(cast["bob"])

    row = task_row(alice.get("/tasks/").content.decode(), o.pk)
    assert 'class="unseen"' in row and "已退回" in row and "佐证材料缺少盖章文件" in row  # the reason on hover
    assert "已退回" not in task_row(alice.get("/tasks/").content.decode(), other.pk)

    page = alice.get(f"/obligations/{o.pk}/").content.decode()
    top = banner(page)
    assert "最新决定：" in top and "已退回" in top
    assert "退回原因</strong>：佐证材料缺少盖章文件，请补充。" in top
    assert "lena" in top and "2026-06-01 09:30" in top  # who, and when in Asia/Shanghai
    # The banner comes first: before the facts, the article and the 操作记录 at the bottom.
    assert page.index("最新决定") < page.index('class="card summary"')

    # Seen by alice (she opened it), not by bob (he did not).
    assert "已退回" not in task_row(alice.get("/tasks/").content.decode(), o.pk)
    assert "已退回" in task_row(bob.get("/tasks/").content.decode(), o.pk)
    seen = DecisionSeen.objects.get(user=cast["alice"], obligation=o)
    assert seen.entry_id == decisions.latest_decision(o).entry_id

    # A later decision marks the row again.
    add_link_evidence(o, cast["alice"])
    o = services.obligation_transition(obligation=o, actor=cast["alice"], action="submit", expected_version=o.version)
    o = services.obligation_transition(obligation=o, actor=cast["lena"], action="verify", expected_version=o.version)
    row = task_row(alice.get("/tasks/").content.decode(), o.pk)
    assert "已核验通过" in row and "已退回" not in row
    assert "已核验通过" in banner(alice.get(f"/obligations/{o.pk}/").content.decode())


def test_a_return_followed_by_a_new_date_shows_both_until_seen(cast):
    """The lead returns a submission and sets a new date in the same minute: the banner leads with
    the date and still carries the return's reason; once seen, only the latest remains."""
    o = returned(cast, reason="请补充区级实施方案。")
    o = services.obligation_set_due_date(
        obligation=o,
        actor=cast["lena"],
        due_date=dt.date(2027, 1, 31),
        reason="退回后重新约定",
        expected_version=o.version,
    )
    alice = login(cast["alice"])
    top = banner(alice.get(f"/obligations/{o.pk}/").content.decode())
    assert top.index("期限已调整") < top.index("此前尚未查看的决定")
    earlier = top[top.index("此前尚未查看的决定") :]
    assert "已退回" in earlier and "退回原因：请补充区级实施方案。" in earlier
    # Seen now: the next visit shows the latest decision alone.
    top = banner(alice.get(f"/obligations/{o.pk}/").content.decode())
    assert "期限已调整" in top and "此前尚未查看的决定" not in top and "已退回" not in top


def test_the_lead_sees_no_mark_for_their_own_decision(cast):
    o = returned(cast)
    lena = login(cast["lena"])
    assert 'class="unseen"' not in task_row(lena.get(f"/tasks/?department={o.department_id}").content.decode(), o.pk)
    # The page still shows the latest decision to everyone who may see the obligation.
    assert "已退回" in banner(lena.get(f"/obligations/{o.pk}/").content.decode())


def test_a_moved_due_date_and_a_reassignment_show_old_new_and_reason(cast):
    o = make_obligation("JN-DSJ", due_date=dt.date(2026, 9, 30))
    o = services.obligation_set_due_date(
        obligation=o, actor=cast["lena"], due_date=dt.date(2026, 10, 31), reason="配合省级部署", expected_version=1
    )
    top = banner(login(cast["alice"]).get(f"/obligations/{o.pk}/").content.decode())
    assert "期限已调整" in top and "2026-09-30 → <strong>2026-10-31</strong>" in top and "配合省级部署" in top

    o = services.obligation_reassign(
        obligation=o, actor=cast["lena"], department="JN-FGW", reason="职责划转", expected_version=o.version
    )
    carol = login(cast["carol"])
    assert "已改派" in task_row(carol.get("/tasks/").content.decode(), o.pk)
    top = banner(carol.get(f"/obligations/{o.pk}/").content.decode())
    assert "已改派" in top and "市大数据局 → <strong>市发改委</strong>" in top and "职责划转" in top


def test_an_obligation_without_decisions_has_no_banner_and_writes_no_seen_row(cast):
    o = make_obligation("JN-DSJ")
    services.obligation_transition(obligation=o, actor=cast["alice"], action="start", expected_version=1)
    page = login(cast["alice"]).get(f"/obligations/{o.pk}/").content.decode()
    assert "最新决定" not in page
    assert not DecisionSeen.objects.exists()


def test_opening_the_page_marks_the_notices_of_its_decisions_read_without_the_worker(cast):
    o = returned(cast)
    outbox.deliver_pending()  # the notices exist (the worker ran) …
    reminder = Notification.objects.create(
        recipient=cast["alice"], kind=Notification.Kind.REMINDER, subject="到期提醒", body="…", obligation=o
    )
    notice = Notification.objects.get(recipient=cast["alice"], kind=Notification.Kind.RETURNED)
    assert notice.read_at is None
    login(cast["alice"]).get(f"/obligations/{o.pk}/")
    notice.refresh_from_db()
    reminder.refresh_from_db()
    assert notice.read_at is not None  # the decision's notice is read now
    assert reminder.read_at is None  # a reminder is not a decision
    # … and bob's notice stays unread: he has not seen the page.
    assert Notification.objects.get(recipient=cast["bob"], kind=Notification.Kind.RETURNED).read_at is None


def test_my_tasks_reads_the_marks_in_a_fixed_number_of_queries(cast):
    make_obligations("JN-DSJ", [dt.date(2026, 12, 31)] * 3, status=S.SUBMITTED)
    alice = login(cast["alice"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert alice.get("/tasks/").status_code == 200
        return len(ctx.captured_queries)

    def give_back(o):
        lena = cast["lena"]
        services.obligation_transition(obligation=o, actor=lena, action="return", expected_version=1, reason="补")

    give_back(Obligation.objects.filter(status=S.SUBMITTED).first())
    queries()  # what a process reads once (the holiday schedule) is read
    few = queries()
    for o in Obligation.objects.filter(status=S.SUBMITTED):
        give_back(o)
    make_obligations("JN-DSJ", [dt.date(2026, 12, 31)] * 10)
    assert queries() == few
    assert alice.get("/tasks/").content.decode().count("decision-mark-returned") == 3


# --------------------------------------------------------------------------- 5. before the click, and after it


def test_submit_says_what_is_missing_before_the_click_and_the_service_refuses_with_the_same_rule(cast):
    o = make_obligation("JN-DSJ", status=S.IN_PROGRESS)
    assert services.submission_missing(o) == ["至少上传一份佐证材料"]
    alice = login(cast["alice"])
    page = alice.get(f"/obligations/{o.pk}/").content.decode()
    assert re.search(r'<button type="submit" class="primary" disabled aria-describedby="submit-missing">提交核验', page)
    assert "提交核验前还需：至少上传一份佐证材料" in page

    # Submitted anyway (an old tab, a crafted post): refused, said at the top and by the button.
    r = alice.post(f"/obligations/{o.pk}/act/transition/", {"transition-action": "submit", "transition-version": 1})
    html = r.content.decode()
    assert r.status_code == 409
    top = re.search(r'<div class="alert alert-error" role="alert" id="errors-top">.*?</div>', html, re.S).group(0)
    assert "未能提交核验" in top and "提交核验前请至少上传一份佐证材料" in top
    assert html.index("errors-top") < html.index('class="card summary"')
    assert '<div class="form-error">提交核验前请至少上传一份佐证材料</div>' in html  # and by the button

    add_link_evidence(o, cast["alice"])
    assert services.submission_missing(o) == []
    page = alice.get(f"/obligations/{o.pk}/").content.decode()
    assert "提交核验前还需" not in page
    assert re.search(r'<button type="submit" class="primary">提交核验</button>', page)


def test_a_field_error_is_listed_at_the_top_and_by_the_field(cast):
    o = make_obligation("JN-DSJ")
    r = login(cast["alice"]).post(
        f"/obligations/{o.pk}/act/evidence/",
        {"evidence-kind": "link", "evidence-description": "公开", "evidence-url": "ftp://x"},
    )
    html = r.content.decode()
    assert r.status_code == 400
    top = re.search(r'id="errors-top">.*?</div>', html, re.S).group(0)
    assert "未能提交佐证材料" in top and "请输入以 http:// 或 https:// 开头" in top and 'href="#form-evidence"' in top
    assert 'id="form-evidence"' in html
    assert re.search(r'id="id_evidence-url"[^>]*>\s*<div class="field-error">请输入以 http:// 或 https:// 开头', html)


@pytest.mark.parametrize(
    ("who", "status", "post", "message"),
    [
        ("alice", S.NOT_STARTED, {"transition-action": "start"}, "已开始办理"),
        ("alice", S.IN_PROGRESS, {"transition-action": "submit"}, "已提交核验"),
        ("lena", S.SUBMITTED, {"transition-action": "return", "transition-reason": "补充材料"}, "已退回"),
        ("lena", S.SUBMITTED, {"transition-action": "verify"}, "已核验通过"),
    ],
)
def test_messages_name_what_happened(cast, who, status, post, message):
    o = make_obligation("JN-DSJ", status=status)
    add_link_evidence(o, cast["alice"])
    client = login(cast[who])
    r = client.post(f"/obligations/{o.pk}/act/transition/", {**post, "transition-version": 1}, follow=True)
    html = r.content.decode()
    assert re.search(rf'<li class="msg-success">{message}', html)
    assert "状态已更新" not in html


def test_a_moved_due_date_says_to_what(cast):
    o = make_obligation("JN-DSJ", due_date=dt.date(2026, 9, 30))
    r = login(cast["lena"]).post(
        f"/obligations/{o.pk}/act/due_date/",
        {"due_date-due_date": "2026-10-31", "due_date-reason": "配合省级部署", "due_date-version": 1},
        follow=True,
    )
    assert "完成期限已调整为 2026-10-31" in r.content.decode()


def test_logging_out_says_so_on_the_login_page(cast):
    client = login(cast["alice"])
    r = client.post("/accounts/logout/", follow=True)
    html = r.content.decode()
    assert r.redirect_chain[-1][0].endswith("/accounts/login/")
    assert "您已安全退出" in html and "用户登录" in html
    assert client.get("/tasks/").status_code == 302  # really logged out
    # Said once: reloading the login page does not repeat it.
    assert "您已安全退出" not in client.get("/accounts/login/").content.decode()


# --------------------------------------------------------------------------- 8. notices and the icon


def test_a_notice_in_the_app_shows_no_raw_address_beside_its_link(cast):
    o = returned(cast)
    outbox.deliver_pending()
    notice = Notification.objects.get(recipient=cast["alice"])
    assert "https://tracker.example.gov.cn" in notice.body  # the email keeps its address
    html = login(cast["alice"]).get("/notifications/").content.decode()
    assert "https://tracker.example.gov.cn" not in html and "查看与办理：" not in html
    assert f'<a href="/obligations/{o.pk}/">查看</a>' in html
    assert "佐证材料缺少盖章文件" in html and "本邮件由系统自动发送" not in html


def test_other_links_in_a_notice_become_links_and_foreign_addresses_stay_text(cast):
    Notification.objects.create(
        recipient=cast["alice"],
        kind=Notification.Kind.ESCALATION,
        subject="逾期升级",
        body=(
            "1. 第三条第一款\n   https://tracker.example.gov.cn/obligations/7/\n"
            "请登录系统确认“已知悉”：https://tracker.example.gov.cn/notifications/\n"
            "理由见 https://evil.example.com/<script>"
        ),
        url="https://tracker.example.gov.cn/notifications/",
    )
    html = login(cast["alice"]).get("/notifications/").content.decode()
    assert '   <a href="/obligations/7/">查看</a>' in html
    assert "https://tracker.example.gov.cn" not in html
    assert "理由见 https://evil.example.com/&lt;script&gt;" in html
    assert 'href="https://evil' not in html


def test_a_staff_member_opening_the_acknowledgements_gets_the_chinese_403_in_the_layout(cast):
    r = login(cast["alice"]).get("/notifications/acknowledgements/")
    html = r.content.decode()
    assert r.status_code == 403 and 'class="topbar"' in html
    assert "无权访问" in html and "升级确认情况仅供牵头部门" in html


def test_the_site_has_its_own_icon(cast):
    r = Client().get("/favicon.ico")
    assert r.status_code == 302 and r["Location"].startswith("/static/img/favicon") and r["Location"].endswith(".svg")
    page = Client().get("/accounts/login/").content.decode()
    assert re.search(r'<link rel="icon" href="/static/img/favicon[^"]*\.svg" type="image/svg\+xml">', page)
    icon = Path(django_settings.BASE_DIR) / "static" / "img" / "favicon.svg"
    root = ElementTree.fromstring(icon.read_text(encoding="utf-8"))  # noqa: S314 (our own file)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_every_kind_of_decision_reads_as_what_happened(cast):
    lena, alice = cast["lena"], cast["alice"]
    o = make_obligation("JN-DSJ", status=S.VERIFIED, due_date=dt.date(2026, 9, 30))
    o = services.obligation_transition(obligation=o, actor=lena, action="reopen", expected_version=1, reason="复查")
    d = decisions.latest_decision(o)
    assert (d.kind, d.label, d.reason) == ("reopened", "已重新打开", "复查")

    with time_machine.travel(dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC), tick=False):
        ask = services.extension_request(obligation=o, actor=alice, requested_date=dt.date(2026, 12, 31), reason="会商")
        services.extension_decide(request=ask, actor=lena, approve=False, note="理由不充分")
    d = decisions.latest_decision(o)
    assert (d.kind, d.label, d.reason_label, d.reason) == (
        "extension_refused",
        "延期申请未获批准",
        "审批意见",
        "理由不充分",
    )

    with time_machine.travel(dt.datetime(2026, 6, 2, 1, 0, tzinfo=dt.UTC), tick=False):
        ask = services.extension_request(obligation=o, actor=alice, requested_date=dt.date(2026, 12, 31), reason="会商")
        o.refresh_from_db()
        services.extension_decide(request=ask, actor=lena, approve=True, expected_version=o.version)
    d = decisions.latest_decision(o)  # an approval is the date it moved, with the request's reason
    assert (d.kind, d.old, d.new) == ("due_date", "2026-09-30", "2026-12-31") and "会商" in d.reason

    # Work the body does itself is no decision: the latest decision stays the approval.
    services.progress_add(obligation=o, actor=alice, text="推进中", percent=50)
    assert decisions.latest_decision(o).entry_id == d.entry_id
