"""The lead amends a regulation in the app, with the real pair 上海市检验检测条例 2016 → 2024 修正
(fixtures/amendments/SOURCES.md): upload → preview (each duty's classification, both texts with
the changed words marked, what happens to the obligations) → a corrected match → confirm, which
carries the obligations over exactly as `import_regulation --amends --lineage` does.

Staff and auditors are refused at every step; a bad file, or a text that is not an amendment of
the regulation, is refused in Chinese with nothing written. Reading a large file through a real
Celery worker is tests/test_regulation_upload_worker.py.
"""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from core.clock import told_at
from obligations import regulation_upload
from obligations.models import AuditEntry, Carryover, Obligation
from obligations.seeding import import_regulation
from obligations.tasks import prepare_regulation_upload, remove_expired_ledger_previews
from regulations.models import RegulationUpload, RegulationVersion
from tests import regulation_forms
from tests.conftest import SEED_TEXT
from tests.test_amendments import TEXT_2016, TEXT_2024, at, cited, read

pytestmark = pytest.mark.django_db


@pytest.fixture
def shanghai(departments):
    with told_at(at("2025-01-10")):
        return import_regulation(read(TEXT_2016), code="sh-jcjc").regulation


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def urls(regulation) -> dict[str, str]:
    return {
        name: reverse(f"regulation-amend{suffix}", args=[regulation.pk])
        for name, suffix in (("form", ""), ("preview", "-preview"), ("correct", "-correct"), ("confirm", "-confirm"))
    }


def upload(client, regulation, content: bytes, name="shanghai-2024.txt", **fields):
    data = {"kind": "amended", "effective": "2025-03-01", **fields}
    if content is not None:
        data["file"] = SimpleUploadedFile(name, content)
    return client.post(urls(regulation)["form"], data)


def written() -> tuple:
    return (
        RegulationVersion.objects.count(),
        Obligation.objects.count(),
        AuditEntry.objects.count(),
        Carryover.objects.count(),
    )


def _ref(clause) -> str | None:
    if clause is None:
        return None
    return f"v{clause.article.version.number}:{clause.article.number}.{clause.paragraph_number}"


def carried() -> tuple[list, list]:
    """Every obligation and carry-over as refs and codes (no ids, no actors): what an amendment did."""
    obligations = sorted(
        (
            _ref(o.clause),
            o.clause.ordinal,
            o.department.code,
            o.status,
            o.superseded_at is not None,
            o.review_since is not None,
            _ref(o.former_clause),
        )
        for o in Obligation.objects.select_related(
            "clause__article__version", "former_clause__article__version", "department"
        )
    )
    rows = sorted(
        (c.lineage, c.outcome, c.obligation.department.code, _ref(c.old_clause), _ref(c.new_clause))
        for c in Carryover.objects.select_related(
            "obligation__department", "old_clause__article__version", "new_clause__article__version"
        )
    )
    return obligations, rows


def test_the_lead_amends_the_regulation_in_the_app_as_the_command_would(shanghai, cast, tmp_path):
    lena = login(cast["lena"])
    gov5 = cited(5, 1, "JN-GOV", 1)
    page = lena.get(reverse("regulation-detail", args=[shanghai.pk])).content.decode()
    assert urls(shanghai)["form"] in page and "导入修正/修订文本" in page
    assert lena.get(urls(shanghai)["form"]).status_code == 200
    before = written()

    # Upload: the text is read in the request (a small file) and the preview prepared.
    response = upload(lena, shanghai, TEXT_2024.read_bytes(), adopted="2024-12-31")
    assert response.status_code == 302 and response["Location"] == urls(shanghai)["preview"]
    page = lena.get(urls(shanghai)["preview"]).content.decode()
    assert "《上海市检验检测条例》" in page and "第2版（2024年修正）" in page
    assert "未变 52" in page and "文字修改 6" in page
    # Both texts side by side, the changed words marked (escaped text inside <del>/<ins>).
    assert '<del class="diff-del">质量技</del>' in page and '<ins class="diff-ins">市场</ins>' in page
    assert "第七条第一款" in page and "第三十三条第二款" in page
    # What happens to the obligations: the bodies the new words name are assigned, the rest kept.
    assert "新增义务：济南市市场监督管理局" in page and "保留原义务：济南市人民政府" in page
    assert written() == before  # the preview wrote nothing

    # The lead corrects one match: 第五条第一款's new words are not the old duty (new + repealed).
    response = lena.post(urls(shanghai)["correct"], {"new_ref": "5.1.1"})
    assert response.status_code == 302
    page = lena.get(urls(shanghai)["preview"]).content.decode()
    assert "（已更正）" in page and "已更正 1 处" in page and "新增 1" in page and "删除 1" in page
    assert "已废止：济南市人民政府" in page
    # A correction naming a clause the texts lack is refused in words.
    refused = lena.post(urls(shanghai)["correct"], {"new_ref": "99.1.1"})
    assert refused.status_code == 400 and "选择一个有效的选项" in refused.content.decode()
    assert written() == before

    # What the command does with the same text and correction, rolled back.
    corrections = tmp_path / "lineage.json"
    corrections.write_text(json.dumps([["new", None, "5.1.1"]]), encoding="utf-8")
    with transaction.atomic():
        with told_at(at("2025-03-01")):
            call_command(
                "import_regulation",
                str(TEXT_2024),
                "--amends",
                "sh-jcjc",
                "--effective",
                "2025-03-01",
                "--lineage",
                str(corrections),
                stdout=StringIO(),
            )
        expected = carried()
        transaction.set_rollback(True)
    assert written() == before

    # Confirm: the service imports the version and carries the obligations over, audited.
    with told_at(at("2025-03-01")):
        done = lena.post(urls(shanghai)["confirm"])
    assert done.status_code == 302 and done["Location"] == reverse("regulation-detail", args=[shanghai.pk])
    message = lena.get(done["Location"]).content.decode()
    assert "已导入《上海市检验检测条例》第2版（2024年修正），自2025年03月01日起施行" in message
    assert "已废止 1" in message
    assert carried() == expected
    gov5.refresh_from_db()
    assert gov5.status == Obligation.Status.REPEALED
    version = RegulationVersion.objects.get(regulation=shanghai, number=2)
    assert version.adopted_on == dt.date(2024, 12, 31) and version.kind == RegulationVersion.Kind.AMENDED
    entry = AuditEntry.objects.filter(action="regulation.amended").latest("id")
    assert entry.actor == cast["lena"] and entry.after["corrections"] == [["new", None, "5.1.1"]]
    assert not RegulationUpload.objects.exists()
    call_command("verify_audit_trail", stdout=StringIO())
    # Confirming again does nothing: the upload is gone.
    again = lena.post(urls(shanghai)["confirm"], follow=True)
    assert "预览已失效" in again.content.decode()
    assert RegulationVersion.objects.filter(regulation=shanghai).count() == 2


def test_withdrawing_the_corrections_restores_the_matcher_s_lineage(shanghai, cast):
    lena = login(cast["lena"])
    upload(lena, shanghai, TEXT_2024.read_bytes())
    lena.post(urls(shanghai)["correct"], {"new_ref": "7.1.1", "old_ref": "7.2.1", "kind": "reworded"})
    row = RegulationUpload.objects.get()
    assert row.params["corrections"] == [["reworded", "7.2.1", "7.1.1"]]
    # Another correction of the same new duty replaces it.
    lena.post(urls(shanghai)["correct"], {"new_ref": "7.1.1"})
    row.refresh_from_db()
    assert row.params["corrections"] == [["new", None, "7.1.1"]] and row.preview["counts"]["new"] == 1
    lena.post(urls(shanghai)["correct"], {"withdraw": "1"})
    row.refresh_from_db()
    assert row.params["corrections"] == [] and row.preview["counts"]["reworded"] == 6
    assert row.preview["counts"]["new"] == 0


@pytest.mark.parametrize("name", ["alice", "audrey"])
def test_staff_and_auditors_are_refused_at_every_step(shanghai, cast, name):
    # The lead has an upload waiting: nobody else reaches it.
    lena = login(cast["lena"])
    upload(lena, shanghai, TEXT_2024.read_bytes())
    client = login(cast[name])
    page = client.get(reverse("regulation-detail", args=[shanghai.pk])).content.decode()
    assert "导入修正/修订文本" not in page
    u = urls(shanghai)
    assert client.get(u["form"]).status_code == 403
    assert upload(client, shanghai, TEXT_2024.read_bytes()).status_code == 403
    assert client.get(u["preview"]).status_code == 403
    assert client.post(u["correct"], {"new_ref": "5.1.1"}).status_code == 403
    assert client.post(u["correct"], {"withdraw": "1"}).status_code == 403
    assert client.post(u["confirm"]).status_code == 403
    assert client.get(reverse("regulation-upload-status")).status_code == 403
    assert RegulationVersion.objects.filter(regulation=shanghai).count() == 1
    assert list(RegulationUpload.objects.values_list("owner__username", flat=True)) == ["lena"]


@pytest.mark.parametrize(
    ("name", "content", "fields", "message"),
    [
        ("law.exe", b"MZ\x90\x00", {}, "只支持"),
        ("broken.docx", b"PK\x03\x04 not a zip", {}, "无法"),
        ("empty.txt", "没有条文的一段话。".encode(), {}, "条"),
        ("jinan.txt", SEED_TEXT.read_bytes(), {}, "不像是它的修正或修订文本"),
        ("shanghai-2016.txt", TEXT_2016.read_bytes(), {}, "无需再次导入"),
        ("shanghai-2024.txt", TEXT_2024.read_bytes(), {"effective": ""}, "施行日期"),
        ("shanghai-2024.txt", TEXT_2024.read_bytes(), {"effective": "2025-02-30"}, "施行日期"),
        ("shanghai-2024.txt", None, {}, "法规文件"),
    ],
    ids=["exe", "broken-docx", "no-articles", "another-law", "same-text", "no-date", "bad-date", "no-file"],
)
def test_a_bad_file_or_another_text_is_refused_in_chinese(shanghai, cast, name, content, fields, message):
    lena = login(cast["lena"])
    before = written()
    response = upload(lena, shanghai, content, name=name, **fields)
    page = response.content.decode()
    assert response.status_code == 400 and message in page and "确认导入并结转义务" not in page
    assert written() == before and not RegulationUpload.objects.exists()


def test_a_failed_read_by_the_task_shows_the_chinese_error_and_writes_nothing(shanghai, cast, settings):
    """Above the size rule the request only queues the file; the task's refusal is on the page."""
    settings.REGULATION_SYNC_MAX_BYTES = 0
    lena = login(cast["lena"])
    before = written()
    scan = regulation_forms.to_pdf("第一条 测试。", with_text_layer=False)
    response = upload(lena, shanghai, scan, name="scan.pdf")
    assert response.status_code == 302
    row = RegulationUpload.objects.get()
    assert row.status == RegulationUpload.Status.PENDING and row.total == 1  # pages counted before parsing
    page = lena.get(urls(shanghai)["preview"]).content.decode()
    assert "排队中" in page and 'hx-get="/regulation/upload/status/"' in page
    assert lena.get(reverse("regulation-upload-status")).content.decode().count("排队中") == 1
    assert prepare_regulation_upload(str(row.pk)) == "failed"
    assert prepare_regulation_upload(str(row.pk)) is None  # a duplicated message does nothing
    assert lena.get(reverse("regulation-upload-status"))["HX-Refresh"] == "true"
    page = lena.get(urls(shanghai)["preview"]).content.decode()
    assert "扫描件" in page and "未写入任何内容" in page and "重新上传" in page and "hx-get" not in page
    assert written() == before


def test_a_pdf_past_the_page_limit_is_refused_before_it_is_parsed(shanghai, cast, monkeypatch):
    from regulations import readers

    monkeypatch.setattr(readers, "MAX_PDF_PAGES", 2)
    lena = login(cast["lena"])
    pdf = regulation_forms.to_pdf(read(TEXT_2024))
    response = upload(lena, shanghai, pdf, name="shanghai.pdf")
    assert response.status_code == 400 and "页数过多" in response.content.decode()
    assert not RegulationUpload.objects.exists()


def test_one_upload_per_person_replaced_by_the_next_and_removed_after_a_day(shanghai, cast):
    lena = login(cast["lena"])
    upload(lena, shanghai, TEXT_2024.read_bytes())
    first = RegulationUpload.objects.get()
    lena.post(reverse("regulation-import"), {"file": SimpleUploadedFile("law.txt", SEED_TEXT.read_bytes())})
    assert list(RegulationUpload.objects.values_list("purpose", flat=True)) == ["import"]
    assert not RegulationUpload.objects.filter(pk=first.pk).exists()
    # The amendment page no longer has a preview to show.
    assert lena.get(urls(shanghai)["preview"]).status_code == 302
    RegulationUpload.objects.update(created_at=at("2020-01-01"))
    assert remove_expired_ledger_previews()["regulation_uploads"] == 1
    assert not RegulationUpload.objects.exists()


def test_a_new_text_under_a_known_title_points_the_import_page_to_the_amendment(shanghai, cast):
    lena = login(cast["lena"])
    response = lena.post(reverse("regulation-import"), {"file": SimpleUploadedFile("sh.txt", TEXT_2024.read_bytes())})
    assert response.status_code == 400 and "导入修正/修订文本" in response.content.decode()
    assert regulation_upload.upload_of(cast["lena"], RegulationUpload.Purpose.IMPORT) is None


def test_an_amendment_of_a_regulation_with_many_obligations_is_previewed_by_the_task(shanghai, cast, monkeypatch):
    monkeypatch.setattr(regulation_upload, "SYNC_MAX_OBLIGATIONS", 10)  # the fixture's has more
    lena = login(cast["lena"])
    assert upload(lena, shanghai, TEXT_2024.read_bytes()).status_code == 302
    row = RegulationUpload.objects.get()
    assert row.status == RegulationUpload.Status.PENDING and not row.text
    assert prepare_regulation_upload(str(row.pk)) == "done"
    # A correction is prepared where the upload was: queued again.
    lena.post(urls(shanghai)["correct"], {"new_ref": "5.1.1"})
    row.refresh_from_db()
    assert row.status == RegulationUpload.Status.PENDING and row.text
    assert prepare_regulation_upload(str(row.pk)) == "done"
    page = lena.get(urls(shanghai)["preview"]).content.decode()
    assert "已更正 1 处" in page and "已废止：济南市人民政府" in page
    # The confirmation too: the request queues it, the worker confirms as the lead, the page tells.
    assert lena.post(urls(shanghai)["confirm"])["Location"] == urls(shanghai)["preview"]
    row.refresh_from_db()
    assert (row.status, row.stage) == (RegulationUpload.Status.PENDING, "confirming")
    assert "导入新版本并结转义务" in lena.get(reverse("regulation-upload-status")).content.decode()
    assert RegulationVersion.objects.filter(regulation=shanghai).count() == 1
    assert prepare_regulation_upload(str(row.pk)) == "done"
    done = lena.get(urls(shanghai)["preview"])
    assert done["Location"] == reverse("regulation-detail", args=[shanghai.pk])
    assert "已导入《上海市检验检测条例》第2版（2024年修正）" in lena.get(done["Location"]).content.decode()
    assert not RegulationUpload.objects.exists()
    entry = AuditEntry.objects.filter(action="regulation.amended").latest("id")
    assert entry.actor == cast["lena"] and entry.after["corrections"] == [["new", None, "5.1.1"]]


def test_the_texts_and_their_marks_are_escaped(shanghai, cast):
    lena = login(cast["lena"])
    hostile = read(TEXT_2024).replace("推进检验检测市场快速健康发展", "推进<img src=x onerror=alert(1)>发展", 1)
    assert upload(lena, shanghai, hostile.encode()).status_code == 302
    page = lena.get(urls(shanghai)["preview"]).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and '<ins class="diff-ins">' in page
    assert "<img src=x" not in page


def test_the_admin_s_import_page_waits_for_the_worker_too(departments, django_user_model, settings):
    settings.REGULATION_SYNC_MAX_BYTES = 0
    admin = django_user_model.objects.create_superuser("root", password="pw-Secret-123", role="admin")
    client = login(admin)
    url = "/admin/regulations/regulation/import/"
    pdf = regulation_forms.to_pdf(read(TEXT_2016))
    response = client.post(url, {"file": SimpleUploadedFile("sh.pdf", pdf), "preview": "1"})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert 'http-equiv="refresh"' in page and "排队中" in page and "确认导入" not in page
    assert prepare_regulation_upload(str(RegulationUpload.objects.get().pk)) == "done"
    page = client.get(url).content.decode()
    assert "上海市检验检测条例" in page and "确认导入" in page and 'http-equiv="refresh"' not in page
