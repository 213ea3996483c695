"""The 台账 (ledger): a body's obligations out to Excel, and the filled workbook back in.

Out (`ledger_export`): one row per obligation the body carries. The read-only columns (义务编号,
版本, 条款, 义务内容, 完成期限, 状态, 最新进展) are locked by sheet protection without a password
(it guards against slips, not against people); the columns to fill in (本期进展, 完成比例,
状态申请, 佐证链接或发文字号) are open, with their choices as data validation. The second sheet
says how to fill it in and names the body the ledger belongs to.

Back (`ledger_import`): the workbook is checked before it is parsed (size, the zip directory:
entry count, declared sizes, compression ratio), then read with openpyxl in read-only mode: any
formula, a different template or too many rows refuse the whole file. Each filled row then goes
through the same services as the obligation page, in one transaction that reads and locks the
ledger's obligations once (`services.rows_held`): the user's permissions, the row's 版本 (changed
since the export: refused as stale), the validators, the audit trail and the notices all come
from there. One refused row and the whole transaction is rolled back; a preview (`apply=False`)
is the same run, always rolled back, so what it shows is exactly what applying would do.

A refused ledger is handed back as a fresh one with what was typed carried into it
(obligations.ledger_returned); a stale row's error says what changed since the export.

A row once applied leaves its key (obligation, exported version, the filled cells) in the audit
trail ("ledger.row_imported"); the same row imported again is recognised and skipped, so the
same filled file imported twice applies nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.models import Department, User
from core import filekinds
from core.clock import today
from core.errors import InvalidInput, NotAllowed, ServiceError, StaleVersion
from obligations import selectors

from . import audit, services
from .audit import AuditAction
from .forms import LedgerRowForm
from .models import AuditEntry, Evidence, Obligation, ProgressEntry
from .outbox import in_bulk

TEMPLATE_MARK = "法规义务督办系统·义务落实台账·v1"
SHEET = "台账"
HELP_SHEET = "填报说明"
HEADER_ROW = 2
FIRST_ROW = 3

# Limits for a returned workbook. A body carries a few hundred obligations at most; a real
# ledger is a few hundred kilobytes and a dozen zip entries.
MAX_BYTES = 5 * 1024 * 1024
MAX_ZIP_ENTRIES = 200
# A ledger the system wrote has a dozen parts and unpacks to a few MB.
LEDGER_LIMITS = filekinds.ArchiveLimits(entries=MAX_ZIP_ENTRIES, unpacked_bytes=50 * 1024 * 1024, ratio=200)
MAX_ROWS = 5000
MAX_COLUMNS = 50


REGULATION_META = "法规代码"


@dataclass(frozen=True)
class Column:
    header: str
    width: int
    editable: bool = False


ID = Column("义务编号", 10)
VERSION = Column("版本", 6)
CITATION = Column("条款", 16)
CLAUSE = Column("义务内容", 50)
DUE = Column("完成期限", 12)
STATUS = Column("状态", 16)
LATEST = Column("最新进展", 40)
PROGRESS = Column("本期进展", 40, editable=True)
PERCENT = Column("完成比例", 10, editable=True)
REQUEST = Column("状态申请", 12, editable=True)
EVIDENCE = Column("佐证链接或发文字号", 30, editable=True)
COLUMNS = [ID, VERSION, CITATION, CLAUSE, DUE, STATUS, LATEST, PROGRESS, PERCENT, REQUEST, EVIDENCE]
HEADERS = [c.header for c in COLUMNS]

# 状态申请 -> the transition it asks for.
STATUS_REQUESTS = {"开始办理": "start", "提交核验": "submit"}
# The form's field behind each fillable column.
FORM_FIELDS = {"progress": PROGRESS, "percent": PERCENT, "status_request": REQUEST, "evidence": EVIDENCE}

INSTRUCTIONS = [
    "一、本台账由系统按单位导出，每行为本单位承担的一项义务。灰色列（义务编号、版本、条款、义务内容、完成期限、状态、最新进展）为只读，请勿修改。",
    "二、黄色列为填报列：",
    "　　本期进展：本期工作进展的文字说明，导入后记为一条工作进展（最多 5000 字）；",
    "　　完成比例：0 至 100 的整数，需同时填写本期进展；",
    "　　状态申请：从下拉列表选择“开始办理”（未启动 → 推进中）或“提交核验”（推进中 → 待核验，需已有或同时填报佐证）；",
    "　　佐证链接或发文字号：以 http:// 或 https:// 开头的链接，或发文字号（如 济工信发〔2025〕12号）；"
    "多项请分行填写。",
    "三、无需填报的行请留空。单元格中不得使用公式。",
    "四、导入前系统逐行预览将要发生的变更；任一行有误（如义务在导出后已被修改、无权操作、内容不合规），整份台账均不导入，请按提示改正后重新导入。",
    "五、同一份台账重复导入时，已导入的行不会重复记录。",
    "六、台账未能导入时，系统可生成一份新台账：按义务编号带入您填写的内容，标出导出后已变更的行和有错误的行，"
    "无法带入的内容列在“未带入内容”工作表中；核对标出的行后导入新台账即可。",
]

# The column a returned ledger (obligations.ledger_returned) adds after the template's: read-only,
# ignored on import, so the returned workbook goes back in as it is.
NOTE = Column("核对说明", 40)


class LedgerRefused(InvalidInput):
    """The whole workbook is refused before any row is looked at."""

    code = "ledger_refused"
    default_message = "台账文件无法导入"


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


# --------------------------------------------------------------------------------------------
# Back: reading the workbook.


@dataclass(frozen=True)
class RowError:
    row: int | None  # the Excel row number, None for the file as a whole
    column: str
    message: str

    def __str__(self) -> str:
        place = f"第 {self.row} 行" if self.row else "文件"
        column = f"「{self.column}」" if self.column else ""
        return f"{place}{column}：{self.message}"

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class LedgerRow:
    row: int
    obligation_id: int | None
    version: int | None
    progress: str = ""
    percent: int | None = None
    status_request: str = ""
    evidence: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # The fill-in cells as typed (header -> cell value), for a returned ledger to carry over.
    typed: dict[str, object] = field(default_factory=dict)

    @property
    def filled(self) -> bool:
        return bool(self.progress or self.percent is not None or self.status_request or self.evidence)

    def key(self) -> str:
        """What identifies this row's content once applied (row numbers may change on resorting)."""
        data = [self.obligation_id, self.version, self.progress, self.percent, self.status_request, self.evidence]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Ledger:
    department_code: str
    rows: list[LedgerRow]
    digest: str
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def regulation_code(self) -> str:
        code = self.meta.get(REGULATION_META)
        return code.strip() if isinstance(code, str) else ""


def _refuse(message: str, errors: list[RowError] | None = None) -> LedgerRefused:
    errors = errors or [RowError(None, "", message)]
    return LedgerRefused(message, details={"errors": [e.as_dict() for e in errors]})


def check_zip(data: bytes) -> None:
    """The zip directory, before any XML is parsed: a zip bomb is refused by what it declares.
    (Python's zipfile never inflates an entry past its declared size, so the sizes hold.)"""
    if len(data) > MAX_BYTES:
        raise _refuse(f"文件过大（{len(data) / 1024 / 1024:.1f} MB），台账文件不应超过 {MAX_BYTES // 1024 // 1024} MB")
    try:
        kind = filekinds.kind_of(io.BytesIO(data), LEDGER_LIMITS)
        macros = kind == filekinds.XLSX and filekinds.has_macros(io.BytesIO(data), LEDGER_LIMITS)
    except filekinds.ArchiveRefused as refused:
        if refused.reason == "entries":
            raise _refuse(f"文件结构异常（包含 {refused.count} 个部件），不是系统导出的台账") from None
        if refused.reason == "ratio":
            raise _refuse("文件压缩比异常，疑似压缩炸弹，已拒绝") from None
        raise _refuse("文件解压后过大，疑似压缩炸弹，已拒绝") from None
    if kind is None and data.startswith(filekinds.ZIP_MAGIC):
        raise _refuse("文件已损坏或不是 Excel（.xlsx）文件")
    if kind != filekinds.XLSX:
        raise _refuse("不是 Excel（.xlsx）文件，请上传系统导出的台账")
    if macros:
        raise _refuse("文件含有宏，已拒绝；请上传系统导出的 .xlsx 台账")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _int(value) -> int | None:
    """An id or version cell: an integer, whether Excel stored it as a number or as text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _percent_text(value) -> str:
    text = _cell_text(value).strip()
    return text[:-1].strip() if text.endswith(("%", "％")) else text


def read_ledger(data: bytes) -> Ledger:
    """Parse a returned ledger. Refuses the whole file (LedgerRefused) when it is not one; a row's
    own problems are left on the row (LedgerRow.errors)."""
    check_zip(data)
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception:  # openpyxl raises anything from KeyError to XML errors on a broken file
        raise _refuse("无法读取该 Excel 文件，文件可能已损坏") from None
    try:
        if SHEET not in wb.sheetnames or HELP_SHEET not in wb.sheetnames:
            raise _refuse(f"不是本系统导出的台账模板（缺少“{SHEET}”或“{HELP_SHEET}”工作表），请重新导出台账后填报")
        meta = _read_meta(wb[HELP_SHEET])
        rows = _read_rows(wb[SHEET])
    except ServiceError:
        raise
    except Exception:
        # Read-only mode parses each sheet's XML as its rows are read: a sheet cut short, a
        # broken entry (CRC, truncated deflate) or malformed XML surfaces here, as XML, zip or
        # value errors of every kind. The file is broken, whatever the exception's type.
        raise _refuse("无法读取该 Excel 文件，工作表内容不完整或已损坏") from None
    finally:
        wb.close()
    code = str(meta["单位代码"]).strip()
    return Ledger(department_code=code, rows=rows, digest=hashlib.sha256(data).hexdigest(), meta=meta)


def _read_meta(ws) -> dict[str, object]:
    meta = {}
    for values in ws.iter_rows(min_row=1, max_row=12, max_col=2, values_only=True):
        if values and isinstance(values[0], str) and len(values) > 1:
            meta[values[0].strip()] = values[1]
    if meta.get("台账标识") != TEMPLATE_MARK:
        raise _refuse("不是本系统导出的台账模板（台账标识不符），请重新导出台账后填报")
    code = meta.get("单位代码")
    if not isinstance(code, str) or not code.strip():
        raise _refuse("台账未注明单位代码，请重新导出台账后填报")
    return meta


def _read_rows(ws) -> list[LedgerRow]:
    # A declared dimension too large is refused at once; one that is too small must not be
    # believed either: read-only mode stops at the declared last row and cuts rows at the declared
    # last column, so rows past it would be dropped silently (and 100,000 rows declared as 10
    # would pass the limit). Forgetting the dimension makes every row be read, and counted.
    if (ws.max_row or 0) > MAX_ROWS + FIRST_ROW or (ws.max_column or 0) > MAX_COLUMNS:
        raise _refuse(f"工作表过大（{ws.max_row} 行 × {ws.max_column} 列），台账最多 {MAX_ROWS} 行")
    ws.reset_dimensions()
    rows: list[LedgerRow] = []
    formulas: list[RowError] = []
    header_seen = False
    # Read-only rows come in order, gaps filled with empty rows, so the count is the row number
    # (a lone row numbered a million is refused after the limit's worth of gap, not read to).
    for number, cells in enumerate(ws.iter_rows(min_row=1), start=1):
        if number - FIRST_ROW >= MAX_ROWS:
            raise _refuse(f"工作表过大（超过 {MAX_ROWS} 行），不是系统导出的台账")
        if not cells:
            continue
        if len(cells) > MAX_COLUMNS:
            raise _refuse(f"工作表过大（超过 {MAX_COLUMNS} 列），不是系统导出的台账")
        for index, cell in enumerate(cells):
            if getattr(cell, "data_type", None) == "f":
                column = HEADERS[index] if index < len(HEADERS) else ""
                formulas.append(RowError(number, column, "单元格含有公式，请改为直接填写内容"))
        values = [getattr(c, "value", None) for c in cells][: len(COLUMNS)]
        values += [None] * (len(COLUMNS) - len(values))
        if number == HEADER_ROW:
            header_seen = True
            _check_header(values, cells)
        elif number >= FIRST_ROW:
            if not header_seen:
                raise _refuse("不是本系统导出的台账模板（缺少表头），请重新导出台账后填报")
            row = read_row(number, values)
            if row is not None:
                rows.append(row)
    if not header_seen:
        raise _refuse("不是本系统导出的台账模板（缺少表头），请重新导出台账后填报")
    if formulas:
        raise _refuse("台账中不得使用公式", formulas)
    return rows


def _check_header(values: list, cells) -> None:
    for index, expected in enumerate(HEADERS):
        actual = _cell_text(values[index]).strip()
        if actual != expected:
            raise _refuse(
                f"表头与台账模板不一致：第 {index + 1} 列应为“{expected}”，实际为“{actual or '空'}”；"
                "请重新导出台账后填报"
            )
    extra = [_cell_text(getattr(c, "value", None)).strip() for c in cells[len(HEADERS) :]]
    if extra and extra[0] == NOTE.header:  # a returned ledger's notes: read-only, never read
        extra = extra[1:]
    if any(extra):
        raise _refuse("表头与台账模板不一致（多出列），请重新导出台账后填报")


def read_row(number: int, values: list) -> LedgerRow | None:
    raw_id, raw_version = values[COLUMNS.index(ID)], values[COLUMNS.index(VERSION)]
    filled = {
        "progress": _cell_text(values[COLUMNS.index(PROGRESS)]),
        "percent": _percent_text(values[COLUMNS.index(PERCENT)]),
        "status_request": _cell_text(values[COLUMNS.index(REQUEST)]).strip(),
        "evidence": _cell_text(values[COLUMNS.index(EVIDENCE)]),
    }
    if not any(v.strip() for v in filled.values()):
        return None  # nothing to report on this obligation this time
    row = LedgerRow(row=number, obligation_id=_int(raw_id), version=_int(raw_version))
    row.typed = {
        c.header: values[COLUMNS.index(c)] for c in FORM_FIELDS.values() if values[COLUMNS.index(c)] is not None
    }
    if row.obligation_id is None:
        row.errors.append(RowError(number, ID.header, "义务编号缺失或不是整数（只读列，请勿修改）"))
    if row.version is None:
        row.errors.append(RowError(number, VERSION.header, "版本缺失或不是整数（只读列，请勿修改）"))
    form = LedgerRowForm(data=filled)
    if not form.is_valid():
        for name, messages in form.errors.items():
            column = FORM_FIELDS[name].header if name in FORM_FIELDS else ""
            row.errors.extend(RowError(number, column, str(m)) for m in messages)
        return row
    data = form.cleaned_data
    row.progress = data["progress"]
    row.percent = data["percent"]
    row.status_request = data["status_request"]
    row.evidence = [line.strip() for line in data["evidence"].splitlines() if line.strip()]
    if row.percent is not None and not row.progress:
        row.errors.append(RowError(number, PROGRESS.header, "填写完成比例时请同时填写本期进展"))
    return row


# --------------------------------------------------------------------------------------------
# Back: checking and applying.


@dataclass
class RowPlan:
    row: int
    obligation_id: int | None
    citation: str = ""
    changes: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: str = ""  # why nothing happens on this row (already imported)

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "obligation_id": self.obligation_id,
            "citation": self.citation,
            "changes": self.changes,
            "skipped": self.skipped,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass
class ImportResult:
    department: Department
    rows: list[RowPlan]
    applied: bool
    digest: str

    @property
    def errors(self) -> list[RowError]:
        return [e for plan in self.rows for e in plan.errors]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> list[RowPlan]:
        return [p for p in self.rows if p.changes and not p.errors]

    @property
    def skipped(self) -> list[RowPlan]:
        return [p for p in self.rows if p.skipped]

    def summary(self) -> str:
        if not self.ok:
            return f"台账有 {len(self.errors)} 处错误，未导入任何内容"
        verb = "已导入" if self.applied else "将导入"
        text = f"{verb} {len(self.changed)} 行变更"
        if self.skipped:
            text += f"，{len(self.skipped)} 行此前已导入、跳过"
        return text


class _RowFailed(Exception):
    def __init__(self, error: RowError):
        self.error = error


# A service error's details name a field; the ledger names the column it came from.
DETAIL_COLUMNS = {
    "text": PROGRESS,
    "percent": PERCENT,
    "url": EVIDENCE,
    "document_number": EVIDENCE,
    "description": EVIDENCE,
    "kind": EVIDENCE,
    "version": VERSION,
    "action": REQUEST,
}


def _column_of(exc: ServiceError, default: Column) -> str:
    if isinstance(exc, StaleVersion):
        return VERSION.header
    for name in exc.details:
        if name in DETAIL_COLUMNS:
            return DETAIL_COLUMNS[name].header
    return default.header


def ledger_import(*, actor: User, data: bytes, file_name: str = "", apply: bool) -> ImportResult:
    """Check every row of a returned ledger and, when `apply` and no row is refused, apply them all.

    Raises LedgerRefused when the file is not a ledger the actor may return; otherwise returns
    the plan of every filled row (its changes, or its errors). Nothing is written unless the
    whole ledger is applied."""
    ledger = read_ledger(data)
    department = ledger_department(actor=actor, ledger=ledger)
    return ledger_plan(actor=actor, ledger=ledger, department=department, file_name=file_name, apply=apply)


def ledger_department(*, actor: User, ledger: Ledger) -> Department:
    """The body a returned ledger belongs to, when `actor` may return it (LedgerRefused otherwise)."""
    department = Department.objects.filter(code=ledger.department_code).first()
    if department is None:
        raise _refuse(f"台账注明的单位代码不存在：{ledger.department_code}")
    if not actor.may_see_body(department):
        own = actor.department.name if actor.department_id else "未归属任何单位"
        raise _refuse(f"这是{department.name}的台账，您（{own}）只能导入本单位的台账")
    return department


def ledger_plan(
    *, actor: User, ledger: Ledger, department: Department, file_name: str = "", apply: bool
) -> ImportResult:
    """`ledger_import` for a ledger already read and its body already checked."""
    if not ledger.rows:
        raise _refuse("台账中没有填报任何内容（填报列均为空）")

    # Up to 5,000 rows, each two or three audit entries: the chain is held once for the whole run
    # (audit.chain_held) and its entries written together at the end, not at all for a preview or
    # a refused ledger (nothing in the run reads them back). A service undone by its savepoint
    # leaves the held head behind, but a refused row refuses the whole ledger (below), so no such
    # chain is ever committed.
    # A row's progress tells cooperating bodies: a few hundred events, delivered by one sweep.
    # The services take the ledger's obligations as locked here (services.rows_held) rather than
    # reading each again; their activity stamps are written at the end, with the audit entries.
    with in_bulk(), transaction.atomic(), audit.chain_held(buffered=True):
        locked = _lock(actor, ledger)
        with services.rows_held(locked):
            plans = _run(actor=actor, ledger=ledger, department=department, file_name=file_name, locked=locked)
            result = ImportResult(department=department, rows=plans, applied=False, digest=ledger.digest)
            if apply and result.ok and result.changed:
                audit.record(
                    AuditAction.LEDGER_IMPORTED,
                    actor=actor,
                    after={
                        "department": department.code,
                        "file_name": file_name,
                        "file_digest": ledger.digest,
                        "rows": [p.row for p in result.changed],
                        "skipped": [p.row for p in result.skipped],
                    },
                )
                result.applied = True
            else:
                # A preview, or a ledger with a refused row: nothing of this run stays.
                transaction.set_rollback(True)
    return result


def _lock(actor: User, ledger: Ledger) -> dict[int, Obligation]:
    """The ledger's obligations the actor sees, locked in id order for the whole run: the versions
    checked are the versions written over."""
    ids = {r.obligation_id for r in ledger.rows if r.obligation_id is not None}
    visible = Obligation.objects.visible_to(actor).filter(pk__in=ids).values("pk")
    return {
        o.pk: o
        for o in Obligation.objects.select_for_update(of=("self",))
        .filter(pk__in=visible)
        .select_related(*services.FRESH_RELATED)
        .order_by("pk")
    }


def _run(
    *, actor: User, ledger: Ledger, department: Department, file_name: str, locked: dict[int, Obligation]
) -> list[RowPlan]:
    ids = {r.obligation_id for r in ledger.rows if r.obligation_id is not None}
    keys = {r.key(): r for r in ledger.rows if not r.errors}
    done = dict(
        AuditEntry.objects.filter(
            action=AuditAction.LEDGER_ROW_IMPORTED, obligation_id__in=ids, after__ledger_key__in=list(keys)
        ).values_list("after__ledger_key", "at")
    )
    plans, seen = [], set()
    for row in ledger.rows:
        plan = RowPlan(row=row.row, obligation_id=row.obligation_id, errors=list(row.errors))
        plans.append(plan)
        obligation = locked.get(row.obligation_id)
        if obligation is None and row.obligation_id is not None:
            plan.errors.append(RowError(row.row, ID.header, f"义务编号 {row.obligation_id} 不存在或您无权查看"))
        if obligation is not None:
            plan.citation = obligation.clause.citation
            if obligation.department_id != department.pk:
                plan.errors.append(
                    RowError(
                        row.row, ID.header, f"义务编号 {row.obligation_id} 不属于{department.name}，不能在本台账中填报"
                    )
                )
            if row.obligation_id in seen:
                plan.errors.append(RowError(row.row, ID.header, f"义务编号 {row.obligation_id} 在台账中出现了不止一次"))
        seen.add(row.obligation_id)
        if plan.errors:
            continue
        key = row.key()
        if key in done:
            plan.skipped = f"已于 {timezone.localtime(done[key]):%Y-%m-%d %H:%M} 导入，不再重复记录"
            continue
        if row.version != obligation.version:
            plan.errors.append(RowError(row.row, VERSION.header, stale_message(obligation, row.version)))
            continue
        # No savepoint per row: a refused row refuses the whole ledger (ledger_plan rolls it all
        # back), and each service undoes its own half-done write. What a refused row wrote before
        # its refusal touches only its own obligation, which no other row of the ledger may name.
        try:
            plan.changes = _apply_row(actor=actor, row=row, obligation=obligation, key=key, file_name=file_name)
        except _RowFailed as failed:
            plan.errors.append(failed.error)
    return plans


def stale_message(obligation: Obligation, exported_version: int | None) -> str:
    """What changed since the export, as one statement: the changes themselves, no advice."""
    changes = selectors.changes_since(obligation, exported_version)
    return "导出后已变更：" + "；".join(changes) if changes else "导出后已变更"


def _step(row: LedgerRow, column: Column, what: str, call: Callable[[], object]) -> None:
    try:
        call()
    except NotAllowed:
        raise _RowFailed(RowError(row.row, column.header, f"您无权{what}")) from None
    except ServiceError as exc:
        raise _RowFailed(RowError(row.row, _column_of(exc, column), exc.message)) from None


def _apply_row(*, actor: User, row: LedgerRow, obligation: Obligation, key: str, file_name: str) -> list[str]:
    """One row through the services, in the order the obligation page would take them: evidence
    first (a submission needs it), then the progress entry, then the state."""
    changes, evidence_ids = [], []
    progress_id = None
    for line in row.evidence:
        is_link = line.lower().startswith(("http://", "https://"))
        kind = Evidence.Kind.LINK if is_link else Evidence.Kind.DOCUMENT

        def add(line=line, kind=kind):
            item = services.evidence_add(
                obligation=obligation,
                actor=actor,
                kind=kind,
                description=f"台账填报（第 {row.row} 行）",
                url=line if kind == Evidence.Kind.LINK else "",
                document_number=line if kind == Evidence.Kind.DOCUMENT else "",
            )
            evidence_ids.append(item.pk)

        _step(row, EVIDENCE, "为该义务提交佐证材料", add)
        changes.append(f"新增佐证（{'链接' if is_link else '发文字号'}）：{line}")
    if row.progress:

        def progress():
            nonlocal progress_id
            progress_id = services.progress_add(
                obligation=obligation, actor=actor, text=row.progress, percent=row.percent
            ).pk

        _step(row, PROGRESS, "填报该义务的工作进展", progress)
        percent = f"（完成比例 {row.percent}%）" if row.percent is not None else ""
        changes.append(f"新增工作进展{percent}：{row.progress}")
    if row.status_request:
        action = STATUS_REQUESTS[row.status_request]
        before = obligation.get_status_display()

        def transition():
            nonlocal obligation
            obligation = services.obligation_transition(
                obligation=obligation, actor=actor, action=action, expected_version=row.version
            )

        _step(row, REQUEST, services.TRANSITION_LABELS[action] + "该义务", transition)
        changes.append(f"状态：{before} → {obligation.get_status_display()}")
    audit.record(
        AuditAction.LEDGER_ROW_IMPORTED,
        obligation=obligation,
        actor=actor,
        after={
            "ledger_key": key,
            "row": row.row,
            "file_name": file_name,
            "version": row.version,
            "progress_id": progress_id,
            "evidence_ids": evidence_ids,
            "status_request": row.status_request,
        },
    )
    return changes


# --------------------------------------------------------------------------------------------
# The upload page keeps the file between the preview and the confirmation.

STASH_HOURS = 24


def _stash_dir() -> Path:
    # Beside the report exports, never under the static root; one file per person at most.
    return Path(settings.REPORTS_ROOT) / "ledger-uploads"


def ledger_stash(*, actor: User, data: bytes) -> str:
    """Keep an uploaded ledger for its confirmation; returns the token the confirmation names.
    A person has one preview at a time: the next one replaces it (ten uploads kept ten files of
    up to 5 MB each for a day). Previews never confirmed are removed after STASH_HOURS by the
    clean-up task (`ledger_stash_sweep`)."""
    root = _stash_dir()
    root.mkdir(parents=True, exist_ok=True)
    for previous in root.glob(f"{actor.pk}-*.xlsx"):
        previous.unlink(missing_ok=True)
    token = uuid.uuid4().hex
    path = root / f"{actor.pk}-{token}.xlsx"
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return token


def ledger_stash_sweep(*, hours: float = STASH_HOURS) -> int:
    """Remove previews (and half-written ones) older than `hours`; returns how many."""
    root = _stash_dir()
    if not root.is_dir():
        return 0
    cutoff = time.time() - hours * 3600
    removed = 0
    for path in [*root.glob("*.xlsx"), *root.glob("*.part")]:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # confirmed or replaced meanwhile
            continue
    return removed


def _stash_path(actor: User, token: str) -> Path | None:
    # The token is ours (hex) and the file carries the user's id: nobody confirms another's upload.
    if not (isinstance(token, str) and len(token) == 32 and all(c in "0123456789abcdef" for c in token)):
        return None
    path = _stash_dir() / f"{actor.pk}-{token}.xlsx"
    return path if path.is_file() else None


def ledger_stashed(*, actor: User, token: str) -> bytes | None:
    path = _stash_path(actor, token)
    return path.read_bytes() if path else None


def ledger_unstash(*, actor: User, token: str) -> None:
    path = _stash_path(actor, token)
    if path:
        path.unlink(missing_ok=True)
