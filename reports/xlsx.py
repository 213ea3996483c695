"""XLSX: a summary sheet, the obligations and the evidence manifest.

openpyxl's write_only mode streams every sheet to its own temporary file, so memory does not grow
with the number of rows; the summary sheet comes first in the workbook but is filled last, once
the obligation rows have streamed past it.
"""

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from . import asof
from .columns import EVIDENCE_COLUMNS, OBLIGATION_COLUMNS, evidence_values, neutralise, obligation_values

PROGRESS_EVERY = 1000
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="EEF1F4")
TITLE_FONT = Font(bold=True, size=14)


def _header(ws, columns) -> None:
    for index, (_, width, _, _) in enumerate(columns, start=1):
        ws.column_dimensions[_letter(index)].width = width
    ws.freeze_panes = "A2"
    row = []
    for title, _, _, _ in columns:
        cell = WriteOnlyCell(ws, value=title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="center")
        row.append(cell)
    ws.append(row)


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def _bold(ws, value):
    cell = WriteOnlyCell(ws, value=neutralise(value))
    cell.font = HEADER_FONT
    return cell


def write(ctx: asof.ReportContext, out, progress=None) -> asof.Summary:
    wb = Workbook(write_only=True)
    summary_ws = wb.create_sheet("汇总")
    obligations_ws = wb.create_sheet("义务明细")
    evidence_ws = wb.create_sheet("佐证材料清单")
    summary_ws.column_dimensions["A"].width = 30
    for letter in "BCDEFGH":
        summary_ws.column_dimensions[letter].width = 12
    summary_ws.column_dimensions["B"].width = 16

    _header(obligations_ws, OBLIGATION_COLUMNS)
    summary = asof.Summary()
    for done, row in enumerate(asof.iter_obligation_rows(ctx), start=1):
        summary.add(row)
        obligations_ws.append([neutralise(v) for v in obligation_values(row)])
        if progress and done % PROGRESS_EVERY == 0:
            progress(done)

    _header(evidence_ws, EVIDENCE_COLUMNS)
    for row in asof.iter_evidence_rows(ctx):
        evidence_ws.append([neutralise(v) for v in evidence_values(row)])

    _summary(summary_ws, ctx, summary)
    wb.save(out)
    if progress:
        progress(summary.total)
    return summary


def _summary(ws, ctx: asof.ReportContext, summary: asof.Summary) -> None:
    title = WriteOnlyCell(ws, value=ctx.title)
    title.font = TITLE_FONT
    ws.append([title])
    for label, value in ctx.header_lines():
        ws.append([_bold(ws, label), neutralise(value)])
    ws.append([])
    ws.append([_bold(ws, "总体情况")])
    ws.append(["义务总数", summary.total])
    ws.append(["逾期未提交", summary.overdue])
    ws.append(["按期完成", summary.on_time])
    ws.append(["逾期完成", summary.late])
    ws.append(["按期完成率", asof.format_rate(summary.on_time_rate)])
    ws.append(["佐证材料（件）", summary.evidence])
    ws.append([])
    ws.append([_bold(ws, "按状态统计"), _bold(ws, "数量")])
    for label, n in summary.state_rows():
        ws.append([label, n])
    ws.append([])
    states = [label for _, label in asof.Obligation.Status.choices]
    ws.append([_bold(ws, h) for h in ["按责任单位统计", "义务数", *states, "逾期未提交", "按期完成率"]])
    for row in summary.body_rows(ctx.departments):
        ws.append([*row[:-1], asof.format_rate(row[-1])])
