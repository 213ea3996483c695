"""Several regulations in force side by side: /regulation/ lists them, every list, filter, notice,
report and ledger names the regulation of each row and filters by it, and the lead imports a
regulation in the app (upload, the dry run as the preview, confirm)."""

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from docx import Document
from openpyxl import load_workbook

from core.errors import NotAllowed
from obligations import ledger, services
from obligations.audit import AuditAction
from obligations.figures import format_rate
from obligations.models import AuditEntry, Obligation
from obligations.seeding import import_regulation
from regulations.models import BodyProposal, Clause, Regulation, cite, many_regulations
from tests.test_one_truth import at, csv_figures, csv_report, export

# A small made-up regulation: two duties for bodies the registry knows, one for a body it lacks.
SECOND = """# 济南市公共数据管理示范条例

## 第一章 总则

第一条 为了规范公共数据管理，制定本条例。

第二条 市大数据部门应当建立公共数据目录，并定期更新。

市工业和信息化部门应当推进公共数据在制造业中的应用。

## 第二章 附则

第三条 市体育发展促进中心应当配合开展公共数据的汇聚工作。

第四条 本条例自2025年3月1日起施行。
"""
SEED_TITLE = "济南市数字经济促进条例"
SECOND_TITLE = "济南市公共数据管理示范条例"


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "evidence"
    settings.REPORTS_ROOT = tmp_path / "exports"


@pytest.fixture
def second(regulation, cast):
    return import_regulation(SECOND, code="public-data", actor=cast["lena"]).regulation


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_citation_names_its_regulation_once_several_are_in_force(regulation):
    clause = Clause.objects.filter(regulation=regulation, kind="duty").select_related("article").first()
    plain = clause.citation
    assert re.fullmatch(r"第.+条第.+款", plain) and not many_regulations()
    import_regulation(SECOND, code="public-data")
    assert many_regulations()
    assert clause.citation == f"《{SEED_TITLE}》{plain}"
    assert cite("第二条", 1, SECOND_TITLE) == f"《{SECOND_TITLE}》第二条第一款"


def test_the_list_shows_every_regulation_and_each_has_its_page(second, regulation, cast):
    lena = login(cast["lena"])
    page = lena.get("/regulation/").content.decode()
    assert f"《{SEED_TITLE}》" in page and f"《{SECOND_TITLE}》" in page
    assert "2025-03-01" in page and "2025-01-01" in page
    assert "导入法规" in page  # the lead's link
    seed_duties = Clause.objects.filter(regulation=regulation, kind="duty").count()
    second_obligations = Obligation.objects.filter(clause__regulation=second).count()
    assert second_obligations == 2  # the third duty waits for its body
    row = re.search(rf"《{SECOND_TITLE}》</a></td>(.*?)</tr>", page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert re.sub("<[^>]+>", "", cells[1]).strip() == "3" and f">{second_obligations}<" in cells[2]
    assert f"<td>{seed_duties}</td>" in page

    text = lena.get(f"/regulation/{second.pk}/").content.decode()
    assert SECOND_TITLE in text and "第一章" in text and "kind-duty" in text and "市体育发展促进中心" in text
    seed = lena.get(f"/regulation/{regulation.pk}/").content.decode()
    assert SEED_TITLE in seed and "kind-third_party" in seed
    assert lena.get("/regulation/999999/").status_code == 404


def test_staff_see_their_duties_under_every_regulation_in_one_list_and_filter_it(second, cast):
    alice = login(cast["alice"])  # 大数据局
    page = alice.get("/tasks/", {"page_size": 500}).content.decode()
    assert f"《{SECOND_TITLE}》第二条第一款" in page and re.search(rf"《{SEED_TITLE}》第[^章<]+条第", page)
    assert 'name="regulation"' in page
    only = alice.get("/tasks/", {"regulation": "public-data"}).content.decode()
    assert f"《{SECOND_TITLE}》第二条第一款" in only and not re.search(rf"《{SEED_TITLE}》第[^章<]+条第", only)
    assert "共 1 项" in only and "/tasks/ledger/?regulation=public-data" in only


def test_the_api_names_and_filters_the_regulation(second, cast):
    lena = login(cast["lena"])
    rows = lena.get("/api/obligations/", {"regulation": "public-data"}).json()["results"]
    assert {r["regulation"] for r in rows} == {"public-data"} and len(rows) == 2
    assert {r["citation"] for r in rows} == {f"《{SECOND_TITLE}》第二条第一款", f"《{SECOND_TITLE}》第二条第二款"}
    assert rows[0]["regulation_title"] == SECOND_TITLE
    one = lena.get(f"/api/obligations/{rows[0]['id']}/").json()
    assert one["citation"] == rows[0]["citation"] and one["regulation"] == "public-data"
    seed = lena.get("/api/obligations/", {"regulation": "jinan-digital-economy", "page_size": 500}).json()
    assert seed["results"] and {r["regulation"] for r in seed["results"]} == {"jinan-digital-economy"}


def test_a_notice_names_the_regulation(second, cast):
    from notifications.models import Notification
    from notifications.outbox import deliver_pending

    obligation = Obligation.objects.get(clause__regulation=second, department__code="JN-DSJ")
    services.obligation_set_due_date(
        obligation=obligation,
        actor=cast["lena"],
        due_date=dt.date(2030, 6, 30),
        reason="按工作计划",
        expected_version=1,
    )
    deliver_pending()
    titles = list(Notification.objects.filter(recipient=cast["alice"]).values_list("subject", flat=True))
    assert any(f"《{SECOND_TITLE}》第二条第一款" in t for t in titles), titles


def test_the_ledger_names_and_filters_the_regulation(second, departments, cast):
    out = io.BytesIO()
    rows = ledger.ledger_export(actor=cast["alice"], department=departments["JN-DSJ"], out=out, regulation=second)
    assert rows == 1
    cells = [c for row in load_workbook(io.BytesIO(out.getvalue())).active.iter_rows(values_only=True) for c in row]
    assert f"《{SECOND_TITLE}》第二条第一款" in cells
    everything = login(cast["alice"]).get("/tasks/ledger/")
    workbook = load_workbook(io.BytesIO(b"".join(everything.streaming_content))).active
    cited = [
        c for row in workbook.iter_rows(values_only=True) for c in row if isinstance(c, str) and c.startswith("《")
    ]
    assert any(c.startswith(f"《{SEED_TITLE}》") for c in cited) and f"《{SECOND_TITLE}》第二条第一款" in cited
    assert login(cast["alice"]).get("/tasks/ledger/", {"regulation": "no-such"}).status_code == 404


def test_reports_choose_the_regulation_and_equal_the_dashboard(second, cast):
    lena = login(cast["lena"])
    obligation = Obligation.objects.get(clause__regulation=second, department__code="JN-DSJ")
    with time_machine.travel(at("2026-11-02"), tick=False):
        services.obligation_set_due_date(
            obligation=obligation,
            actor=cast["lena"],
            due_date=dt.date(2026, 10, 30),
            reason="按工作计划",
            expected_version=1,
        )
    with time_machine.travel(at("2026-11-30"), tick=False):
        for code, title in (("public-data", SECOND_TITLE), ("jinan-digital-economy", SEED_TITLE)):
            data = export(lena, "csv", regulation=code)
            header, rows = csv_report(data)
            assert any(line.startswith("法规 " + title) for line in header)
            assert rows and all(r["条款"].startswith(f"《{title}》") for r in rows)
            figures = csv_figures(data)
            summary = lena.get("/api/dashboard/summary/", {"regulation": code}).json()
            assert figures["total"] == summary["total"] and figures["overdue"] == summary["overdue"]
            assert figures["rate"] == format_rate(summary["on_time_rate"])
        assert csv_figures(export(lena, "csv", regulation="public-data"))["overdue"] == 1
        # The dashboard's overdue section names the row's regulation and filters by it.
        overdue = lena.get("/api/dashboard/overdue/", {"regulation": "public-data"}).json()["results"]
        assert [r["citation"] for r in overdue] == [f"《{SECOND_TITLE}》第二条第一款"]
        section = lena.get("/dashboard/section/overdue/", {"regulation": "public-data"}).content.decode()
        assert f"《{SECOND_TITLE}》第二条第一款" in section
        xlsx = export(lena, "xlsx", regulation="public-data")
        detail = [list(r) for r in load_workbook(io.BytesIO(xlsx))["义务明细"].iter_rows(values_only=True)]
        assert {r[detail[0].index("条款")] for r in detail[1:]} == {
            f"《{SECOND_TITLE}》第二条第一款",
            f"《{SECOND_TITLE}》第二条第二款",
        }
        docx = lena.post("/reports/implementation-report/", {"regulation": "public-data"})
        assert docx.status_code == 200
        text = "\n".join(p.text for p in Document(io.BytesIO(b"".join(docx.streaming_content))).paragraphs)
        assert SECOND_TITLE in text
    refused = lena.post("/reports/export/", {"format": "csv", "regulation": "no-such"})
    assert refused.status_code == 400


def test_the_lead_imports_a_regulation_in_the_app(regulation, cast):
    lena = login(cast["lena"])
    assert lena.get("/regulation/import/").status_code == 200
    upload = SimpleUploadedFile("public-data.txt", SECOND.encode("utf-8"))
    preview = lena.post("/regulation/import/", {"file": upload, "preview": "1"})
    page = preview.content.decode()
    assert preview.status_code == 200
    assert SECOND_TITLE in page and "第二条第一款" in page and "济南市大数据局" in page
    assert "市体育发展促进中心" in page and "将提请确认" in page and "第三条第一款" in page
    # The preview is a dry run: nothing written.
    assert Regulation.objects.count() == 1 and not BodyProposal.objects.exists()
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()

    done = lena.post("/regulation/import/", {"confirm": "1"})
    second = Regulation.objects.get(title=SECOND_TITLE)
    assert done.status_code == 302 and done["Location"] == f"/regulation/{second.pk}/"
    assert second.code == "public-data" and second.effective_date == dt.date(2025, 3, 1)
    assert Obligation.objects.filter(clause__regulation=second).count() == 2
    assert BodyProposal.objects.filter(name="市体育发展促进中心").exists()
    created = AuditEntry.objects.filter(pk__gt=before, action=AuditAction.OBLIGATION_CREATED)
    assert created.count() == 2 and set(created.values_list("actor", flat=True)) == {cast["lena"].pk}
    entry = AuditEntry.objects.get(action=AuditAction.REGULATION_IMPORTED)
    assert entry.actor == cast["lena"] and entry.after["regulation"] == "public-data"
    assert "已导入《济南市公共数据管理示范条例》" in lena.get(done["Location"]).content.decode()
    # Confirming twice imports nothing more: the preview is gone.
    again = lena.post("/regulation/import/", {"confirm": "1"}, follow=True)
    assert "预览已失效" in again.content.decode()


@pytest.mark.parametrize("name", ["alice", "audrey"])
def test_staff_and_auditors_may_not_import(regulation, cast, name):
    client = login(cast[name])
    assert "导入法规" not in client.get("/regulation/").content.decode()
    assert client.get("/regulation/import/").status_code == 403
    upload = SimpleUploadedFile("public-data.txt", SECOND.encode("utf-8"))
    assert client.post("/regulation/import/", {"file": upload, "preview": "1"}).status_code == 403
    assert client.post("/regulation/import/", {"confirm": "1"}).status_code == 403
    with pytest.raises(NotAllowed):
        services.regulation_import(text=SECOND, code="x", actor=cast[name])
    assert Regulation.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("law.exe", b"MZ\x90\x00", "只支持"),
        ("empty.txt", "没有条文的一段话。".encode(), "条"),
        ("broken.docx", b"PK\x03\x04 not a zip", "无法"),
    ],
)
def test_a_bad_file_gets_a_chinese_error_and_nothing_is_written(regulation, cast, name, content, message):
    lena = login(cast["lena"])
    response = lena.post("/regulation/import/", {"file": SimpleUploadedFile(name, content), "preview": "1"})
    page = response.content.decode()
    assert response.status_code == 400 and message in page and "确认导入" not in page
    assert Regulation.objects.count() == 1 and "regulation_import" not in lena.session


def test_the_notice_page_names_and_filters_the_regulation(second, regulation, cast):
    from notifications.models import Notification

    alice = cast["alice"]
    seeded = Obligation.objects.filter(clause__regulation=regulation, department__code="JN-DSJ").first()
    public = Obligation.objects.get(clause__regulation=second, department__code="JN-DSJ")
    for obligation, subject in ((seeded, "种子条例的决定"), (public, "公共数据条例的决定")):
        Notification.objects.create(
            recipient=alice, kind=Notification.Kind.RETURNED, subject=subject, body=subject, obligation=obligation
        )
    client = login(alice)
    html = client.get("/notifications/").content.decode()
    assert 'name="regulation"' in html
    assert f"《{SECOND_TITLE}》第二条第一款" in html and f"《{SEED_TITLE}》" in html
    html = client.get("/notifications/?regulation=public-data").content.decode()
    assert "公共数据条例的决定" in html and "种子条例的决定" not in html
