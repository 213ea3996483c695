"""A refused 台账 handed back: the body's ledger as it stands now, with what the person typed in it.

When `ledger.ledger_import` refuses a ledger (a row changed since the export, a row with an error),
the person should not have to export again and type everything again. `ledger_returned` writes
the body's current ledger (`ledger.ledger_workbook`: the export's columns, protection and validations) and
- carries every typed cell into the row of the same 义务编号 (the row key), now at the current 版本;
- marks each row that changed since the export (orange; 核对说明: each change, by whom, when);
- marks each row that would still be refused (red; 核对说明: the column and the error), found by
  previewing the returned rows themselves, so the marks are what importing the workbook would say;
- lists on the sheet 未带入内容 every typed row it could not carry (an obligation gone, no longer
  seen or not the body's, a 义务编号 typed twice, a row already imported), so nothing is dropped.
Imported as it is once the marked rows are looked at (and the red ones corrected), it goes in.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Department, User
from regulations.models import Regulation

from . import audit, ledger, selectors
from .audit import AuditAction
from .ledger import HEADERS, LedgerRefused, LedgerRow
from .models import Obligation

LEFT_SHEET = "未带入内容"
STALE_FILL = "FBD5B5"
ERROR_FILL = "F4C7C3"
LEFT_HEADERS = ["原行号", "义务编号", "未带入原因", *(c.header for c in ledger.FORM_FIELDS.values())]


@dataclass
class Returned:
    department: Department
    rows: int  # obligations in the workbook
    carried: int  # rows holding typed values
    stale: int  # of those, changed since the export
    refused: int  # of those, still refused as they stand
    left: int  # typed rows listed on 未带入内容

    def summary(self) -> str:
        text = f"已带入 {self.carried} 行填写内容"
        marks = []
        if self.stale:
            marks.append(f"{self.stale} 行导出后已变更（橙色）")
        if self.refused:
            marks.append(f"{self.refused} 行有错误（红色）")
        if marks:
            text += "，其中 " + "、".join(marks)
        if self.left:
            text += f"；{self.left} 行未能带入，见“{LEFT_SHEET}”工作表"
        return text


def returned_download_name(department: Department) -> str:
    return ledger.ledger_download_name(department).removesuffix(".xlsx") + "_待核对.xlsx"


def ledger_returned(*, actor: User, data: bytes, out, file_name: str = "") -> Returned:
    """Write the returned ledger of the refused workbook `data` to `out` and record it as an export.
    Raises LedgerRefused when `data` is no ledger `actor` may return, NotAllowed when `actor` may
    not export the body's ledger (the export's rule)."""
    source = ledger.read_ledger(data)
    department = ledger.ledger_department(actor=actor, ledger=source)
    ledger.ledger_check_export(actor=actor, department=department)
    regulation = Regulation.objects.filter(code=source.regulation_code).first() if source.regulation_code else None
    original = ledger.ledger_plan(actor=actor, ledger=source, department=department, file_name=file_name, apply=False)

    obligations = list(ledger.ledger_obligations(department, regulation))
    current = {o.pk: o for o in obligations}
    carried: dict[int, LedgerRow] = {}
    notes: dict[int, list[str]] = {}
    stale: set[int] = set()
    refused: dict[int, list[str]] = {}
    left: list[tuple[LedgerRow, str]] = []
    for row, plan in zip(source.rows, original.rows, strict=True):
        obligation = current.get(row.obligation_id)
        if plan.skipped:
            left.append((row, plan.skipped + "；未再带入，以免重复记录"))
        elif obligation is None:
            reasons = [e.message for e in plan.errors if e.column == ledger.ID.header]
            left.append((row, "；".join(reasons) or "该义务已不在本单位的台账中（已废止或已改由其他单位承担）"))
        elif obligation.pk in carried:
            first = carried[obligation.pk].row
            left.append((row, f"义务编号 {obligation.pk} 在原台账中出现了不止一次，新台账带入的是第 {first} 行的内容"))
        else:
            carried[obligation.pk] = row
            if row.version != obligation.version:
                stale.add(obligation.pk)
                notes[obligation.pk] = [
                    "导出后已变更：" + change for change in selectors.changes_since(obligation, row.version)
                ]
            elif plan.errors:
                # Checked at the current version already: the returned row gets the same errors.
                refused[obligation.pk] = [_error_text(e) for e in plan.errors]

    # A stale row was refused for its version alone; at the current one it is checked again.
    refused |= _still_refused(actor, department, source, obligations, {i: carried[i] for i in stale})
    for obligation_id, errors in refused.items():
        notes.setdefault(obligation_id, []).extend(errors)

    wb = ledger.ledger_workbook(department, obligations, actor, regulation)
    _fill(wb[ledger.SHEET], obligations, carried, notes, stale, set(refused))
    _explain(wb[ledger.HELP_SHEET])
    if left:
        _left_sheet(wb, left)
    wb.save(out)
    audit.record(
        AuditAction.LEDGER_EXPORTED,
        actor=actor,
        after={
            "department": department.code,
            "rows": len(obligations),
            "template": ledger.TEMPLATE_MARK,
            "returned_from": source.digest,
            "carried": len(carried),
            "left": len(left),
            **({"regulation": regulation.code} if regulation is not None else {}),
        },
    )
    return Returned(department, len(obligations), len(carried), len(stale), len(refused), len(left))


def _still_refused(
    actor: User, department: Department, source, obligations: list[Obligation], carried: dict[int, LedgerRow]
) -> dict[int, list[str]]:
    """The errors the `carried` rows would get in the returned workbook (a preview, rolled back):
    the typed cells at the obligation's current version."""
    rows = []
    for number, obligation in enumerate(obligations, start=ledger.FIRST_ROW):
        typed = carried.get(obligation.pk)
        if typed is None:
            continue
        values = [typed.typed.get(h) for h in HEADERS]
        values[HEADERS.index(ledger.ID.header)] = obligation.pk
        values[HEADERS.index(ledger.VERSION.header)] = obligation.version
        row = ledger.read_row(number, values)
        if row is not None:
            rows.append(row)
    if not rows:
        return {}
    preview = ledger.Ledger(department_code=department.code, rows=rows, digest=source.digest, meta=source.meta)
    try:
        result = ledger.ledger_plan(actor=actor, ledger=preview, department=department, apply=False)
    except LedgerRefused:
        return {}
    return {plan.obligation_id: [_error_text(e) for e in plan.errors] for plan in result.rows if plan.errors}


def _error_text(error: ledger.RowError) -> str:
    return f"有错误「{error.column}」：{error.message}"


def _fill(ws, obligations, carried, notes, stale: set[int], refused: set[int]) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    column = len(HEADERS) + 1
    thin = Side(style="thin", color="B7BEC7")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    locked_fill = PatternFill("solid", fgColor="EEF1F4")
    header = ws.cell(row=ledger.HEADER_ROW, column=column, value=ledger.NOTE.header)
    header.font, header.fill, header.border = Font(bold=True), locked_fill, border
    header.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.column_dimensions[get_column_letter(column)].width = ledger.NOTE.width
    read_only = [i + 1 for i, c in enumerate(ledger.COLUMNS) if not c.editable] + [column]
    for number, obligation in enumerate(obligations, start=ledger.FIRST_ROW):
        row = carried.get(obligation.pk)
        if row is not None:
            for name, value in row.typed.items():
                ledger.set_text(ws.cell(row=number, column=HEADERS.index(name) + 1), value)
        note = ws.cell(row=number, column=column)
        ledger.set_text(note, "\n".join(notes.get(obligation.pk, [])) or None)
        note.border, note.alignment, note.fill = border, Alignment(wrap_text=True, vertical="top"), locked_fill
        mark = ERROR_FILL if obligation.pk in refused else STALE_FILL if obligation.pk in stale else None
        if mark:
            for index in read_only:
                ws.cell(row=number, column=index).fill = PatternFill("solid", fgColor=mark)


def _explain(ws) -> None:
    from openpyxl.styles import Alignment, Font

    ws["A2"] = (
        "本台账是导入未通过后系统生成的新台账：已按义务编号带入您填写的内容。"
        "橙色行在您导出后已变更，红色行有错误，说明见“核对说明”列；核对（并改正红色行）后导入本台账即可。"
    )
    ws.merge_cells("A2:B2")
    ws["A2"].font = Font(bold=True, color="9C2B23")
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[2].height = 48


def _left_sheet(wb, left: list[tuple[LedgerRow, str]]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(LEFT_SHEET)
    ws["A1"] = "以下填写内容未能带入新台账（仅供参考，导入时不读取本表）"
    ws["A1"].font = Font(bold=True)
    for index, name in enumerate(LEFT_HEADERS, start=1):
        ws.cell(row=2, column=index, value=name).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(index)].width = 40 if index > 2 else 10
    for number, (row, reason) in enumerate(left, start=3):
        values = [row.row, row.obligation_id, reason, *(row.typed.get(h) for h in LEFT_HEADERS[3:])]
        for index, value in enumerate(values, start=1):
            cell = ws.cell(row=number, column=index)
            ledger.set_text(cell, value)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ledger.protect(ws)
