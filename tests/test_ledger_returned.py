"""A refused 台账 handed back as a fresh one with what the person typed carried into it: real
workbooks written and read with openpyxl, imported back through the services."""

import datetime as dt
import io
from urllib.parse import quote

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from obligations import ledger, services
from obligations.ledger_returned import ERROR_FILL, LEFT_SHEET, STALE_FILL, ledger_returned
from obligations.models import AuditEntry, Evidence, Obligation, ProgressEntry
from tests.factories import make_obligation
from tests.test_ledger import COL, export, fill

pytestmark = pytest.mark.django_db

NOTE = len(ledger.HEADERS) + 1


@pytest.fixture(autouse=True)
def _frozen(settings, tmp_path):
    settings.REPORTS_ROOT = tmp_path / "exports"
    with time_machine.travel(dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def own(cast, departments):
    dsj = departments["JN-DSJ"]
    return [
        make_obligation(dsj, due_date=dt.date(2025, 9, 30)),
        make_obligation(dsj, status=Obligation.Status.IN_PROGRESS, due_date=dt.date(2025, 5, 1)),
        make_obligation(dsj, status=Obligation.Status.IN_PROGRESS),
    ]


def returned(actor, data: bytes):
    out = io.BytesIO()
    summary = ledger_returned(actor=actor, data=data, out=out)
    return summary, out.getvalue()


def rows_by_id(data: bytes) -> dict[int, dict]:
    """Each obligation's row of a workbook: header -> value, plus the note, the fill and the row."""
    ws = load_workbook(io.BytesIO(data))[ledger.SHEET]
    out = {}
    for r in range(ledger.FIRST_ROW, ws.max_row + 1):
        values = {h: ws.cell(row=r, column=i).value for h, i in COL.items()}
        values["note"] = ws.cell(row=r, column=NOTE).value or ""
        values["fill"] = ws.cell(row=r, column=1).fill.fgColor.rgb[-6:]
        values["row"] = r
        out[values["义务编号"]] = values
    return out


def move_due_date(obligation, actor, day):
    services.obligation_set_due_date(
        obligation=obligation,
        actor=actor,
        due_date=day,
        reason="统一调整",
        expected_version=Obligation.objects.get(pk=obligation.pk).version,
    )


def test_a_stale_ledger_comes_back_with_the_typed_values_and_what_changed(cast, own):
    alice, lena = cast["alice"], cast["lena"]
    first, late, third = own
    data = fill(
        export(alice, own[0].department),
        {
            first.pk: {"本期进展": "已起草制度", "完成比例": 30},
            late.pk: {"本期进展": "正在推进", "状态申请": "提交核验", "佐证链接或发文字号": "济大数发〔2025〕3号"},
        },
    )
    move_due_date(late, lena, dt.date(2025, 7, 1))
    assert not ledger.ledger_import(actor=alice, data=data, apply=False).ok

    summary, back = returned(alice, data)
    assert (summary.carried, summary.stale, summary.refused, summary.left) == (2, 1, 0, 0)
    rows = rows_by_id(back)
    assert rows[first.pk]["本期进展"] == "已起草制度" and rows[first.pk]["完成比例"] == 30
    assert rows[first.pk]["note"] == "" and rows[first.pk]["fill"] != STALE_FILL
    assert rows[late.pk]["佐证链接或发文字号"] == "济大数发〔2025〕3号" and rows[late.pk]["状态申请"] == "提交核验"
    # The row now stands at the current version, marked with what changed, by whom and when.
    assert rows[late.pk]["版本"] == Obligation.objects.get(pk=late.pk).version
    assert rows[late.pk]["fill"] == STALE_FILL
    assert rows[late.pk]["note"] == (
        f"导出后已变更：完成期限：2025-05-01 → 2025-07-01（{lena.display_name}，2025-06-02 18:00）"
    )
    assert rows[late.pk]["完成期限"] == dt.datetime(2025, 7, 1)
    assert rows[third.pk]["本期进展"] is None and rows[third.pk]["note"] == ""

    # Imported as it is, it goes in: every typed value through the services.
    result = ledger.ledger_import(actor=alice, data=back, apply=True)
    assert result.ok and result.applied and len(result.changed) == 2
    assert ProgressEntry.objects.get(obligation=first).percent == 30
    assert Evidence.objects.get(obligation=late).document_number == "济大数发〔2025〕3号"
    assert Obligation.objects.get(pk=late.pk).status == Obligation.Status.SUBMITTED


def test_the_returned_ledger_keeps_the_exports_protection_and_choices(cast, own):
    alice = cast["alice"]
    data = fill(export(alice, own[0].department), {own[0].pk: {"完成比例": 150, "本期进展": "x"}})
    _, back = returned(alice, data)
    plain = load_workbook(io.BytesIO(export(alice, own[0].department)))[ledger.SHEET]
    ws = load_workbook(io.BytesIO(back))[ledger.SHEET]
    assert ws.protection.sheet is True
    assert [c.value for c in ws[ledger.HEADER_ROW]] == [*ledger.HEADERS, "核对说明"]

    def rules(sheet):
        return sorted(
            (dv.type, dv.formula1, dv.formula2, str(dv.sqref)) for dv in sheet.data_validations.dataValidation
        )

    assert rules(ws) == rules(plain)
    for column in ledger.COLUMNS:
        assert ws.cell(row=ledger.FIRST_ROW, column=COL[column.header]).protection.locked is (not column.editable)
    assert ws.cell(row=ledger.FIRST_ROW, column=NOTE).protection.locked is True


def test_rows_that_would_still_be_refused_are_marked_with_their_error(cast, own):
    alice, bob = cast["alice"], cast["bob"]
    first, late, third = own
    data = fill(
        export(alice, own[0].department),
        {
            first.pk: {"状态申请": "开始办理"},  # a colleague starts it meanwhile: the request no longer fits
            late.pk: {"本期进展": "推进", "完成比例": 150},  # an error as typed
            third.pk: {"本期进展": "按计划推进"},  # fine
        },
    )
    services.obligation_transition(obligation=first, actor=bob, action="start", expected_version=first.version)
    summary, back = returned(alice, data)
    assert (summary.carried, summary.stale, summary.refused) == (3, 1, 2)
    rows = rows_by_id(back)
    assert rows[first.pk]["fill"] == ERROR_FILL
    assert rows[first.pk]["note"].startswith(f"导出后已变更：状态：未启动 → 推进中（{bob.display_name}，")
    assert "有错误「状态申请」" in rows[first.pk]["note"]
    assert rows[late.pk]["fill"] == ERROR_FILL and rows[late.pk]["完成比例"] == 150
    assert rows[late.pk]["note"].startswith("有错误「完成比例」：")
    assert rows[third.pk]["note"] == "" and rows[third.pk]["本期进展"] == "按计划推进"

    # As it is, the same two rows are refused; corrected, the returned ledger goes in.
    errors = ledger.ledger_import(actor=alice, data=back, apply=False).errors
    assert sorted(e.row for e in errors) == sorted([rows[first.pk]["row"], rows[late.pk]["row"]])
    fixed = fill(back, {first.pk: {"状态申请": None}, late.pk: {"完成比例": 40}})
    assert ledger.ledger_import(actor=alice, data=fixed, apply=True).applied
    assert ProgressEntry.objects.get(obligation=late).percent == 40


def test_nothing_typed_is_dropped_what_cannot_be_carried_is_listed(cast, own):
    alice, lena = cast["alice"], cast["lena"]
    first, late, third = own
    data = export(alice, own[0].department)
    # Imported once: that row's content must not come back to be recorded twice.
    done = ledger.ledger_import(actor=alice, data=fill(data, {first.pk: {"本期进展": "第一次"}}), apply=True)
    assert done.applied
    wb = load_workbook(io.BytesIO(fill(data, {first.pk: {"本期进展": "第一次"}, late.pk: {"本期进展": "改派前"}})))
    ws = wb[ledger.SHEET]
    # Another body's obligation pasted over the third row, and an obligation alice cannot see.
    other = make_obligation("JN-FGW", cooperating=["JN-DSJ"])
    hidden = make_obligation("JN-LIXIA")
    extra = ws.max_row + 1
    for r, (obligation_id, text) in enumerate(
        [(other.pk, "协办进展"), (hidden.pk, "不可见"), (third.pk, "重复")], extra
    ):
        ws.cell(row=r, column=COL["义务编号"]).value = obligation_id
        ws.cell(row=r, column=COL["版本"]).value = 1
        ws.cell(row=r, column=COL["本期进展"]).value = text
    ws.cell(row=ledger.FIRST_ROW + 2, column=COL["本期进展"]).value = "第三行"
    out = io.BytesIO()
    wb.save(out)
    # The second obligation goes to another body after the export.
    services.obligation_reassign(
        obligation=late, actor=lena, department=other.department, reason="职责调整", expected_version=late.version
    )
    summary, back = returned(alice, out.getvalue())
    assert (summary.carried, summary.left) == (1, 5)
    book = load_workbook(io.BytesIO(back))
    left = {r[1]: r for r in book[LEFT_SHEET].iter_rows(min_row=3, values_only=True)}
    assert set(left) == {first.pk, late.pk, other.pk, hidden.pk, third.pk}
    assert "已于" in left[first.pk][2] and left[first.pk][3] == "第一次"
    assert "不属于" in left[other.pk][2] and left[other.pk][3] == "协办进展"
    assert "不存在或您无权查看" in left[hidden.pk][2] and left[hidden.pk][3] == "不可见"
    assert "不存在或您无权查看" in left[late.pk][2] and left[late.pk][3] == "改派前"  # now another body's
    assert "不止一次" in left[third.pk][2] and left[third.pk][3] == "重复"
    assert rows_by_id(back)[third.pk]["本期进展"] == "第三行"
    assert set(rows_by_id(back)) == {first.pk, third.pk}


def test_another_bodys_ledger_is_refused_and_no_workbook_is_written(cast, own):
    data = fill(export(cast["alice"], own[0].department), {own[0].pk: {"本期进展": "已起草"}})
    before = AuditEntry.objects.filter(action="ledger.exported").count()
    with pytest.raises(ledger.LedgerRefused, match="只能导入本单位的台账"):
        returned(cast["carol"], data)
    assert AuditEntry.objects.filter(action="ledger.exported").count() == before


def test_the_web_page_offers_the_returned_ledger_to_its_uploader_only(client, cast, own):
    client.force_login(cast["alice"])
    data = fill(export(cast["alice"], own[0].department), {own[1].pk: {"本期进展": "推进中"}})
    move_due_date(own[1], cast["lena"], dt.date(2025, 12, 31))
    response = client.post("/tasks/ledger/import/", {"file": SimpleUploadedFile("台账.xlsx", data)})
    page = response.content.decode()
    assert response.status_code == 400 and "下载已带入您填写内容的新台账" in page
    assert "台账有 1 处错误，未导入任何内容。</div>" in page and "请刷新" not in page
    assert "导出后已变更：完成期限：2025-05-01 → 2025-12-31" in page and "确认导入" not in page
    link = f"/tasks/ledger/returned/{response.context['returned_token']}/"
    assert link in page

    download = client.get(link)
    assert download.status_code == 200 and quote("_待核对.xlsx") in download["Content-Disposition"]
    back = b"".join(download.streaming_content)
    assert rows_by_id(back)[own[1].pk]["本期进展"] == "推进中"
    assert AuditEntry.objects.filter(action="ledger.exported", after__carried=1).count() == 1

    # A colleague, another body and the lead have no such file: it is the uploader's.
    for name in ("bob", "carol", "lena"):
        client.force_login(cast[name])
        other = client.get(link, follow=True)
        assert "该台账已失效" in other.content.decode(), name
    client.force_login(cast["alice"])
    assert client.post("/tasks/ledger/import/", {"file": SimpleUploadedFile("新台账.xlsx", back)}).context["token"]


def test_the_command_writes_the_returned_ledger_when_the_import_is_refused(cast, own, tmp_path, capsys):
    path, back = tmp_path / "ledger.xlsx", tmp_path / "back.xlsx"
    call_command("export_ledger", "--department", "JN-DSJ", "-o", str(path))
    path.write_bytes(fill(path.read_bytes(), {own[0].pk: {"本期进展": "已起草"}, own[1].pk: {"本期进展": "推进"}}))
    move_due_date(own[1], cast["lena"], dt.date(2025, 8, 1))
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("import_ledger", str(path), "--user", "alice", "--returned", str(back))
    err = capsys.readouterr().err
    assert err.index("未导入任何内容") < err.index("新台账已写入") and "其中 1 行导出后已变更" in err
    assert ProgressEntry.objects.count() == 0
    rows = rows_by_id(back.read_bytes())
    assert (rows[own[0].pk]["本期进展"], rows[own[1].pk]["本期进展"]) == ("已起草", "推进")

    call_command("import_ledger", str(back), "--user", "alice", "--returned", str(tmp_path / "unused.xlsx"))
    assert "已导入 2 行变更" in capsys.readouterr().out
    assert ProgressEntry.objects.count() == 2 and not (tmp_path / "unused.xlsx").exists()
