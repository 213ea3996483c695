"""XLSX: a summary sheet, the obligations and the evidence manifest.

Written by reports.ooxml, our streaming writer: rows go into the file as they are built, so memory
does not grow with the number of rows, about five times faster than XlsxWriter's constant_memory
mode and ten times openpyxl's write-only mode (docs/benchmarks.md, issue 18). The summary sheet
comes first in the workbook but is filled last, once the obligation rows have streamed past it.
Strings are always written as text, never read as formulas, numbers or links; neutralise() still
quotes what a spreadsheet would run when the text is copied elsewhere.
"""

from . import asof, ooxml
from .columns import EVIDENCE_COLUMNS, OBLIGATION_COLUMNS, evidence_values, neutralise, obligation_values

PROGRESS_EVERY = 1000


class Sheet:
    """One worksheet written top to bottom: typed cells, rows in order."""

    def __init__(self, workbook: ooxml.Workbook, name: str):
        self.ws = workbook.add_sheet(name)

    @property
    def row(self) -> int:
        return self.ws.row

    def append(self, values, style: str | None = None, styles=None) -> None:
        self.ws.append(values, style, styles)

    def header(self, columns) -> None:
        for index, (_, width, _, _) in enumerate(columns):
            self.ws.set_column(index, index, width)
        self.ws.freeze_header()
        self.append([title for title, _, _, _ in columns], "header")


def write(ctx: asof.ReportContext, out, progress=None) -> asof.Summary:
    wb = ooxml.Workbook(out, text=neutralise)
    try:
        summary = _write(wb, ctx, progress)
    except BaseException:
        wb.abort()
        raise
    wb.close()
    if progress:
        progress(summary.total)
    return summary


def _write(wb: ooxml.Workbook, ctx: asof.ReportContext, progress) -> asof.Summary:
    summary_ws = Sheet(wb, "汇总")
    obligations_ws = Sheet(wb, "义务明细")
    evidence_ws = Sheet(wb, "佐证材料清单")
    summary_ws.ws.set_column(0, 0, 30)
    summary_ws.ws.set_column(1, 1, 16)
    summary_ws.ws.set_column(2, 7, 12)

    obligations_ws.header(OBLIGATION_COLUMNS)
    summary = asof.Summary()
    append = obligations_ws.append
    for done, row in enumerate(asof.iter_obligation_rows(ctx), start=1):
        summary.add(row)
        append(obligation_values(row))
        if progress and done % PROGRESS_EVERY == 0:
            progress(done)
    obligations_ws.ws.finish()

    evidence_ws.header(EVIDENCE_COLUMNS)
    for row in asof.iter_evidence_rows(ctx):
        evidence_ws.append(evidence_values(row))
    evidence_ws.ws.finish()

    _summary(summary_ws, ctx, summary)
    return summary


def _summary(sheet: Sheet, ctx: asof.ReportContext, summary: asof.Summary) -> None:
    def labelled(label, value):
        sheet.append([label, value], styles=["bold", None])

    sheet.append([ctx.title], "title")
    for label, value in ctx.header_lines():
        labelled(label, value)
    sheet.append([])
    sheet.append(["总体情况"], "bold")
    sheet.append(["义务总数", summary.total])
    sheet.append(["逾期未提交", summary.overdue])
    sheet.append(["按期完成", summary.on_time])
    sheet.append(["逾期完成", summary.late])
    sheet.append(["按期完成率", asof.format_rate(summary.on_time_rate)])
    sheet.append(["佐证材料（件）", summary.evidence])
    sheet.append([])
    sheet.append(["按状态统计", "数量"], "bold")
    for label, n in summary.state_rows():
        sheet.append([label, n])
    sheet.append([])
    states = [label for _, label in asof.Obligation.Status.choices]
    sheet.append(["按责任单位统计", "义务数", *states, "逾期未提交", "按期完成率"], "bold")
    for row in summary.body_rows(ctx.departments):
        sheet.append([*row[:-1], asof.format_rate(row[-1])])
