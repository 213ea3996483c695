"""The Chinese web UI: 我的任务, the obligation page, its forms, the regulation page."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from obligations.models import Obligation, ProgressEntry, ReportingRequirement
from tests.factories import PDF, add_link_evidence, fast_passwords, make_obligation, upload

pytestmark = pytest.mark.django_db
S = Obligation.Status


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    fast_passwords(settings)
    settings.MEDIA_ROOT = tmp_path


def login(user):
    client = Client()
    client.force_login(user)
    return client


def test_home_sends_staff_to_my_tasks_and_the_lead_and_auditors_to_the_dashboard(cast):
    assert login(cast["alice"]).get("/")["Location"] == "/tasks/"
    for name in ("lena", "audrey"):
        assert login(cast[name]).get("/")["Location"] == "/dashboard/"
    assert Client().get("/tasks/").status_code == 302


@time_machine.travel(dt.datetime(2025, 3, 10, 2, 0, tzinfo=dt.UTC), tick=False)
def test_my_tasks_lists_own_obligations_by_urgency_with_lights(cast):
    late = make_obligation("JN-DSJ", due_date=dt.date(2025, 3, 1), text="应当甲事项")
    soon = make_obligation("JN-DSJ", due_date=dt.date(2025, 3, 11), text="应当乙事项")
    make_obligation("JN-LIXIA", due_date=dt.date(2025, 3, 1), text="应当丙事项")
    html = login(cast["alice"]).get("/tasks/").content.decode()
    assert html.index("应当甲事项") < html.index("应当乙事项")
    assert "应当丙事项" not in html
    assert "light-red" in html and "light-yellow" in html
    assert "逾期 9 天" in html and "剩余 1 天" in html
    assert late.citation in html and soon.citation in html
    assert "协办</span>" not in html
    make_obligation("JN-FGW", cooperating=["JN-DSJ"], text="应当协办事项")
    assert "协办</span>" in login(cast["alice"]).get("/tasks/").content.decode()


@time_machine.travel(dt.datetime(2025, 3, 10, 2, 0, tzinfo=dt.UTC), tick=False)
def test_my_tasks_filters_and_paginates(cast):
    for i in range(22):
        make_obligation("JN-DSJ", due_date=dt.date(2025, 4, 1) + dt.timedelta(days=i), text=f"应当批量{i:02d}")
    make_obligation("JN-DSJ", due_date=dt.date(2025, 3, 1), text="应当逾期事项")
    alice = login(cast["alice"])
    page1 = alice.get("/tasks/").content.decode()
    assert "共 23 项" in page1 and "第 1 / 2 页" in page1 and page1.count('class="light ') == 20
    assert "应当批量21" in alice.get("/tasks/?page=2").content.decode()
    overdue = alice.get("/tasks/?overdue=1").content.decode()
    assert "共 1 项" in overdue and "应当逾期事项" in overdue
    within = alice.get("/tasks/?due_within=24").content.decode()
    assert "共 3 项" in within
    assert "共 1 项" in alice.get("/tasks/?q=批量05").content.decode()
    bad = alice.get("/tasks/?due_within=abc")
    assert bad.status_code == 200 and "输入整数" in bad.content.decode()


def actions_on_page(html: str) -> set[str]:
    return set(re.findall(r"/act/(\w+)/", html))


def test_obligation_page_shows_only_the_actions_the_user_may_take(cast):
    o = make_obligation("JN-DSJ", cooperating=["JN-FGW"])
    alice = login(cast["alice"]).get(f"/obligations/{o.pk}/").content.decode()
    assert actions_on_page(alice) == {"transition", "progress", "evidence", "milestone", "extension", "objection"}
    assert "<mark>市大数据部门应当建立公共数据目录管理制度</mark>" in alice
    carol = login(cast["carol"]).get(f"/obligations/{o.pk}/").content.decode()
    assert actions_on_page(carol) == {"progress", "evidence"}
    # The cooperating body sees who does what even where it has nothing to act on.
    assert re.search(r"<h2>分工</h2>\s*<p[^>]*>牵头：市大数据局；协办：市发改委。", carol)
    lena = login(cast["lena"]).get(f"/obligations/{o.pk}/").content.decode()
    assert actions_on_page(lena) == {"due_date", "reassign", "cooperating", "reporting"}
    audrey = login(cast["audrey"]).get(f"/obligations/{o.pk}/").content.decode()
    assert actions_on_page(audrey) == set() and "操作记录" in audrey
    assert login(cast["dave"]).get(f"/obligations/{o.pk}/").status_code == 404


def test_staff_start_log_upload_and_submit_through_forms(cast):
    o = make_obligation("JN-DSJ")
    alice = login(cast["alice"])
    url = f"/obligations/{o.pk}/act/"
    r = alice.post(url + "transition/", {"transition-action": "start", "transition-version": 1})
    assert r.status_code == 302
    r = alice.post(url + "progress/", {"progress-text": "已起草", "progress-percent": "30"})
    assert r.status_code == 302 and ProgressEntry.objects.get().percent == 30
    r = alice.post(
        url + "evidence/",
        {"evidence-kind": "file", "evidence-description": "方案", "evidence-file": upload("方案.pdf", PDF)},
    )
    assert r.status_code == 302
    r = alice.post(url + "transition/", {"transition-action": "submit", "transition-version": 2})
    assert r.status_code == 302
    o.refresh_from_db()
    assert o.status == S.SUBMITTED
    page = alice.get(f"/obligations/{o.pk}/").content.decode()
    assert "方案.pdf" in page and "待核验" in page


def test_page_tells_a_returned_submission_and_a_missed_date_apart(cast):
    o = make_obligation("JN-DSJ", status=S.IN_PROGRESS, due_date=dt.date(2025, 3, 5))
    add_link_evidence(o, cast["alice"])
    alice, lena = login(cast["alice"]), login(cast["lena"])
    url = f"/obligations/{o.pk}/act/transition/"
    with time_machine.travel(dt.datetime(2025, 3, 7, 2, 0, tzinfo=dt.UTC), tick=False):
        assert alice.post(url, {"transition-action": "submit", "transition-version": 1}).status_code == 302
        page = alice.get(f"/obligations/{o.pk}/").content.decode()
        assert "提交核验</dt><dd>2025-03-07 10:00" in page
        assert "未在期限 2025-03-05 前完成" in page  # handed in two days late: the miss stays on record
        r = lena.post(url, {"transition-action": "return", "transition-version": 2, "transition-reason": "材料不全"})
        assert r.status_code == 302
        page = alice.get(f"/obligations/{o.pk}/").content.decode()
    assert "上次提交</dt><dd>2025-03-07 10:00（已退回）" in page
    assert "提交核验</dt>" not in page


def test_form_errors_are_shown_in_chinese_next_to_the_field(cast):
    o = make_obligation("JN-DSJ")
    alice = login(cast["alice"])
    r = alice.post(
        f"/obligations/{o.pk}/act/evidence/",
        {"evidence-kind": "link", "evidence-description": "公开", "evidence-url": "ftp://x"},
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert re.search(r'id="id_evidence-url"[^>]*>\s*<div class="field-error">请输入以 http:// 或 https:// 开头', html)
    r = alice.post(f"/obligations/{o.pk}/act/progress/", {"progress-text": "", "progress-percent": "150"})
    html = r.content.decode()
    assert r.status_code == 400 and "该字段是必填项" in html and "100" in html


def test_stale_form_gets_409_with_what_changed(cast):
    o = make_obligation("JN-DSJ", status=S.SUBMITTED)
    add_link_evidence(o, cast["alice"])
    lena = login(cast["lena"])
    lena.post(f"/obligations/{o.pk}/act/transition/", {"transition-action": "verify", "transition-version": 1})
    r = lena.post(
        f"/obligations/{o.pk}/act/transition/",
        {"transition-action": "return", "transition-version": 1, "transition-reason": "x"},
    )
    assert r.status_code == 409
    assert "该义务已被 lena 于" in r.content.decode() and "待核验 → 已核验" in r.content.decode()


def test_refused_action_through_the_web_is_403_and_changes_nothing(cast):
    o = make_obligation("JN-DSJ")
    r = login(cast["audrey"]).post(
        f"/obligations/{o.pk}/act/due_date/",
        {"due_date-due_date": "2026-01-01", "due_date-reason": "x", "due_date-version": 1},
    )
    assert r.status_code == 403 and "您无权执行此操作" in r.content.decode()
    o.refresh_from_db()
    assert o.due_date is None and o.version == 1


@time_machine.travel(dt.datetime(2025, 2, 10, 2, 0, tzinfo=dt.UTC), tick=False)
def test_due_reports_on_my_tasks_and_missing_ones_for_the_lead(cast):
    o = make_obligation("JN-DSJ")
    ReportingRequirement.objects.create(
        obligation=o, frequency="monthly", starts_on=dt.date(2025, 1, 1), due_day=5, created_by=cast["lena"]
    )
    staff = login(cast["alice"]).get("/tasks/").content.decode()
    assert "定期报送" in staff and "2025-01" in staff and "未报送" in staff
    lead = login(cast["lena"]).get("/tasks/").content.decode()
    assert "缺报的定期报告" in lead and "2025-01" in lead


def test_regulation_page_lists_articles_with_clause_kinds(cast, regulation):
    listing = login(cast["alice"]).get("/regulation/").content.decode()
    assert "济南市数字经济促进条例" in listing and f'href="/regulation/{regulation.pk}/"' in listing
    html = login(cast["alice"]).get(f"/regulation/{regulation.pk}/").content.decode()
    assert "济南市数字经济促进条例" in html and "第一章" in html
    assert "kind-duty" in html and "kind-third_party" in html


def test_pages_have_no_inline_scripts_or_handlers(cast):
    o = make_obligation("JN-DSJ")
    for path in ("/tasks/", f"/obligations/{o.pk}/", "/regulation/", f"/regulation/{o.clause.regulation_id}/"):
        html = login(cast["lena"]).get(path).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_every_history_line_reads_in_words_not_codes(cast):
    from obligations import services
    from obligations.models import ExtensionRequest

    o = make_obligation("JN-DSJ", status="in_progress", due_date=dt.date(2099, 6, 30))
    services.extension_request(
        obligation=o, actor=cast["alice"], requested_date=dt.date(2099, 8, 31), reason="需要会签。"
    )
    request = ExtensionRequest.objects.get(obligation=o)
    services.extension_decide(request=request, actor=cast["lena"], approve=True, note="", expected_version=o.version)
    page = login(cast["audrey"]).get(f"/obligations/{o.pk}/").content.decode()
    history = page[page.index("操作记录") :]
    assert "审批延期（待审批 → 已同意）" in history
    for code in ("pending", "approved", "in_progress", "→ ）", "（ →"):
        assert code not in history, code


def test_the_body_filter_lists_only_the_bodies_whose_work_the_person_sees(cast):
    make_obligation("JN-DSJ", status="in_progress", due_date=dt.date(2099, 6, 30))
    make_obligation("JN-FGW", cooperating=["JN-DSJ"], due_date=dt.date(2099, 6, 30))
    make_obligation("JN-LIXIA", due_date=dt.date(2099, 6, 30))

    def options(user) -> set[str]:
        page = login(user).get("/tasks/").content.decode()
        select = page[page.index('name="department"') :]
        select = select[: select.index("</select>")]
        return set(re.findall(r'<option value="([^"]+)"', select))

    # alice (大数据局) sees her body's work and the 发改委 obligation she cooperates on; not 历下区.
    assert options(cast["alice"]) == {"JN-DSJ", "JN-FGW"}
    lead = options(cast["lena"])
    assert {"JN-DSJ", "JN-FGW", "JN-LIXIA"} <= lead and len(lead) > 40


def test_the_filters_are_folded_until_a_filter_is_in_use(cast):
    client = login(cast["alice"])
    plain = client.get("/tasks/").content.decode()
    assert re.search(r'<details class="card filters-box no-print" data-collapse-narrow>', plain)
    filtered = client.get("/tasks/?status=in_progress").content.decode()
    assert re.search(r'<details class="card filters-box no-print" open data-active data-collapse-narrow>', filtered)
