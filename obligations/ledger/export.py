"""Out: a body's obligations written to the 台账 workbook (protected, with its choices as data validation)."""

from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.models import Department, User
from core.clock import today
from core.errors import NotAllowed

from .. import audit
from ..audit import AuditAction
from ..models import Obligation, ProgressEntry
from .template import (
    COLUMNS,
    DUE,
    EVIDENCE,
    FIRST_ROW,
    HEADER_ROW,
    HELP_SHEET,
    INSTRUCTIONS,
    PERCENT,
    PROGRESS,
    REGULATION_META,
    REQUEST,
    SHEET,
    STATUS_REQUESTS,
    TEMPLATE_MARK,
    Column,
)

# --------------------------------------------------------------------------------------------
# Out.


def _citation(obligation: Obligation) -> str:
    """第六条第二款, and for an amended regulation the version and the citation before it
    (第六条第二款（第3版，原第七条第二款）)."""
    version = obligation.clause.article.version
    notes = [version.label.split("（")[0]] if version is not None and version.number > 1 else []
    if obligation.former_citation:
        notes.append(obligation.former_citation)
    if obligation.awaits_review:
        notes.append("待复核")
    return f"{obligation.citation}（{'，'.join(notes)}）" if notes else obligation.citation


def ledger_obligations(department: Department, regulation=None):
    """The obligations a body carries (under one regulation when given), regulation by regulation
    in the order of its text, with their latest progress."""
    latest = ProgressEntry.objects.filter(obligation=OuterRef("pk")).order_by("-created_at", "-id")
    carried = Obligation.objects.active().filter(department=department)
    if regulation is not None:
        carried = carried.filter(clause__regulation=regulation)
    return (
        carried.select_related("clause__article__version", "clause__regulation", "former_clause__article")
        .annotate(
            latest_text=Subquery(latest.values("text")[:1]),
            latest_at=Subquery(latest.values("created_at")[:1]),
            latest_percent=Subquery(latest.values("percent")[:1]),
        )
        .order_by(
            "clause__regulation__title", "clause__article__number", "clause__paragraph_number", "clause__ordinal", "id"
        )
    )


def ledger_check_export(*, actor: User | None, department: Department) -> None:
    """Staff export their own body's ledger; the lead, auditors and admins any body's.
    `actor` None is the operator's command on the server."""
    if actor is not None and not actor.may_see_body(department):
        raise NotAllowed("经办人只能导出本单位的台账")


def ledger_download_name(department: Department, on: dt.date | None = None) -> str:
    on = on or today()
    return f"{department.short_name}_义务落实台账_{on:%Y%m%d}.xlsx"


def ledger_export(*, actor: User | None, department: Department, out, regulation=None) -> int:
    """Write the body's ledger (under one regulation when given) to `out` (a binary file) and
    record the export. Returns the rows."""
    ledger_check_export(actor=actor, department=department)
    obligations = list(ledger_obligations(department, regulation))
    _write(department, obligations, out, actor, regulation)
    audit.record(
        AuditAction.LEDGER_EXPORTED,
        actor=actor,
        after={
            "department": department.code,
            "rows": len(obligations),
            "template": TEMPLATE_MARK,
            **({"regulation": regulation.code} if regulation is not None else {}),
        },
    )
    return len(obligations)


def set_text(cell, value) -> None:
    """Text stays text: a progress note starting with "=" must never become a formula."""
    cell.value = value
    if cell.data_type == "f":
        cell.data_type = "s"


def _latest(o: Obligation) -> str:
    if not o.latest_text:
        return ""
    when = timezone.localtime(o.latest_at).strftime("%Y-%m-%d")
    percent = f"（{o.latest_percent}%）" if o.latest_percent is not None else ""
    return f"{when}：{o.latest_text}{percent}"


def _status(o: Obligation, on: dt.date) -> str:
    label = o.get_status_display()
    return f"{label}（已逾期 {o.days_overdue(on)} 天）" if o.is_overdue(on) else label


def _write(department: Department, obligations: list[Obligation], out, actor: User | None, regulation=None) -> None:
    ledger_workbook(department, obligations, actor, regulation).save(out)


def ledger_workbook(department: Department, obligations: list[Obligation], actor: User | None, regulation=None):
    """The ledger's workbook, not yet saved: row FIRST_ROW + i is obligations[i]."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    on = today()
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    locked_fill = PatternFill("solid", fgColor="EEF1F4")
    open_fill = PatternFill("solid", fgColor="FFF7D6")
    thin = Side(style="thin", color="B7BEC7")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    unlocked = Protection(locked=False)

    last = get_column_letter(len(COLUMNS))
    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = f"{department.name}法规义务落实台账（导出日期：{on:%Y年%m月%d日}）"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 28
    for index, column in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=index, value=column.header)
        cell.font = Font(bold=True)
        cell.fill = open_fill if column.editable else locked_fill
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(index)].width = column.width

    # Each data cell's look (fill, border, wrap, lock, number format) as one named style per kind of
    # column: set by name, a cell copies the style's indices; set attribute by attribute, openpyxl
    # hashed every style object again for each of the 55,000 cells of a 5,000-row ledger.
    def cell_style(name: str, fill, number_format: str = "General", protection=None) -> str:
        style = NamedStyle(name=name, fill=fill, border=border, alignment=wrap, number_format=number_format)
        if protection is not None:
            style.protection = protection
        wb.add_named_style(style)
        return name

    read_only = cell_style("台账只读", locked_fill)
    read_only_date = cell_style("台账只读日期", locked_fill, "yyyy-mm-dd")
    fill_text = cell_style("台账填报", open_fill, "@", unlocked)
    fill_number = cell_style("台账填报数字", open_fill, "0", unlocked)
    styles = [read_only] * 7
    styles[COLUMNS.index(DUE)] = read_only_date
    styles += [fill_number if column is PERCENT else fill_text for column in COLUMNS[7:]]
    for row, o in enumerate(obligations, start=FIRST_ROW):
        due = o.due_date if o.due_date is not None else "未设置"
        values = [o.pk, o.version, _citation(o), o.clause.text, due, _status(o, on), _latest(o)]
        values += [None] * (len(COLUMNS) - len(values))
        for index, (value, style) in enumerate(zip(values, styles, strict=True), start=1):
            cell = ws.cell(row=row, column=index)
            if value is not None:
                set_text(cell, value)
            cell.style = style

    if obligations:
        end = FIRST_ROW + len(obligations) - 1

        def validation(column: Column, **kwargs) -> None:
            letter = get_column_letter(COLUMNS.index(column) + 1)
            dv = DataValidation(allow_blank=True, showErrorMessage=True, errorTitle=column.header, **kwargs)
            dv.add(f"{letter}{FIRST_ROW}:{letter}{end}")
            ws.add_data_validation(dv)

        validation(REQUEST, type="list", formula1='"' + ",".join(STATUS_REQUESTS) + '"', error="请从下拉列表中选择")
        validation(
            PERCENT, type="whole", operator="between", formula1="0", formula2="100", error="请填写 0 至 100 的整数"
        )
        validation(PROGRESS, type="textLength", operator="lessThanOrEqual", formula1="5000", error="最多 5000 字")
        validation(EVIDENCE, type="textLength", operator="lessThanOrEqual", formula1="1000", error="最多 1000 字")

    ws.freeze_panes = f"A{FIRST_ROW}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    # Printed on A4 landscape, all columns on one page width.
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    protect(ws)

    help_ws = wb.create_sheet(HELP_SHEET)
    help_ws.column_dimensions["A"].width = 14
    help_ws.column_dimensions["B"].width = 100
    help_ws["A1"] = "填报说明"
    help_ws["A1"].font = Font(bold=True, size=14)
    who = actor.display_name if actor is not None else "系统管理命令（export_ledger）"
    meta = [
        ("台账标识", TEMPLATE_MARK),
        ("填报单位", department.name),
        ("单位代码", department.code),
        ("导出时间", f"{timezone.localtime():%Y-%m-%d %H:%M}（北京时间）"),
        ("导出人", who),
        *([(REGULATION_META, regulation.code)] if regulation is not None else []),
    ]
    for row, (label, value) in enumerate(meta, start=3):
        help_ws.cell(row=row, column=1, value=label).font = Font(bold=True)
        set_text(help_ws.cell(row=row, column=2), value)
    for row, line in enumerate(INSTRUCTIONS, start=len(meta) + 4):
        cell = help_ws.cell(row=row, column=1, value=line)
        help_ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        help_ws.row_dimensions[row].height = 32
    protect(help_ws)

    wb.properties.title = f"{department.name}法规义务落实台账"
    wb.properties.subject = department.code
    wb.properties.keywords = TEMPLATE_MARK
    wb.properties.creator = "法规义务督办系统"
    return wb


def protect(ws) -> None:
    # No password: the lock keeps people from overwriting the read-only columns by accident.
    # Resizing rows and columns stays allowed (False means "not protected" in openpyxl).
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
