"""XLSX: a summary sheet, the obligations, their due-date history (期限调整) and the evidence manifest.

Written with XlsxWriter in constant_memory mode: each sheet streams row by row to a temporary file
of its own, so memory does not grow with the number of rows, at twice the speed of openpyxl's
write-only mode (docs/benchmarks.md). The summary sheet comes first in the workbook but is filled
last, once the obligation rows have streamed past it. Strings are always written as text, never
read as formulas, numbers or links; neutralise() still quotes what a spreadsheet would run when
the text is copied elsewhere. Dates are date cells (yyyy-mm-dd), moments date-time cells.
"""

import datetime as dt

import xlsxwriter

from . import asof
from .columns import (
    DUE_CHANGE_COLUMNS,
    EVIDENCE_COLUMNS,
    OBLIGATION_COLUMNS,
    due_change_values,
    evidence_values,
    neutralise,
    obligation_values,
)

PROGRESS_EVERY = 1000
HEADER = {"bold": True, "bg_color": "#EEF1F4", "pattern": 1, "valign": "vcenter"}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"
RATE_FORMAT = "0.0%"  # the pages' one decimal (obligations.figures.format_rate), as a number


class Sheet:
    """One worksheet written top to bottom: typed cells, rows in order."""

    def __init__(self, workbook, name: str, formats: dict):
        self.ws = workbook.add_worksheet(name)
        self.formats = formats
        self.row = 0

    def append(self, values, cell_format=None, number_formats=None) -> None:
        """number_formats: column → format of a number there (a rate's percentage)."""
        ws, r = self.ws, self.row
        for c, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                ws.write_string(r, c, neutralise(value), cell_format)
            elif isinstance(value, dt.datetime):
                ws.write_datetime(r, c, value, self.formats["datetime"])
            elif isinstance(value, dt.date):
                ws.write_datetime(r, c, value, self.formats["date"])
            else:
                ws.write_number(r, c, value, (number_formats or {}).get(c, cell_format))
        self.row += 1

    def header(self, columns) -> None:
        for index, (_, width, _, _) in enumerate(columns):
            self.ws.set_column(index, index, width)
        self.ws.freeze_panes(1, 0)
        self.append([title for title, _, _, _ in columns], self.formats["header"])
        self.columns = len(columns)

    def filter(self) -> None:
        """An auto-filter over the table: its header and every row written."""
        self.ws.autofilter(0, 0, max(self.row - 1, 1), self.columns - 1)

    def rate(self, value: float | None):
        """A rate for a cell: a number shown as a percentage, "—" when there is none."""
        return asof.format_rate(None) if value is None else value


def write(ctx: asof.ReportContext, out, progress=None) -> asof.Summary:
    wb = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    formats = {
        "header": wb.add_format(HEADER),
        "bold": wb.add_format({"bold": True}),
        "title": wb.add_format({"bold": True, "font_size": 14}),
        "date": wb.add_format({"num_format": DATE_FORMAT}),
        "datetime": wb.add_format({"num_format": DATETIME_FORMAT}),
        "rate": wb.add_format({"num_format": RATE_FORMAT}),
    }
    summary_ws = Sheet(wb, "汇总", formats)
    obligations_ws = Sheet(wb, "义务明细", formats)
    changes_ws = Sheet(wb, "期限调整", formats)
    evidence_ws = Sheet(wb, "佐证材料清单", formats)
    summary_ws.ws.set_column(0, 0, 30)
    summary_ws.ws.set_column(1, 1, 16)
    summary_ws.ws.set_column(2, 7, 12)

    obligations_ws.header(OBLIGATION_COLUMNS)
    summary = asof.Summary()
    for done, row in enumerate(asof.iter_obligation_rows(ctx), start=1):
        summary.add(row)
        obligations_ws.append(obligation_values(row))
        if progress and done % PROGRESS_EVERY == 0:
            progress(done)
    obligations_ws.filter()

    changes_ws.header(DUE_CHANGE_COLUMNS)
    for row in asof.iter_due_changes(ctx):
        changes_ws.append(due_change_values(row))
    changes_ws.filter()

    evidence_ws.header(EVIDENCE_COLUMNS)
    for row in asof.iter_evidence_rows(ctx):
        evidence_ws.append(evidence_values(row))
    evidence_ws.filter()

    _summary(summary_ws, ctx, summary)
    wb.close()
    if progress:
        progress(summary.rows)
    return summary


def _summary(sheet: Sheet, ctx: asof.ReportContext, summary: asof.Summary) -> None:
    bold, ws = sheet.formats["bold"], sheet.ws

    def labelled(label, value):
        ws.write_string(sheet.row, 0, neutralise(label), bold)
        sheet.append([None, value])

    sheet.append([ctx.title], sheet.formats["title"])
    for label, value in ctx.header_lines():
        labelled(label, value)
    sheet.append([])
    sheet.append(["总体情况"], bold)
    sheet.append(["义务总数", summary.total])
    if summary.repealed:
        sheet.append(["另有已废止", summary.repealed])
    sheet.append(["逾期未提交", summary.overdue])
    sheet.append(["按期完成", summary.on_time])
    sheet.append(["逾期完成", summary.late])
    sheet.append(["按期完成率", sheet.rate(summary.on_time_rate)], number_formats={1: sheet.formats["rate"]})
    sheet.append(["佐证材料（件）", summary.evidence])
    sheet.append([])
    sheet.append(["按状态统计", "数量"], bold)
    for label, n in summary.state_rows():
        sheet.append([label, n])
    sheet.append([])
    states = [label for _, label in asof.Obligation.Status.choices]
    sheet.append(["按责任单位统计", "义务数", *states, "逾期未提交", "按期完成率"], bold)
    for row in summary.body_rows(ctx.departments):
        sheet.append([*row[:-1], sheet.rate(row[-1])], number_formats={len(row) - 1: sheet.formats["rate"]})
