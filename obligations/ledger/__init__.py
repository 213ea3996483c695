"""The 台账 (ledger): a body's obligations out to Excel, and the filled workbook back in.

One concern a module: template.py (sheets, columns, limits), export.py (out), reading.py (the
workbook checked and read), applying.py (the rows through the services), stash.py (the upload kept
between preview and confirmation). Callers use this package's names.

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

from .applying import (
    DETAIL_COLUMNS,
    ImportResult,
    RowPlan,
    ledger_department,
    ledger_import,
    ledger_plan,
    stale_message,
)
from .export import (
    ledger_check_export,
    ledger_download_name,
    ledger_export,
    ledger_obligations,
    ledger_workbook,
    protect,
    set_text,
)
from .reading import Ledger, LedgerRow, RowError, check_zip, read_ledger, read_row, refuse
from .stash import STASH_HOURS, ledger_stash, ledger_stash_sweep, ledger_stashed, ledger_unstash
from .template import (
    CITATION,
    CLAUSE,
    COLUMNS,
    DUE,
    EVIDENCE,
    FIRST_ROW,
    FORM_FIELDS,
    HEADER_ROW,
    HEADERS,
    HELP_SHEET,
    ID,
    INSTRUCTIONS,
    LATEST,
    LEDGER_LIMITS,
    MAX_BYTES,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_ZIP_ENTRIES,
    NOTE,
    PERCENT,
    PROGRESS,
    REGULATION_META,
    REQUEST,
    SHEET,
    STATUS,
    STATUS_REQUESTS,
    TEMPLATE_MARK,
    VERSION,
    Column,
    LedgerRefused,
)

__all__ = [
    "TEMPLATE_MARK",
    "SHEET",
    "HELP_SHEET",
    "HEADER_ROW",
    "FIRST_ROW",
    "MAX_BYTES",
    "MAX_ZIP_ENTRIES",
    "LEDGER_LIMITS",
    "MAX_ROWS",
    "MAX_COLUMNS",
    "REGULATION_META",
    "Column",
    "ID",
    "VERSION",
    "CITATION",
    "CLAUSE",
    "DUE",
    "STATUS",
    "LATEST",
    "PROGRESS",
    "PERCENT",
    "REQUEST",
    "EVIDENCE",
    "COLUMNS",
    "HEADERS",
    "STATUS_REQUESTS",
    "FORM_FIELDS",
    "INSTRUCTIONS",
    "NOTE",
    "LedgerRefused",
    "ledger_obligations",
    "ledger_check_export",
    "ledger_download_name",
    "ledger_export",
    "set_text",
    "ledger_workbook",
    "protect",
    "RowError",
    "LedgerRow",
    "Ledger",
    "refuse",
    "check_zip",
    "read_ledger",
    "read_row",
    "RowPlan",
    "ImportResult",
    "DETAIL_COLUMNS",
    "ledger_import",
    "ledger_department",
    "ledger_plan",
    "stale_message",
    "STASH_HOURS",
    "ledger_stash",
    "ledger_stash_sweep",
    "ledger_stashed",
    "ledger_unstash",
]
