"""The 台账 round trip: export a body's ledger, fill it in with openpyxl as an official would,
import it back through the services. Real workbooks, real PostgreSQL."""

import datetime as dt
import io
import zipfile

import pytest
import time_machine
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from core import errors
from obligations import audit, ledger, services
from obligations.models import AuditEntry, Evidence, Obligation, ProgressEntry
from tests.factories import make_obligation

pytestmark = pytest.mark.django_db

COL = {header: index for index, header in enumerate(ledger.HEADERS, start=1)}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def body(cast, departments):
    """Three obligations of 大数据局 (alice's body), one of 发改委, one 大数据局 only cooperates on."""
    dsj = departments["JN-DSJ"]
    own = [
        make_obligation(dsj, due_date=dt.date(2025, 9, 30)),
        make_obligation(dsj, status=Obligation.Status.IN_PROGRESS, due_date=dt.date(2025, 5, 1)),
        make_obligation(dsj, status=Obligation.Status.IN_PROGRESS),
    ]
    other = make_obligation("JN-FGW", cooperating=["JN-DSJ"])
    return {"dsj": dsj, "own": own, "other": other}


def export(actor, department) -> bytes:
    out = io.BytesIO()
    ledger.ledger_export(actor=actor, department=department, out=out)
    return out.getvalue()


def fill(data: bytes, rows: dict[int, dict[str, object]]) -> bytes:
    """Fill the ledger as an official would in Excel: by obligation id, column header -> value."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb[ledger.SHEET]
    by_id = {ws.cell(row=r, column=COL["义务编号"]).value: r for r in range(ledger.FIRST_ROW, ws.max_row + 1)}
    for obligation_id, values in rows.items():
        for header, value in values.items():
            ws.cell(row=by_id[obligation_id], column=COL[header]).value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def written():
    return (AuditEntry.objects.count(), ProgressEntry.objects.count(), Evidence.objects.count())


def statuses(obligations):
    return [Obligation.objects.get(pk=o.pk).status for o in obligations]


# --- out -----------------------------------------------------------------------------------


def test_export_has_one_row_per_obligation_the_body_carries(cast, body):
    wb = load_workbook(io.BytesIO(export(cast["alice"], body["dsj"])))
    assert wb.sheetnames == [ledger.SHEET, ledger.HELP_SHEET]
    ws = wb[ledger.SHEET]
    headers = [c.value for c in ws[ledger.HEADER_ROW]]
    assert headers == [
        "义务编号",
        "版本",
        "条款",
        "义务内容",
        "完成期限",
        "状态",
        "最新进展",
        "本期进展",
        "完成比例",
        "状态申请",
        "佐证链接或发文字号",
    ]
    ids = [ws.cell(row=r, column=1).value for r in range(ledger.FIRST_ROW, ws.max_row + 1)]
    assert sorted(ids) == sorted(o.pk for o in body["own"])  # not the body it only cooperates on
    late = body["own"][1]
    row = ledger.FIRST_ROW + ids.index(late.pk)
    assert ws.cell(row=row, column=COL["完成期限"]).value.date() == dt.date(2025, 5, 1)
    assert ws.cell(row=row, column=COL["状态"]).value == "推进中（已逾期 32 天）"
    assert ws.cell(row=row, column=COL["版本"]).value == late.version


def test_export_locks_the_read_only_columns_and_offers_the_choices(cast, body):
    wb = load_workbook(io.BytesIO(export(cast["alice"], body["dsj"])))
    ws = wb[ledger.SHEET]
    assert ws.protection.sheet is True
    assert not ws.protection.password  # a guard against slips, openable by anyone
    row = ledger.FIRST_ROW
    for column in ledger.COLUMNS:
        locked = ws.cell(row=row, column=COL[column.header]).protection.locked
        assert locked is (not column.editable), column.header
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"}
    assert lists == {'"开始办理,提交核验"'}
    whole = [dv for dv in ws.data_validations.dataValidation if dv.type == "whole"]
    assert [(dv.formula1, dv.formula2) for dv in whole] == [("0", "100")]
    help_text = " ".join(str(c.value) for r in wb[ledger.HELP_SHEET].iter_rows() for c in r if c.value)
    assert "JN-DSJ" in help_text and "状态申请" in help_text and wb[ledger.HELP_SHEET].protection.sheet


def test_export_keeps_a_formula_like_progress_note_as_text(cast, body):
    services.progress_add(obligation=body["own"][0], actor=cast["alice"], text='=HYPERLINK("http://x","y")')
    wb = load_workbook(io.BytesIO(export(cast["alice"], body["dsj"])))
    cells = [c for r in wb[ledger.SHEET].iter_rows() for c in r if c.value and "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" for c in cells)


def test_staff_cannot_export_another_bodys_ledger_and_the_lead_can_export_any(cast, body, departments):
    with pytest.raises(errors.NotAllowed):
        export(cast["carol"], body["dsj"])
    assert load_workbook(io.BytesIO(export(cast["lena"], body["dsj"])))[ledger.SHEET].max_row == 2 + 3
    assert AuditEntry.objects.filter(action="ledger.exported", after__department="JN-DSJ").count() == 1


# --- back: the round trip --------------------------------------------------------------------


def test_filled_ledger_is_applied_through_the_services(cast, body):
    alice = cast["alice"]
    first, late, third = body["own"]
    data = fill(
        export(alice, body["dsj"]),
        {
            first.pk: {"本期进展": "已起草目录管理制度", "完成比例": 40, "状态申请": "开始办理"},
            late.pk: {"佐证链接或发文字号": "济大数据发〔2025〕7号", "状态申请": "提交核验"},
            third.pk: {
                "本期进展": "征求意见中",
                "佐证链接或发文字号": "https://example.gov.cn/a\nhttps://example.gov.cn/b",
            },
        },
    )
    result = ledger.ledger_import(actor=alice, data=data, file_name="台账.xlsx", apply=True)

    assert result.ok and result.applied, [str(e) for e in result.errors]
    assert statuses(body["own"]) == ["in_progress", "submitted", "in_progress"]
    entry = ProgressEntry.objects.get(obligation=first)
    assert (entry.text, entry.percent, entry.author) == ("已起草目录管理制度", 40, alice)
    assert list(Evidence.objects.filter(obligation=late).values_list("kind", "document_number")) == [
        ("document", "济大数据发〔2025〕7号")
    ]
    assert sorted(Evidence.objects.filter(obligation=third).values_list("url", flat=True)) == [
        "https://example.gov.cn/a",
        "https://example.gov.cn/b",
    ]
    actions = list(AuditEntry.objects.filter(obligation=late).values_list("action", flat=True))
    assert actions == ["evidence.added", "obligation.status", "ledger.row_imported"]
    assert AuditEntry.objects.filter(action="ledger.imported").count() == 1
    assert audit.verify_chain().ok
    # The submission tells the leads, exactly as the obligation page does.
    assert late.outbox_messages.filter(event="obligation.submitted").count() == 1
    plan = {p.obligation_id: p for p in result.rows}
    assert plan[first.pk].changes == ["新增工作进展（完成比例 40%）：已起草目录管理制度", "状态：未启动 → 推进中"]


def test_preview_shows_every_change_and_writes_nothing(cast, body):
    alice = cast["alice"]
    first = body["own"][0]
    data = fill(export(alice, body["dsj"]), {first.pk: {"本期进展": "已起草", "状态申请": "开始办理"}})
    before = written()
    result = ledger.ledger_import(actor=alice, data=data, apply=False)
    assert result.ok and not result.applied
    assert [(p.row, p.changes) for p in result.rows] == [
        (ledger.FIRST_ROW, ["新增工作进展：已起草", "状态：未启动 → 推进中"])
    ]
    assert written() == before and statuses([first]) == ["not_started"]


def test_the_same_filled_file_imported_twice_applies_nothing_the_second_time(cast, body):
    alice = cast["alice"]
    first, _, third = body["own"]
    data = fill(
        export(alice, body["dsj"]),
        {first.pk: {"本期进展": "已起草", "状态申请": "开始办理"}, third.pk: {"本期进展": "征求意见中"}},
    )
    assert ledger.ledger_import(actor=alice, data=data, apply=True).applied
    before = written()
    again = ledger.ledger_import(actor=alice, data=data, apply=True)
    assert again.ok and not again.applied and not again.changed
    assert len(again.skipped) == 2 and "已于 2025-06-02 18:00 导入" in again.skipped[0].skipped
    assert written() == before


def test_a_row_changed_since_the_export_is_stale_and_nothing_is_applied(cast, body):
    alice, lena = cast["alice"], cast["lena"]
    first, late, _ = body["own"]
    data = fill(
        export(alice, body["dsj"]),
        {first.pk: {"本期进展": "已起草"}, late.pk: {"本期进展": "正在推进"}},
    )
    services.obligation_set_due_date(
        obligation=late, actor=lena, due_date=dt.date(2025, 7, 1), reason="调整", expected_version=late.version
    )
    before = written()
    result = ledger.ledger_import(actor=alice, data=data, apply=True)
    assert not result.ok and not result.applied
    (error,) = result.errors
    assert (error.row, error.column) == (ledger.FIRST_ROW + 1, "版本")
    # One statement: what changed, by whom, when (the returned ledger is the remedy, not advice).
    assert error.message == "导出后已变更：完成期限：2025-05-01 → 2025-07-01（lena，2025-06-02 18:00）"
    assert str(error).startswith(f"第 {ledger.FIRST_ROW + 1} 行「版本」：")
    assert written() == before  # not even the good row


def test_every_refused_row_gets_its_row_column_and_reason(cast, body):
    alice = cast["alice"]
    first, late, third = body["own"]
    data = fill(
        export(alice, body["dsj"]),
        {
            first.pk: {"本期进展": "方向\u202e反转", "状态申请": "提交核验"},
            late.pk: {"完成比例": 150, "本期进展": "x"},
            third.pk: {"状态申请": "已完成", "佐证链接或发文字号": "某文件"},
        },
    )
    before = written()
    result = ledger.ledger_import(actor=alice, data=data, apply=True)
    got = sorted((e.row, e.column) for e in result.errors)
    rows = {o.pk: ledger.FIRST_ROW + i for i, o in enumerate(body["own"])}
    assert got == sorted([(rows[first.pk], "本期进展"), (rows[late.pk], "完成比例"), (rows[third.pk], "状态申请")])
    assert all(e.message for e in result.errors)
    assert written() == before


def test_submitting_without_evidence_is_refused_on_the_status_column(cast, body):
    alice = cast["alice"]
    third = body["own"][2]
    data = fill(export(alice, body["dsj"]), {third.pk: {"状态申请": "提交核验"}})
    (error,) = ledger.ledger_import(actor=alice, data=data, apply=True).errors
    assert error.column == "状态申请" and "佐证" in error.message


# --- back: who may return what ---------------------------------------------------------------


def test_staff_of_another_body_cannot_import_the_ledger(cast, body):
    data = fill(export(cast["alice"], body["dsj"]), {body["own"][0].pk: {"本期进展": "已起草"}})
    with pytest.raises(ledger.LedgerRefused, match="只能导入本单位的台账"):
        ledger.ledger_import(actor=cast["carol"], data=data, apply=True)


def test_the_lead_cannot_report_progress_through_a_ledger(cast, body):
    data = fill(export(cast["lena"], body["dsj"]), {body["own"][0].pk: {"本期进展": "已起草"}})
    before = written()
    (error,) = ledger.ledger_import(actor=cast["lena"], data=data, apply=True).errors
    assert error.column == "本期进展" and "无权" in error.message
    assert written() == before


def test_a_row_of_another_body_is_refused(cast, body):
    alice = cast["alice"]
    data = export(alice, body["dsj"])
    wb = load_workbook(io.BytesIO(data))
    ws = wb[ledger.SHEET]
    # Another body's obligation (one alice can see: her body cooperates on it) pasted in.
    ws.cell(row=ledger.FIRST_ROW, column=COL["义务编号"]).value = body["other"].pk
    ws.cell(row=ledger.FIRST_ROW, column=COL["本期进展"]).value = "协办进展"
    hidden = make_obligation("JN-LIXIA")
    ws.cell(row=ledger.FIRST_ROW + 1, column=COL["义务编号"]).value = hidden.pk
    ws.cell(row=ledger.FIRST_ROW + 1, column=COL["本期进展"]).value = "不可见"
    out = io.BytesIO()
    wb.save(out)
    before = written()
    errors = ledger.ledger_import(actor=alice, data=out.getvalue(), apply=True).errors
    assert [(e.row, e.column) for e in errors] == [(3, "义务编号"), (4, "义务编号")]
    assert "不属于" in errors[0].message and "不存在或您无权查看" in errors[1].message
    assert written() == before


# --- hostile workbooks -------------------------------------------------------------------------


def refused(actor, data: bytes, match: str):
    before = written()
    with pytest.raises(ledger.LedgerRefused, match=match) as info:
        ledger.ledger_import(actor=actor, data=data, apply=True)
    assert written() == before
    return info.value


def test_a_formula_anywhere_in_the_ledger_refuses_it(cast, body):
    data = fill(export(cast["alice"], body["dsj"]), {body["own"][0].pk: {"本期进展": '=HYPERLINK("http://evil","x")'}})
    error = refused(cast["alice"], data, "公式")
    assert error.details["errors"][0]["column"] == "本期进展"


def test_a_different_template_is_refused(cast, body):
    wb = Workbook()
    wb.active.append(["编号", "进展"])
    out = io.BytesIO()
    wb.save(out)
    refused(cast["alice"], out.getvalue(), "不是本系统导出的台账模板")
    data = export(cast["alice"], body["dsj"])
    wb = load_workbook(io.BytesIO(data))
    wb[ledger.SHEET].cell(row=ledger.HEADER_ROW, column=COL["本期进展"]).value = "进展"
    wb[ledger.SHEET].cell(row=ledger.FIRST_ROW, column=COL["本期进展"]).value = "已起草"
    out = io.BytesIO()
    wb.save(out)
    refused(cast["alice"], out.getvalue(), "第 8 列应为“本期进展”")


def test_files_that_are_not_workbooks_are_refused(cast, body):
    refused(cast["alice"], b"%PDF-1.4\n", "不是 Excel")
    refused(cast["alice"], b"PK\x03\x04" + b"\x00" * 100, "已损坏")
    refused(cast["alice"], b"PK\x03\x04" + b"\x00" * (ledger.MAX_BYTES + 1), "文件过大")


def _with_extra(data: bytes, members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        for name, content in members.items():
            dst.writestr(name, content)
    return out.getvalue()


def test_zip_bombs_and_stuffed_archives_are_refused_before_parsing(cast, body):
    data = fill(export(cast["alice"], body["dsj"]), {body["own"][0].pk: {"本期进展": "已起草"}})
    bomb = _with_extra(data, {"xl/media/image1.bin": b"\0" * (8 * 1024 * 1024)})
    assert len(bomb) < 100 * 1024  # 8 MB of zeros in a few kilobytes
    refused(cast["alice"], bomb, "压缩炸弹")
    big = _with_extra(data, {f"xl/media/{i}.bin": bytes(range(256)) * 4096 for i in range(60)})
    refused(cast["alice"], big, "解压后过大|文件过大")
    many = _with_extra(data, {f"xl/media/{i}.bin": b"x" for i in range(ledger.MAX_ZIP_ENTRIES)})
    refused(cast["alice"], many, "部件")
    macro = _with_extra(data, {"xl/vbaProject.bin": b"x"})
    refused(cast["alice"], macro, "宏")


def test_a_huge_sheet_is_refused(cast, body):
    data = export(cast["alice"], body["dsj"])
    wb = load_workbook(io.BytesIO(data))
    ws = wb[ledger.SHEET]
    for row in range(ledger.FIRST_ROW + 3, ledger.FIRST_ROW + ledger.MAX_ROWS + 1):
        ws.cell(row=row, column=COL["本期进展"]).value = "x"
    out = io.BytesIO()
    wb.save(out)
    refused(cast["alice"], out.getvalue(), "工作表过大")


def test_an_empty_ledger_is_refused_with_a_clear_message(cast, body):
    refused(cast["alice"], export(cast["alice"], body["dsj"]), "没有填报任何内容")


# --- the commands -----------------------------------------------------------------------------


def test_commands_export_and_import_and_fail_on_a_refused_row(cast, body, tmp_path, capsys):
    path = tmp_path / "ledger.xlsx"
    call_command("export_ledger", "--department", "JN-DSJ", "-o", str(path))
    first, late, _ = body["own"]
    path.write_bytes(fill(path.read_bytes(), {first.pk: {"本期进展": "已起草"}, late.pk: {"完成比例": 101}}))
    before = written()
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("import_ledger", str(path), "--user", "alice")
    said = capsys.readouterr()
    assert "第 4 行" in said.err
    # Refused whole: the outcome comes first and no row is printed as done.
    assert said.err.index("未导入任何内容") < said.err.index("第 4 行")
    assert "新增工作进展" not in said.out + said.err and "已起草" not in said.out
    assert written() == before

    path.write_bytes(fill(path.read_bytes(), {late.pk: {"完成比例": None}}))
    call_command("import_ledger", str(path), "--user", "alice", "--dry-run")
    assert "将导入 1 行变更（预览，未写入）" in capsys.readouterr().out
    assert written() == before
    call_command("import_ledger", str(path), "--user", "alice")
    assert "已导入 1 行变更" in capsys.readouterr().out
    assert ProgressEntry.objects.get(obligation=first).text == "已起草"


# --- what a sheet declares versus what it holds -----------------------------------------------


def sheet_entry(data: bytes) -> str:
    """The zip entry of the 台账 sheet (the first sheet the workbook lists)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sorted(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))[0]


def rewrite(data: bytes, name: str, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            dst.writestr(item.filename, change(content) if item.filename == name else content)
    return out.getvalue()


def declare(data: bytes, ref: str) -> bytes:
    import re

    return rewrite(
        data, sheet_entry(data), lambda xml: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), xml)
    )


def test_rows_and_columns_past_the_declared_dimension_are_read(cast, body):
    last = body["own"][2]
    data = fill(export(cast["alice"], body["dsj"]), {last.pk: {"本期进展": "已完成初稿", "完成比例": 60}})
    # The sheet now says it ends at row 3, column C: its last two obligations and the columns to
    # fill in lie beyond.
    small = declare(data, "A1:C3")
    with zipfile.ZipFile(io.BytesIO(small)) as archive:
        assert b'<dimension ref="A1:C3"' in archive.read(sheet_entry(small))
    rows = ledger.read_ledger(small).rows
    assert [row.obligation_id for row in rows] == [last.pk]
    result = ledger.ledger_import(actor=cast["alice"], data=small, apply=True)
    assert result.ok
    assert ProgressEntry.objects.get(obligation=last).text == "已完成初稿"


def test_a_sheet_declaring_few_rows_but_holding_many_is_refused_by_its_real_rows(cast, body):
    data = export(cast["alice"], body["dsj"])
    wb = load_workbook(io.BytesIO(data))
    ws = wb[ledger.SHEET]
    for row in range(ledger.FIRST_ROW + 3, ledger.FIRST_ROW + ledger.MAX_ROWS + 10):
        ws.cell(row=row, column=COL["本期进展"]).value = "x"
    out = io.BytesIO()
    wb.save(out)
    refused(cast["alice"], declare(out.getvalue(), "A1:K10"), "工作表过大")


def test_a_lone_row_far_below_is_refused_without_reading_the_gap(cast, body):
    data = export(cast["alice"], body["dsj"])
    far = b'<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    refused(
        cast["alice"], rewrite(data, sheet_entry(data), lambda xml: xml.replace(b"</sheetData>", far)), "工作表过大"
    )


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_sheet_whose_xml_is_cut_short_is_refused_as_broken(cast, body, keep, tmp_path):
    data = fill(export(cast["alice"], body["dsj"]), {body["own"][0].pk: {"本期进展": "已起草"}})
    cut = rewrite(data, sheet_entry(data), lambda xml: xml[: int(len(xml) * keep)])
    refused(cast["alice"], cut, "损坏")
    path = tmp_path / "cut.xlsx"
    path.write_bytes(cut)
    before = written()
    with pytest.raises(CommandError, match="损坏"):
        call_command("import_ledger", str(path), "--user", "alice")
    assert written() == before
