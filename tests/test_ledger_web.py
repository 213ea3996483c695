"""The 台账 on the web: the download on 我的任务, the upload page with its preview, and the
lead's 下发 (a notice with the link to every body that carries obligations)."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from notifications.models import Delivery, Notification
from obligations import ledger, services
from obligations.models import AuditEntry, Obligation, ProgressEntry
from tests.factories import make_obligation
from tests.test_ledger import fill

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.REPORTS_ROOT = tmp_path / "exports"
    with time_machine.travel(dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def own(cast, departments):
    return [make_obligation("JN-DSJ"), make_obligation("JN-DSJ", status=Obligation.Status.IN_PROGRESS)]


def login(client, user):
    client.force_login(user)
    return client


def download(client, query="") -> bytes:
    response = client.get("/tasks/ledger/" + query)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def upload(client, data: bytes, name="台账.xlsx"):
    return client.post("/tasks/ledger/import/", {"file": SimpleUploadedFile(name, data)})


def test_staff_download_their_bodys_ledger_and_no_other(client, cast, own):
    login(client, cast["alice"])
    wb = load_workbook(io.BytesIO(download(client)))
    assert [c.value for c in wb[ledger.SHEET]["A"]][ledger.FIRST_ROW - 1 :] == [o.pk for o in own]
    assert client.get("/tasks/ledger/?department=JN-FGW").status_code == 404
    page = client.get("/tasks/").content.decode()
    assert "下载本单位台账" in page and "/tasks/ledger/import/" in page


def test_the_lead_downloads_any_bodys_ledger(client, cast, own):
    login(client, cast["lena"])
    wb = load_workbook(io.BytesIO(download(client, "?department=JN-DSJ")))
    assert wb[ledger.SHEET].max_row == ledger.FIRST_ROW - 1 + len(own)
    assert client.get("/tasks/ledger/?department=NOPE").status_code == 404
    assert "向各单位下发台账" in client.get("/tasks/").content.decode()


def test_upload_previews_every_row_then_applies_on_confirmation(client, cast, own):
    login(client, cast["alice"])
    data = fill(download(client), {own[0].pk: {"本期进展": "已起草制度", "完成比例": 30, "状态申请": "开始办理"}})
    preview = upload(client, data)
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "新增工作进展（完成比例 30%）：已起草制度" in page and "状态：未启动 → 推进中" in page
    assert ProgressEntry.objects.count() == 0  # the preview wrote nothing
    token = preview.context["token"]

    done = client.post("/tasks/ledger/import/", {"token": token, "name": "台账.xlsx"})
    assert done.status_code == 302 and done["Location"] == "/tasks/"
    assert ProgressEntry.objects.get().text == "已起草制度"
    assert Obligation.objects.get(pk=own[0].pk).status == "in_progress"
    assert AuditEntry.objects.get(action="ledger.imported").after["file_name"] == "台账.xlsx"
    # The stashed upload is gone: confirming again does nothing.
    again = client.post("/tasks/ledger/import/", {"token": token, "name": "台账.xlsx"}, follow=True)
    assert "预览已失效" in again.content.decode() and ProgressEntry.objects.count() == 1


def test_a_colleague_cannot_confirm_anothers_preview(client, cast, own):
    login(client, cast["alice"])
    data = fill(download(client), {own[0].pk: {"本期进展": "已起草"}})
    token = upload(client, data).context["token"]
    login(client, cast["bob"])
    response = client.post("/tasks/ledger/import/", {"token": token}, follow=True)
    assert "预览已失效" in response.content.decode() and ProgressEntry.objects.count() == 0


def test_upload_shows_refused_rows_and_offers_no_confirmation(client, cast, own):
    login(client, cast["alice"])
    data = fill(download(client), {own[0].pk: {"本期进展": "已起草"}, own[1].pk: {"状态申请": "提交核验"}})
    response = upload(client, data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "第 4 行" in page and "「状态申请」提交核验前请至少上传一份佐证材料" in page
    assert "确认导入" not in page and response.context.get("token") is None


def test_a_confirmation_after_the_obligation_changed_applies_nothing(client, cast, own):
    login(client, cast["alice"])
    data = fill(download(client), {own[1].pk: {"本期进展": "推进中"}})
    token = upload(client, data).context["token"]
    services.obligation_set_due_date(
        obligation=own[1], actor=cast["lena"], due_date=dt.date(2025, 12, 31), reason="统一期限", expected_version=1
    )
    response = client.post("/tasks/ledger/import/", {"token": token, "name": "x.xlsx"})
    page = response.content.decode()
    assert response.status_code == 409 and "导出后已变更：完成期限" in page
    assert f"/tasks/ledger/returned/{token}/" in page and "下载已带入您填写内容的新台账" in page
    assert ProgressEntry.objects.count() == 0


def test_a_hostile_upload_is_refused_with_a_clear_message(client, cast, own):
    login(client, cast["alice"])
    response = upload(client, b"MZ\x90\x00not a workbook", name="evil.xlsx")
    assert response.status_code == 400 and "不是 Excel" in response.content.decode()
    data = fill(download(client), {own[0].pk: {"本期进展": "=1+1"}})
    response = upload(client, data)
    assert response.status_code == 400 and "公式" in response.content.decode()
    assert ProgressEntry.objects.count() == 0


def test_the_lead_issues_the_ledger_to_every_body_that_carries_obligations(client, cast, own, departments):
    make_obligation("JN-FGW")
    login(client, cast["lena"])
    response = client.post("/notifications/ledger/issue/")
    assert response.status_code == 302
    notices = Notification.objects.filter(kind=Notification.Kind.LEDGER)
    assert sorted(n.recipient.username for n in notices) == ["alice", "bob", "carol"]
    alice = notices.get(recipient=cast["alice"])
    assert alice.url.endswith("/tasks/ledger/") and "2 项义务" in alice.body and "/tasks/ledger/import/" in alice.body
    assert Delivery.objects.filter(notification=alice, channel="email").exists()
    issued = AuditEntry.objects.filter(action="ledger.issued")
    assert sorted(e.after["department"] for e in issued) == ["JN-DSJ", "JN-FGW"]


def test_only_the_lead_issues_the_ledger(client, cast, own):
    for name in ("alice", "audrey"):
        login(client, cast[name])
        assert client.post("/notifications/ledger/issue/").status_code == 404
    assert not Notification.objects.filter(kind=Notification.Kind.LEDGER).exists()


def test_a_workbook_whose_sheet_xml_is_cut_short_is_a_chinese_400(client, cast, own):
    from tests.test_ledger import rewrite, sheet_entry

    login(client, cast["alice"])
    data = fill(download(client), {own[0].pk: {"本期进展": "已起草"}})
    cut = rewrite(data, sheet_entry(data), lambda xml: xml[: len(xml) // 2])
    response = upload(client, cut)
    assert response.status_code == 400 and "损坏" in response.content.decode()
    assert ProgressEntry.objects.count() == 0


def stashed(settings) -> list[str]:
    root = settings.REPORTS_ROOT / "ledger-uploads"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_each_person_keeps_one_preview_the_next_replaces_it(client, settings, cast, own):
    login(client, cast["alice"])
    data = fill(download(client), {own[0].pk: {"本期进展": "已起草"}})
    tokens = [upload(client, data).context["token"] for _ in range(10)]
    assert stashed(settings) == [f"{cast['alice'].pk}-{tokens[-1]}.xlsx"]
    # bob's preview is his own and does not replace alice's.
    login(client, cast["bob"])
    bobs = upload(client, data).context["token"]
    assert len(stashed(settings)) == 2
    # alice's replaced preview can no longer be confirmed; her latest can.
    login(client, cast["alice"])
    old = client.post("/tasks/ledger/import/", {"token": tokens[0], "name": "台账.xlsx"}, follow=True)
    assert "预览已失效" in old.content.decode() and ProgressEntry.objects.count() == 0
    done = client.post("/tasks/ledger/import/", {"token": tokens[-1], "name": "台账.xlsx"})
    assert done.status_code == 302 and ProgressEntry.objects.count() == 1
    assert stashed(settings) == [f"{cast['bob'].pk}-{bobs}.xlsx"]


def test_the_clean_up_task_removes_expired_previews_only(client, settings, cast, own):
    import os
    import time

    from obligations.tasks import LEDGER_STASH_SWEEP_TASK, remove_expired_ledger_previews
    from tracker.celery import app

    login(client, cast["alice"])
    data = fill(download(client), {own[0].pk: {"本期进展": "已起草"}})
    upload(client, data)
    login(client, cast["bob"])
    upload(client, data)
    root = settings.REPORTS_ROOT / "ledger-uploads"
    (root / "9-abandoned.part").write_bytes(b"half")
    old = time.time() - (ledger.STASH_HOURS * 3600 + 60)
    alices = next(root.glob(f"{cast['alice'].pk}-*.xlsx"))
    for path in [alices, root / "9-abandoned.part"]:
        os.utime(path, (old, old))
    # The same sweep also removes expired regulation uploads (none here).
    assert remove_expired_ledger_previews.apply().get() == {"removed": 2, "regulation_uploads": 0}
    assert [p.name.split("-")[0] for p in root.iterdir()] == [str(cast["bob"].pk)]
    assert remove_expired_ledger_previews.apply().get() == {"removed": 0, "regulation_uploads": 0}
    # Beat runs it (django-celery-beat copies the schedule from the settings when it starts).
    assert any(entry["task"] == LEDGER_STASH_SWEEP_TASK for entry in app.conf.beat_schedule.values())
