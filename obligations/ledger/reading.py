"""In, first step: the workbook checked before it is parsed, then read whole into rows (no
formulas, the template's own header, real rows counted)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field

from core import filekinds
from core.errors import ServiceError

from ..forms import LedgerRowForm
from .template import (
    COLUMNS,
    EVIDENCE,
    FIRST_ROW,
    FORM_FIELDS,
    HEADER_ROW,
    HEADERS,
    HELP_SHEET,
    ID,
    LEDGER_LIMITS,
    MAX_BYTES,
    MAX_COLUMNS,
    MAX_ROWS,
    NOTE,
    PERCENT,
    PROGRESS,
    REGULATION_META,
    REQUEST,
    SHEET,
    TEMPLATE_MARK,
    VERSION,
    LedgerRefused,
)

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


def refuse(message: str, errors: list[RowError] | None = None) -> LedgerRefused:
    errors = errors or [RowError(None, "", message)]
    return LedgerRefused(message, details={"errors": [e.as_dict() for e in errors]})


def check_zip(data: bytes) -> None:
    """The zip directory, before any XML is parsed: a zip bomb is refused by what it declares.
    (Python's zipfile never inflates an entry past its declared size, so the sizes hold.)"""
    if len(data) > MAX_BYTES:
        raise refuse(f"文件过大（{len(data) / 1024 / 1024:.1f} MB），台账文件不应超过 {MAX_BYTES // 1024 // 1024} MB")
    try:
        kind = filekinds.kind_of(io.BytesIO(data), LEDGER_LIMITS)
        macros = kind == filekinds.XLSX and filekinds.has_macros(io.BytesIO(data), LEDGER_LIMITS)
    except filekinds.ArchiveRefused as refused:
        if refused.reason == "entries":
            raise refuse(f"文件结构异常（包含 {refused.count} 个部件），不是系统导出的台账") from None
        if refused.reason == "ratio":
            raise refuse("文件压缩比异常，疑似压缩炸弹，已拒绝") from None
        raise refuse("文件解压后过大，疑似压缩炸弹，已拒绝") from None
    if kind is None and data.startswith(filekinds.ZIP_MAGIC):
        raise refuse("文件已损坏或不是 Excel（.xlsx）文件")
    if kind != filekinds.XLSX:
        raise refuse("不是 Excel（.xlsx）文件，请上传系统导出的台账")
    if macros:
        raise refuse("文件含有宏，已拒绝；请上传系统导出的 .xlsx 台账")


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
        raise refuse("无法读取该 Excel 文件，文件可能已损坏") from None
    try:
        if SHEET not in wb.sheetnames or HELP_SHEET not in wb.sheetnames:
            raise refuse(f"不是本系统导出的台账模板（缺少“{SHEET}”或“{HELP_SHEET}”工作表），请重新导出台账后填报")
        meta = _read_meta(wb[HELP_SHEET])
        rows = _read_rows(wb[SHEET])
    except ServiceError:
        raise
    except Exception:
        # Read-only mode parses each sheet's XML as its rows are read: a sheet cut short, a
        # broken entry (CRC, truncated deflate) or malformed XML surfaces here, as XML, zip or
        # value errors of every kind. The file is broken, whatever the exception's type.
        raise refuse("无法读取该 Excel 文件，工作表内容不完整或已损坏") from None
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
        raise refuse("不是本系统导出的台账模板（台账标识不符），请重新导出台账后填报")
    code = meta.get("单位代码")
    if not isinstance(code, str) or not code.strip():
        raise refuse("台账未注明单位代码，请重新导出台账后填报")
    return meta


def _read_rows(ws) -> list[LedgerRow]:
    # A declared dimension too large is refused at once; one that is too small must not be
    # believed either: read-only mode stops at the declared last row and cuts rows at the declared
    # last column, so rows past it would be dropped silently (and 100,000 rows declared as 10
    # would pass the limit). Forgetting the dimension makes every row be read, and counted.
    if (ws.max_row or 0) > MAX_ROWS + FIRST_ROW or (ws.max_column or 0) > MAX_COLUMNS:
        raise refuse(f"工作表过大（{ws.max_row} 行 × {ws.max_column} 列），台账最多 {MAX_ROWS} 行")
    ws.reset_dimensions()
    rows: list[LedgerRow] = []
    formulas: list[RowError] = []
    header_seen = False
    # Read-only rows come in order, gaps filled with empty rows, so the count is the row number
    # (a lone row numbered a million is refused after the limit's worth of gap, not read to).
    for number, cells in enumerate(ws.iter_rows(min_row=1), start=1):
        if number - FIRST_ROW >= MAX_ROWS:
            raise refuse(f"工作表过大（超过 {MAX_ROWS} 行），不是系统导出的台账")
        if not cells:
            continue
        if len(cells) > MAX_COLUMNS:
            raise refuse(f"工作表过大（超过 {MAX_COLUMNS} 列），不是系统导出的台账")
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
                raise refuse("不是本系统导出的台账模板（缺少表头），请重新导出台账后填报")
            row = read_row(number, values)
            if row is not None:
                rows.append(row)
    if not header_seen:
        raise refuse("不是本系统导出的台账模板（缺少表头），请重新导出台账后填报")
    if formulas:
        raise refuse("台账中不得使用公式", formulas)
    return rows


def _check_header(values: list, cells) -> None:
    for index, expected in enumerate(HEADERS):
        actual = _cell_text(values[index]).strip()
        if actual != expected:
            raise refuse(
                f"表头与台账模板不一致：第 {index + 1} 列应为“{expected}”，实际为“{actual or '空'}”；"
                "请重新导出台账后填报"
            )
    extra = [_cell_text(getattr(c, "value", None)).strip() for c in cells[len(HEADERS) :]]
    if extra and extra[0] == NOTE.header:  # a returned ledger's notes: read-only, never read
        extra = extra[1:]
    if any(extra):
        raise refuse("表头与台账模板不一致（多出列），请重新导出台账后填报")


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
