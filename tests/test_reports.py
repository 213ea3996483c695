"""Compliance reports: what they say (XLSX, PDF, CSV), as of which date, for whom, and how the
large ones are built outside the request. Test data is written the way the services write it:
the rows plus the audit entries of the shared action contract."""

import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from obligations import audit
from obligations import services as workflow
from obligations.models import AuditEntry, Evidence, Obligation, ProgressEntry
from reports import asof, services
from reports.columns import neutralise
from reports.models import ExportJob
from reports.tasks import run_export_job

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "evidence"
    settings.REPORTS_ROOT = tmp_path / "exports"
    return tmp_path


# --- writing history the way the workflow services do -------------------------------------------


def set_status(ob: Obligation, new: str, actor, when: dt.datetime, reason: str = "") -> None:
    with time_machine.travel(when, tick=False):
        old = ob.status
        ob.status = new
        if new == Obligation.Status.SUBMITTED:
            ob.submitted_at, ob.submitted_by = timezone.now(), actor
        if new == Obligation.Status.VERIFIED:
            ob.verified_at, ob.verified_by = timezone.now(), actor
        ob.last_activity_at = timezone.now()
        ob.save()
        after = {"status": new, "reason": reason} if reason else {"status": new}
        audit.record("obligation.status", obligation=ob, actor=actor, before={"status": old}, after=after)


def set_due(ob: Obligation, due: dt.date, actor, when: dt.datetime) -> None:
    with time_machine.travel(when, tick=False):
        old = ob.due_date
        ob.due_date = due
        ob.save()
        audit.record(
            "obligation.due_date",
            obligation=ob,
            actor=actor,
            before={"due_date": old.isoformat() if old else None},
            after={"due_date": due.isoformat(), "reason": "测试设定期限"},
        )


def reassign(ob: Obligation, dept, actor, when: dt.datetime) -> None:
    with time_machine.travel(when, tick=False):
        old = ob.department.code
        ob.department = dept
        ob.save()
        audit.record(
            "obligation.reassigned",
            obligation=ob,
            actor=actor,
            before={"department": old},
            after={"department": dept.code, "reason": "分工调整"},
        )


def add_progress(ob: Obligation, text: str, actor, when: dt.datetime, percent: int | None = None):
    with time_machine.travel(when, tick=False):
        entry = ProgressEntry.objects.create(
            obligation=ob, department=ob.department, author=actor, text=text, percent=percent
        )
        audit.record(
            "progress.added",
            obligation=ob,
            actor=actor,
            after={
                "progress_id": entry.id,
                "text": text,
                "percent": percent,
                "department": ob.department.code,
                "corrects": None,
            },
        )
        return entry


def add_evidence(ob: Obligation, data: bytes, name: str, actor, when: dt.datetime, description: str = "佐证文件"):
    with time_machine.travel(when, tick=False):
        ev = Evidence(
            obligation=ob,
            department=ob.department,
            kind=Evidence.Kind.FILE,
            description=description,
            original_name=name,
            size=len(data),
            digest=hashlib.sha256(data).hexdigest(),
            digest_algorithm="sha256",
            uploaded_by=actor,
        )
        ev.file.save(name, ContentFile(data), save=False)
        ev.save()
        audit.record(
            "evidence.added",
            obligation=ob,
            actor=actor,
            after={
                "evidence_id": ev.id,
                "kind": ev.kind,
                "description": ev.description,
                "digest": ev.digest,
                "algorithm": "sha256",
                "size": ev.size,
                "original_name": name,
            },
        )
        return ev


def fgw20() -> Obligation:
    """第二十条第一款: 发展改革部门 responsible, 工信 and 科技 cooperating (carol's body)."""
    return Obligation.objects.select_related("clause__article", "department").get(clause__article__number=20)


def dsj_obligations():
    return Obligation.objects.filter(department__code="JN-DSJ").select_related("clause__article").order_by("id")


@pytest.fixture
def history(regulation, cast):
    """Article 20 worked on in January 2027 and verified; one 大数据局 obligation overdue."""
    ob = fgw20()
    carol, lena = cast["carol"], cast["lena"]
    set_due(ob, dt.date(2027, 1, 31), lena, at("2027-01-02"))
    set_status(ob, Obligation.Status.IN_PROGRESS, carol, at("2027-01-05"))
    add_progress(ob, "已起草数字经济发展规划初稿", carol, at("2027-01-06"), 40)
    ev = add_evidence(ob, b"%PDF-1.4 plan draft", "规划初稿.pdf", carol, at("2027-01-07"), "规划初稿")
    set_status(ob, Obligation.Status.SUBMITTED, carol, at("2027-01-20"))
    set_status(ob, Obligation.Status.VERIFIED, lena, at("2027-01-22"))
    dsj = dsj_obligations().first()
    set_due(dsj, dt.date(2027, 1, 10), lena, at("2027-01-02"))
    return {"fgw": ob, "dsj": dsj, "evidence": ev}


def post_export(client, user, fmt: str, **filters):
    client.force_login(user)
    data = {"format": fmt, **{k: v for k, v in filters.items() if v is not None}}
    return client.post(reverse("reports:export"), data)


def content_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def obligations_sheet(data: bytes) -> tuple[list, list[list]]:
    wb = load_workbook(io.BytesIO(data))
    rows = [list(r) for r in wb["义务明细"].iter_rows(values_only=True)]
    return rows[0], rows[1:]


def row_for(header, rows, obligation_id):
    idx = header.index("义务编号")
    return dict(zip(header, next(r for r in rows if r[idx] == obligation_id), strict=True))


# --- the formats -------------------------------------------------------------------------------


@time_machine.travel(at("2027-02-01"), tick=False)
def test_xlsx_report_has_summary_obligations_and_evidence_with_title_clause_digest_and_states(client, cast, history):
    response = post_export(client, cast["audrey"], "xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    data = content_of(response)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["汇总", "义务明细", "期限调整", "佐证材料清单"]

    summary = [list(r) for r in wb["汇总"].iter_rows(values_only=True)]
    flat = "\n".join(str(v) for r in summary for v in r if v is not None)
    assert "济南市数字经济促进条例" in flat
    assert audit.chain_head() != "" and AuditEntry.objects.get(hash=summary_head(summary)).action != ""
    assert "按期完成率" in flat
    # Rates are numbers shown as percentages, so a spreadsheet can sort and sum them.
    ws = wb["汇总"]
    rate = next(r[1] for r in ws.iter_rows() if r[0].value == "按期完成率")
    assert isinstance(rate.value, int | float) and 0 <= rate.value <= 1 and rate.number_format == "0.0%"
    body_header = next(r for r in ws.iter_rows() if r[0].value == "按责任单位统计")
    rate_column = len(body_header) - 1
    assert body_header[rate_column].value == "按期完成率"
    body_rates = [r[rate_column] for r in ws.iter_rows(min_row=body_header[0].row + 1) if r[0].value]
    assert body_rates and all(
        (isinstance(c.value, int | float) and c.number_format == "0.0%") or c.value == "—" for c in body_rates
    )
    # Every table sheet has an auto-filter over its header and rows.
    for name in ("义务明细", "期限调整", "佐证材料清单"):
        sheet = wb[name]
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{max(sheet.max_row, 2)}"

    header, rows = obligations_sheet(data)
    assert wb["义务明细"].freeze_panes == "A2"
    # 60 characters as Excel shows them (the file stores the width with Excel's cell padding).
    assert wb["义务明细"].column_dimensions["C"].width == pytest.approx(60, abs=1)
    fgw = row_for(header, rows, history["fgw"].id)
    assert fgw["条款"] == "第二十条第一款"
    assert fgw["义务内容"] == history["fgw"].clause.text
    assert fgw["责任单位"] == "济南市发展和改革委员会"
    assert "济南市工业和信息化局" in fgw["协办单位"]
    assert fgw["状态"] == "已核验"
    assert fgw["完成期限"] == dt.datetime(2027, 1, 31)  # a real date cell, not text
    assert fgw["提交核验时间"] == dt.datetime(2027, 1, 20, 10, 0)
    assert fgw["提交人"] == "carol" and fgw["核验人"] == "lena"
    assert fgw["按期情况"] == "按期完成"
    assert fgw["最新进展"] == "已起草数字经济发展规划初稿"
    assert fgw["佐证材料数"] == 1
    dsj = row_for(header, rows, history["dsj"].id)
    assert dsj["状态"] == "未启动" and dsj["按期情况"] == "已逾期 22 天" and dsj["逾期天数"] == 22
    assert dsj["曾逾期"] == "是" and fgw["曾逾期"] == "否"
    assert len(rows) == Obligation.objects.active().count()

    evidence = [list(r) for r in wb["佐证材料清单"].iter_rows(values_only=True)]
    assert wb["佐证材料清单"].freeze_panes == "A2"
    ev_header, ev_row = evidence[0], dict(zip(evidence[0], evidence[1], strict=True))
    assert "摘要值" in ev_header
    assert ev_row["摘要值"] == hashlib.sha256(b"%PDF-1.4 plan draft").hexdigest()
    assert ev_row["文件名 / 链接 / 发文字号"] == "规划初稿.pdf"
    assert ev_row["条款"] == "第二十条第一款" and ev_row["提交人"] == "carol"


def summary_head(summary_rows) -> str:
    line = next(r[1] for r in summary_rows if r and r[0] == "审计链头（生成时）")
    return re.search(r"[0-9a-f]{64}", line).group(0)


@time_machine.travel(at("2027-02-01"), tick=False)
def test_pdf_report_is_a4_with_page_numbers_and_extractable_chinese(client, cast, history):
    response = post_export(client, cast["audrey"], "pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(content_of(response)))
    first = reader.pages[0]
    assert (round(float(first.mediabox.width)), round(float(first.mediabox.height))) == (595, 842)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "《济南市数字经济促进条例》义务履行情况报告" in text
    assert f"第 1 页 共 {len(reader.pages)} 页" in text
    assert "第二十条第一款" in text
    assert "已核验" in text and "未启动" in text
    compact = "".join(text.split())
    assert hashlib.sha256(b"%PDF-1.4 plan draft").hexdigest() in compact
    stated = AuditEntry.objects.order_by("-id").first().after["chain_head"]
    assert "审计链头" in text and stated in compact


@time_machine.travel(at("2027-02-01"), tick=False)
def test_csv_report_is_utf8_with_bom_and_has_the_header_and_rows(client, cast, history):
    response = post_export(client, cast["lena"], "csv")
    assert response.status_code == 200 and response.streaming
    data = content_of(response)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["《济南市数字经济促进条例》义务履行情况报告"]
    assert any(line[:1] == ["审计链头（生成时）"] for line in lines)
    header_at = next(i for i, line in enumerate(lines) if line[:1] == ["条款"])
    header = lines[header_at]
    row = next(dict(zip(header, r, strict=True)) for r in lines[header_at + 1 :] if r[0] == "第二十条第一款")
    assert row["状态"] == "已核验" and row["完成期限"] == "2027-01-31"


def test_neutralise_prefixes_formula_triggers_only_on_text():
    for bad in ["=1+1", "+86", "-2", "@SUM(A1)", "\tcmd", "\rcmd"]:
        assert neutralise(bad) == "'" + bad
    assert neutralise("正常文本") == "正常文本"
    assert neutralise(-2) == -2
    assert neutralise(None) is None


@time_machine.travel(at("2027-02-01"), tick=False)
def test_formulas_in_user_text_are_neutralised_in_xlsx_and_csv(client, cast, history):
    ob = history["fgw"]
    add_progress(ob, '=HYPERLINK("http://evil.example","点我")', cast["carol"], at("2027-01-25"))
    evil = add_evidence(ob, b"x", "@SUM(1+1).xlsx", cast["carol"], at("2027-01-25"), description="+cmd|' /C calc'!A0")

    header, rows = obligations_sheet(content_of(post_export(client, cast["audrey"], "xlsx")))
    assert row_for(header, rows, ob.id)["最新进展"] == '\'=HYPERLINK("http://evil.example","点我")'
    wb = load_workbook(io.BytesIO(content_of(post_export(client, cast["audrey"], "xlsx"))))
    for row in wb["佐证材料清单"].iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value  # no formula anywhere
    evidence = [r for r in wb["佐证材料清单"].iter_rows(values_only=True) if r[-1] == evil.id][0]
    assert "'+cmd|' /C calc'!A0" in evidence and "'@SUM(1+1).xlsx" in evidence

    text = content_of(post_export(client, cast["audrey"], "csv")).decode("utf-8-sig")
    assert '\'=HYPERLINK(""http://evil.example"",""点我"")' in text
    assert ",=" not in text


# --- as of a date ------------------------------------------------------------------------------


def report_rows(user, as_of=None, **filters) -> dict[int, asof.ObligationRow]:
    ctx = services.report_context(user=user, filters=asof.ReportFilters(as_of=as_of, **filters))
    return {row.obligation_id: row for row in asof.iter_obligation_rows(ctx)}


def test_report_for_a_past_date_does_not_move_when_things_change_afterwards(client, cast, regulation, departments):
    ob, carol, lena = fgw20(), cast["carol"], cast["lena"]
    set_due(ob, dt.date(2027, 1, 31), lena, at("2027-01-02"))
    set_status(ob, Obligation.Status.IN_PROGRESS, carol, at("2027-01-05"))
    add_progress(ob, "一月进展", carol, at("2027-01-06"), 30)
    add_evidence(ob, b"first", "一月.pdf", carol, at("2027-01-07"))
    # 23:30 Beijing on the as-of day still counts for that day.
    add_progress(ob, "当日深夜补报", carol, at("2027-01-10", 23).replace(minute=30), 35)
    as_of = dt.date(2027, 1, 10)

    with time_machine.travel(at("2027-01-11"), tick=False):
        before = report_rows(cast["audrey"], as_of)[ob.id]
        xlsx_before = obligations_sheet(content_of(post_export(client, cast["audrey"], "xlsx", as_of="2027-01-10")))
    assert before.status == "in_progress" and before.due_date == dt.date(2027, 1, 31)
    assert before.latest_progress == "当日深夜补报" and before.evidence_count == 1

    # Everything changes after the as-of day.
    add_progress(ob, "二月进展", carol, at("2027-01-11", 0), 80)  # 00:00 the next day: not included
    add_evidence(ob, b"second", "二月.pdf", carol, at("2027-02-02"))
    set_due(ob, dt.date(2027, 3, 31), lena, at("2027-02-03"))
    set_status(ob, Obligation.Status.SUBMITTED, carol, at("2027-02-04"))
    set_status(ob, Obligation.Status.VERIFIED, lena, at("2027-02-05"))
    reassign(ob, departments["JN-DSJ"], lena, at("2027-02-06"))

    with time_machine.travel(at("2027-02-10"), tick=False):
        after = report_rows(cast["audrey"], as_of)[ob.id]
        xlsx_after = obligations_sheet(content_of(post_export(client, cast["audrey"], "xlsx", as_of="2027-01-10")))
        now = report_rows(cast["audrey"])[ob.id]
    assert after == before
    assert row_for(*xlsx_after, ob.id) == row_for(*xlsx_before, ob.id)
    assert row_for(*xlsx_after, ob.id)["状态"] == "推进中"
    assert row_for(*xlsx_after, ob.id)["责任单位"] == "济南市发展和改革委员会"
    # Today's report does move.
    assert now.status == "verified" and now.due_date == dt.date(2027, 3, 31)
    assert now.department_code == "JN-DSJ" and now.evidence_count == 2 and now.latest_progress == "二月进展"
    assert now.submitted_by == "carol" and now.verified_by == "lena"


def test_past_report_uses_the_replaced_value_when_no_change_was_recorded_before_the_date(cast, regulation):
    ob, carol = fgw20(), cast["carol"]
    set_status(ob, Obligation.Status.IN_PROGRESS, carol, at("2027-02-01"))
    with time_machine.travel(at("2027-02-10"), tick=False):
        assert report_rows(cast["audrey"], dt.date(2027, 1, 15))[ob.id].status == "not_started"
        assert report_rows(cast["audrey"], dt.date(2027, 2, 1))[ob.id].status == "in_progress"


def test_past_report_leaves_out_obligations_that_did_not_exist_yet(cast, regulation):
    with time_machine.travel(at("2027-02-10"), tick=False):
        assert report_rows(cast["audrey"], dt.date(2020, 1, 1)) == {}


def test_as_of_filters_use_the_state_on_that_date(cast, regulation):
    ob, carol, lena = fgw20(), cast["carol"], cast["lena"]
    set_status(ob, Obligation.Status.IN_PROGRESS, carol, at("2027-01-05"))
    set_status(ob, Obligation.Status.SUBMITTED, carol, at("2027-02-05"))
    with time_machine.travel(at("2027-02-10"), tick=False):
        past = report_rows(lena, dt.date(2027, 1, 31), status="in_progress")
        current = report_rows(lena, None, status="in_progress")
    assert ob.id in past and ob.id not in current


def test_as_of_report_runs_a_bounded_number_of_queries(cast, regulation):
    for index, ob in enumerate(Obligation.objects.order_by("id")[:30]):
        set_status(ob, Obligation.Status.IN_PROGRESS, cast["lena"], at("2027-01-05"))
        add_progress(ob, f"进展{index}", cast["lena"], at("2027-01-06"))
        add_evidence(ob, f"file{index}".encode(), f"{index}.pdf", cast["lena"], at("2027-01-07"))

    def queries(**filters) -> tuple[int, int]:
        ctx = services.report_context(
            user=cast["audrey"], filters=asof.ReportFilters(as_of=dt.date(2027, 1, 20), **filters)
        )
        with CaptureQueriesContext(connection) as captured:
            rows = list(asof.iter_obligation_rows(ctx)) + list(asof.iter_evidence_rows(ctx))
        data_queries = [q for q in captured.captured_queries if not q["sql"].startswith(("SET ", "RESET "))]
        return len(rows), len(data_queries)

    with time_machine.travel(at("2027-02-10"), tick=False):
        queries()  # what a process reads once (the holiday schedule) is read
        few_rows, few_queries = queries(department="JN-FGW")
        all_rows, all_queries = queries()
    assert all_rows > 10 * few_rows
    assert all_queries == few_queries <= 4


# --- who may export what -----------------------------------------------------------------------


@time_machine.travel(at("2027-02-01"), tick=False)
def test_staff_export_only_their_own_body_and_cannot_ask_for_another(client, cast, history):
    header, rows = obligations_sheet(content_of(post_export(client, cast["alice"], "xlsx")))
    bodies = {r[header.index("责任单位")] for r in rows}
    assert bodies == {"济南市大数据局"}
    assert len(rows) == Obligation.objects.active().filter(department__code="JN-DSJ").count()

    response = post_export(client, cast["alice"], "xlsx", department="JN-FGW")
    assert response.status_code == 400  # not one of the choices offered to her
    with pytest.raises(services.ReportError) as refused:
        services.report_context(user=cast["alice"], filters=asof.ReportFilters(department="JN-FGW"))
    assert refused.value.status == 403 and refused.value.code == "permission_denied"


@pytest.mark.parametrize("who", ["audrey", "lena", "adam"])
@time_machine.travel(at("2027-02-01"), tick=False)
def test_auditors_lead_and_admins_export_the_whole_regulation(client, cast, history, who):
    header, rows = obligations_sheet(content_of(post_export(client, cast[who], "xlsx")))
    assert len(rows) == Obligation.objects.active().count()
    assert len({r[header.index("责任单位")] for r in rows}) > 10


@time_machine.travel(at("2027-02-01"), tick=False)
def test_every_export_is_recorded_in_the_audit_trail_with_the_head_the_report_states(client, cast, history):
    head = audit.chain_head_info()
    response = post_export(client, cast["audrey"], "xlsx", department="JN-FGW", as_of="2027-01-15")
    wb = load_workbook(io.BytesIO(content_of(response)))
    stated = summary_head([list(r) for r in wb["汇总"].iter_rows(values_only=True)])
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == "report.exported" and entry.actor == cast["audrey"]
    assert entry.after["format"] == "xlsx"
    assert entry.after["filters"] == {"department": "JN-FGW", "as_of": "2027-01-15"}
    assert entry.after["chain_head"] == head.hash == stated
    assert entry.prev_hash == head.hash
    assert audit.verify_chain().ok


def test_a_date_after_today_is_refused(cast, regulation):
    with pytest.raises(services.ReportError) as refused:
        services.report_context(user=cast["audrey"], filters=asof.ReportFilters(as_of=dt.date(2999, 1, 1)))
    assert refused.value.code == "invalid_as_of" and "不能晚于今天" in refused.value.message


def test_reports_page_offers_filters_and_formats(client, cast, regulation):
    client.force_login(cast["alice"])
    page = client.get(reverse("reports:index")).content.decode()
    for text in ["导出 Excel", "导出 PDF", "导出 CSV", "打包佐证材料", "状态截至", "济南市大数据局"]:
        assert text in page
    assert "济南市发展和改革委员会" not in page  # staff are offered only their own body
    assert "<script>" not in page and " onclick=" not in page


# --- large reports: jobs -----------------------------------------------------------------------


@time_machine.travel(at("2027-02-01"), tick=False)
def test_a_large_report_becomes_a_job_whose_file_appears_complete_or_not_at_all(
    client, cast, history, settings, storage, django_capture_on_commit_callbacks
):
    settings.REPORT_SYNC_MAX_ROWS = 5
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_export(client, cast["audrey"], "xlsx")
    assert len(callbacks) == 1  # the task is queued after commit
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("reports:job", args=[job.id])
    assert job.status == "pending" and job.total_rows == Obligation.objects.active().count()

    status = client.get(reverse("reports:job-status", args=[job.id])).content.decode()
    assert 'hx-trigger="every 2s"' in status and "排队中" in status
    assert client.get(reverse("reports:job-download", args=[job.id])).status_code == 404

    assert run_export_job(str(job.id)) == "done"
    assert run_export_job(str(job.id)) is None  # a redelivered message does nothing
    job.refresh_from_db()
    assert job.status == "done" and job.rows_done == job.total_rows and job.percent == 100
    files = list(Path(settings.REPORTS_ROOT).iterdir())
    assert [f.name for f in files] == [f"{job.id}.xlsx"]  # no .part left behind
    assert hashlib.sha256(files[0].read_bytes()).hexdigest() == job.sha256

    page = client.get(reverse("reports:job", args=[job.id])).content.decode()
    assert "下载" in page and "hx-trigger" not in page and "vendor/htmx/htmx.min.js" in page
    download = client.get(reverse("reports:job-download", args=[job.id]))
    header, rows = obligations_sheet(content_of(download))
    assert len(rows) == job.total_rows
    assert "attachment" in download["Content-Disposition"]

    client.force_login(cast["bob"])  # someone else's job does not exist for him
    assert client.get(reverse("reports:job", args=[job.id])).status_code == 404
    assert client.get(reverse("reports:job-download", args=[job.id])).status_code == 404


@time_machine.travel(at("2027-02-01"), tick=False)
def test_a_failing_job_is_marked_failed_and_leaves_no_partial_file(cast, history, settings, monkeypatch):
    job = ExportJob.objects.create(requested_by=cast["audrey"], format="xlsx", params={}, total_rows=1)

    def broken(ctx, out, progress=None):
        out.write(b"half a file")
        raise RuntimeError("disk full")

    monkeypatch.setitem(services.FORMATS, "xlsx", (broken, "x", "xlsx"))
    assert run_export_job(str(job.id)) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "生成报告时发生错误" in job.error
    assert list(Path(settings.REPORTS_ROOT).iterdir()) == []


@time_machine.travel(at("2027-02-01"), tick=False)
def test_a_job_left_running_by_a_dead_worker_is_taken_again_later(cast, history):
    now = timezone.now()
    job = ExportJob.objects.create(
        requested_by=cast["audrey"], format="csv", status="running", started_at=now - dt.timedelta(minutes=20),
        total_rows=1,
    )  # fmt: skip
    assert run_export_job(str(job.id)) is None  # 20 minutes ago: maybe still running somewhere
    # Past its lease (the task's hard time limit and a minute): no worker can still be running it.
    ExportJob.objects.filter(id=job.id).update(started_at=now - services.EXPORT_LEASE - dt.timedelta(seconds=1))
    assert run_export_job(str(job.id)) == "done"


# --- the evidence bundle -----------------------------------------------------------------------


@time_machine.travel(at("2027-02-01"), tick=False)
def test_bundle_packs_files_that_match_their_hash_and_flags_a_tampered_one(client, cast, history, settings):
    ob = history["fgw"]
    good = history["evidence"]
    tampered = add_evidence(ob, b"original minutes", "会议纪要.docx", cast["carol"], at("2027-01-08"))
    Path(settings.MEDIA_ROOT, tampered.file.name).write_bytes(b"edited minutes")
    missing = add_evidence(ob, b"gone", "丢失.pdf", cast["carol"], at("2027-01-09"))
    Path(settings.MEDIA_ROOT, missing.file.name).unlink()

    response = post_export(client, cast["audrey"], "bundle", department="JN-FGW")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(content_of(response)))
    names = zf.namelist()
    assert f"材料/{good.id}_规划初稿.pdf" in names
    assert zf.read(f"材料/{good.id}_规划初稿.pdf") == b"%PDF-1.4 plan draft"
    assert not any(name.startswith(f"材料/{tampered.id}_") for name in names)
    assert not any(name.startswith(f"材料/{missing.id}_") for name in names)
    manifest = list(csv.reader(io.StringIO(zf.read("佐证材料清单.csv").decode("utf-8-sig"))))
    header, rows = manifest[0], {int(r[manifest[0].index("材料编号")]): r for r in manifest[1:]}
    check = header.index("校验结果")
    assert rows[good.id][check] == "摘要一致，已打包"
    assert rows[tampered.id][check].startswith("摘要不符")
    assert hashlib.sha256(b"edited minutes").hexdigest() in rows[tampered.id][check]
    assert rows[missing.id][check].startswith("文件缺失")
    assert "审计链头" in zf.read("说明.txt").decode("utf-8")


# --- the API and the command -------------------------------------------------------------------


@time_machine.travel(at("2027-02-01"), tick=False)
def test_api_exports_a_file_or_a_job_and_refuses_in_one_error_shape(client, cast, history, settings):
    client.force_login(cast["audrey"])
    url = reverse("reports-api:export")
    response = client.post(url, {"format": "pdf", "department": "JN-FGW"}, content_type="application/json")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"

    settings.REPORT_SYNC_MAX_ROWS = 5
    response = client.post(url, {"format": "csv"}, content_type="application/json")
    assert response.status_code == 202
    job_url = response["Location"]
    assert client.get(job_url).json()["status"] == "pending"
    run_export_job(response.json()["id"])
    body = client.get(job_url).json()
    assert body["status"] == "done" and body["download_url"]
    assert content_of(client.get(body["download_url"])).startswith(b"\xef\xbb\xbf")

    client.force_login(cast["alice"])
    refused = client.post(url, {"format": "xlsx", "department": "JN-FGW"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {
        "code": "permission_denied",
        "message": "经办人只能导出本单位的义务。",
        "details": {"department": "JN-FGW"},
    }
    assert client.get(job_url).status_code == 404
    bad = client.post(url, {"format": "docx"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def by_body_zip(data: bytes) -> tuple[zipfile.ZipFile, list[list[str]]]:
    zf = zipfile.ZipFile(io.BytesIO(data))
    manifest = list(csv.reader(io.StringIO(zf.read("分册清单.csv").decode("utf-8-sig"))))
    return zf, manifest


@time_machine.travel(at("2027-02-01"), tick=False)
def test_a_pdf_above_the_limit_is_a_zip_of_one_pdf_per_body_whose_counts_add_up(client, cast, history, settings):
    settings.REPORT_PDF_MAX_ROWS = 3
    client.force_login(cast["audrey"])
    response = client.post(reverse("reports-api:export"), {"format": "pdf"}, content_type="application/json")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert ".zip" in response["Content-Disposition"]
    zf, manifest = by_body_zip(content_of(response))
    active = Obligation.objects.active()
    expected = {
        row["department__code"]: row["n"]
        for row in active.values("department__code").annotate(n=Count("id")).order_by()
    }
    assert len(expected) > 1
    header, files, total = manifest[0], manifest[1:-1], manifest[-1]
    assert header == ["文件", "机构代码", "责任单位", "义务数"]
    assert {code: int(n) for _, code, _, n in files} == expected  # one PDF per body, its own count
    assert int(total[3]) == sum(int(n) for *_, n in files) == active.count()
    assert sorted(n for n in zf.namelist() if n.endswith(".pdf")) == sorted(name for name, *_ in files)
    for name, _code, body, _n in files:
        reader = PdfReader(io.BytesIO(zf.read(name)))
        text = "".join(page.extract_text() for page in reader.pages)
        assert f"责任单位：{body}" in text  # the body's own selection, stated in its header
    fgw = next(name for name, code, *_ in files if code == "JN-FGW")
    fgw_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(zf.read(fgw))).pages)
    assert "第二十条第一款" in fgw_text and "规划初稿" in fgw_text  # its obligation and its evidence
    assert "审计链头" in zf.read("说明.txt").decode("utf-8")
    assert AuditEntry.objects.filter(action="report.exported").count() == 1


@time_machine.travel(at("2027-02-01"), tick=False)
def test_a_large_pdf_job_is_a_zip_and_a_failure_part_way_leaves_no_file(client, cast, history, settings, monkeypatch):
    settings.REPORT_PDF_MAX_ROWS = 3
    settings.REPORT_SYNC_MAX_ROWS = 3
    client.force_login(cast["audrey"])
    response = client.post(reverse("reports-api:export"), {"format": "pdf"}, content_type="application/json")
    assert response.status_code == 202
    assert run_export_job(response.json()["id"]) == "done"
    job = ExportJob.objects.get()
    assert job.file_name == f"{job.id}.zip" and job.download_name.endswith(".zip")
    download = client.get(reverse("reports-api:job-download", args=[job.id]))
    assert download["Content-Type"] == "application/zip"
    _, manifest = by_body_zip(content_of(download))
    assert int(manifest[-1][3]) == job.total_rows
    Path(settings.REPORTS_ROOT, job.file_name).unlink()

    # The third body's PDF fails: the job fails and nothing is left, neither the ZIP nor a part.
    from reports import pdf

    calls = []
    real = pdf.write

    def failing(ctx, out, progress=None):
        calls.append(ctx.filters.department)
        if len(calls) == 3:
            raise RuntimeError("layout failed")
        return real(ctx, out, progress)

    monkeypatch.setattr(pdf, "write", failing)
    failed = ExportJob.objects.create(requested_by=cast["audrey"], format="pdf", params={}, total_rows=job.total_rows)
    assert run_export_job(str(failed.id)) == "failed"
    assert len(calls) == 3
    assert list(Path(settings.REPORTS_ROOT).iterdir()) == []


def test_reports_api_is_in_the_openapi_schema(client, cast):
    client.force_login(cast["audrey"])
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    assert "/api/reports/exports/" in schema["paths"]
    assert "/api/reports/jobs/{job_id}/download/" in schema["paths"]
    assert "/api/reports/amendment-table/" in schema["paths"]


@time_machine.travel(at("2027-02-01"), tick=False)
def test_export_command_writes_the_report_for_a_date(cast, history, tmp_path):
    out = tmp_path / "out" / "报告.xlsx"
    stdout = io.StringIO()
    call_command(
        "export_compliance_report",
        "--format",
        "xlsx",
        "--as-of",
        "2027-01-15",
        "--department",
        "JN-FGW",
        "-o",
        str(out),
        stdout=stdout,
    )
    assert "已导出" in stdout.getvalue()
    header, rows = obligations_sheet(out.read_bytes())
    assert row_for(header, rows, history["fgw"].id)["状态"] == "推进中"  # verified only on the 22nd
    assert [p.name for p in out.parent.iterdir()] == ["报告.xlsx"]
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == "report.exported" and entry.actor is None
    for fmt, magic in [("pdf", b"%PDF"), ("csv", b"\xef\xbb\xbf"), ("bundle", b"PK")]:
        target = tmp_path / f"r.{fmt}"
        call_command("export_compliance_report", "--format", fmt, "-o", str(target), stdout=io.StringIO())
        assert target.read_bytes().startswith(magic)


def test_export_command_names_the_regulation_and_refuses_an_unknown_one(regulation, tmp_path):
    from django.core.management import CommandError, call_command

    out = tmp_path / "r.csv"
    call_command("export_compliance_report", "--format", "csv", "--regulation", regulation.code, "-o", str(out))
    assert regulation.title in out.read_bytes().decode("utf-8-sig")
    with pytest.raises(CommandError, match="法规不存在"):
        call_command("export_compliance_report", "--format", "csv", "--regulation", "no-such", "-o", str(out))


# --- a missed date that was moved: 曾逾期 and the 期限调整 history ----------------------------------


@pytest.fixture
def moved(regulation, cast):
    """A 大数据局 obligation due 2027-01-05, missed, then moved by the lead to 2027-03-01."""
    ob = dsj_obligations()[1]
    lena = cast["lena"]
    with time_machine.travel(at("2027-01-02"), tick=False):
        ob = workflow.obligation_set_due_date(
            obligation=ob, actor=lena, due_date=dt.date(2027, 1, 5), reason="首次设定", expected_version=ob.version
        )
    with time_machine.travel(at("2027-01-15", 15), tick=False):
        workflow.obligation_set_due_date(
            obligation=ob,
            actor=lena,
            due_date=dt.date(2027, 3, 1),
            reason="经督办会研究调整",
            expected_version=ob.version,
        )
    return ob


@time_machine.travel(at("2027-02-01"), tick=False)
def test_a_moved_missed_date_reads_not_yet_due_but_ever_overdue_with_its_history(client, cast, moved):
    data = content_of(post_export(client, cast["audrey"], "xlsx"))
    header, rows = obligations_sheet(data)
    row = row_for(header, rows, moved.id)
    assert row["按期情况"].startswith("未到期") and row["曾逾期"] == "是"
    assert row["完成期限"] == dt.datetime(2027, 3, 1)
    wb = load_workbook(io.BytesIO(data))
    history = [list(r) for r in wb["期限调整"].iter_rows(values_only=True)]
    head, changes = history[0], [dict(zip(history[0], r, strict=True)) for r in history[1:]]
    assert head[:4] == ["条款", "责任单位", "原期限", "新期限"]
    mine = [c for c in changes if c["义务编号"] == moved.id]
    assert [(c["原期限"], c["新期限"], c["原期限调整时已过"]) for c in mine] == [
        (None, dt.datetime(2027, 1, 5), None),
        (dt.datetime(2027, 1, 5), dt.datetime(2027, 3, 1), "是"),
    ]
    assert mine[1]["原因"] == "经督办会研究调整" and mine[1]["调整人"] == "lena"
    assert mine[1]["调整时间"] == dt.datetime(2027, 1, 15, 15, 0)
    # Dates are date cells with a date format: no 00:00 shown.
    cell = next(c for c in wb["期限调整"]["D"] if c.row > 1 and c.value is not None)
    assert cell.is_date and cell.number_format == "yyyy-mm-dd"
    # Before the move, the report of 2027-01-10 has no trace of it yet.
    old = content_of(post_export(client, cast["audrey"], "xlsx", as_of="2027-01-10"))
    changes_then = list(load_workbook(io.BytesIO(old))["期限调整"].iter_rows(values_only=True))[1:]
    assert [r[3] for r in changes_then if r[-1] == moved.id] == [dt.datetime(2027, 1, 5)]
    header, rows = obligations_sheet(old)
    assert row_for(header, rows, moved.id)["按期情况"].startswith("已逾期")
    pdf = PdfReader(io.BytesIO(content_of(post_export(client, cast["audrey"], "pdf"))))
    text = "".join("".join(page.extract_text().split()) for page in pdf.pages)
    assert "四、期限调整记录" in text and "经督办会研究调整" in text and "（调整时已过期）" in text
    assert "曾逾期" in text


@time_machine.travel(at("2027-02-01"), tick=False)
def test_pdf_embeds_every_font_it_uses(client, cast, history):
    reader = PdfReader(io.BytesIO(content_of(post_export(client, cast["audrey"], "pdf"))))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
    assert fonts
    for name, font in fonts.items():
        # A CJK TrueType font is a Type0 font whose descendant carries the embedded subset.
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, f"{name} is not embedded"
        assert re.fullmatch(r"/[A-Z]{6}\+WenQuanYiZenHei.*", name), f"{name} is not a subset of our font"


def test_the_pdf_font_file_is_found_or_refused_clearly(settings):
    from reports import fonts

    fonts.font_file.cache_clear()
    try:
        found = fonts.font_file()
        assert found.is_file() and found.name.startswith("wqy-zenhei")
        fonts.font_file.cache_clear()
        settings.REPORT_FONT_FILE = "/nonexistent/wqy-zenhei.ttc"
        with pytest.raises(fonts.FontMissing, match="REPORT_FONT_FILE"):
            fonts.font_file()
    finally:
        fonts.font_file.cache_clear()
