"""The report's columns, shared by every format, and the one guard against formula injection."""

import datetime as dt

from .asof import DueChangeRow, EvidenceRow, ObligationRow

# A spreadsheet treats a cell starting with one of these as a formula (or, for tab and carriage
# return, lets it slip past the check): "=HYPERLINK(...)" in a progress note must stay text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Prefix text a spreadsheet would run as a formula with a single quote. Used by XLSX and CSV."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


# (header, width in characters, kind, getter); kind drives the cell format: text/date/datetime/int
OBLIGATION_COLUMNS = [
    ("条款", 16, "text", lambda r: r.citation),
    ("所在章", 16, "text", lambda r: r.chapter),
    ("义务内容", 60, "text", lambda r: r.clause_text),
    ("责任单位", 22, "text", lambda r: r.department),
    ("协办单位", 22, "text", lambda r: r.cooperating),
    ("状态", 9, "text", lambda r: r.status_label),
    ("亮灯", 12, "text", lambda r: r.light_label),
    ("完成期限", 12, "date", lambda r: r.due_date),
    ("提交核验时间", 18, "datetime", lambda r: r.submitted_at),
    ("提交人", 10, "text", lambda r: r.submitted_by),
    ("核验时间", 18, "datetime", lambda r: r.verified_at),
    ("核验人", 10, "text", lambda r: r.verified_by),
    ("按期情况", 18, "text", lambda r: r.timeliness),
    ("逾期天数", 9, "int", lambda r: r.days_late),
    # 曾逾期: a date was missed, even if it was later moved or the work handed in late.
    ("曾逾期", 8, "text", lambda r: r.ever_overdue_label),
    ("最新进展", 50, "text", lambda r: r.latest_progress),
    ("进展填报时间", 18, "datetime", lambda r: r.latest_progress_at),
    ("完成比例（%）", 10, "int", lambda r: r.percent),
    ("佐证材料数", 10, "int", lambda r: r.evidence_count),
    ("义务编号", 9, "int", lambda r: r.obligation_id),
]

# The due-date history (期限调整): one row per change of an obligation's due date.
DUE_CHANGE_COLUMNS = [
    ("条款", 16, "text", lambda c: c.citation),
    ("责任单位", 22, "text", lambda c: c.department),
    ("原期限", 12, "date", lambda c: c.old_date),
    ("新期限", 12, "date", lambda c: c.new_date),
    ("原期限调整时已过", 10, "text", lambda c: c.missed_before_label),
    ("原因", 50, "text", lambda c: c.reason),
    ("调整人", 10, "text", lambda c: c.changed_by),
    ("调整时间", 18, "datetime", lambda c: c.changed_at),
    ("义务编号", 9, "int", lambda c: c.obligation_id),
]

EVIDENCE_COLUMNS = [
    ("条款", 16, "text", lambda e: e.citation),
    ("提交单位", 22, "text", lambda e: e.department),
    ("材料类型", 9, "text", lambda e: e.kind_label),
    ("说明", 40, "text", lambda e: e.description),
    ("文件名 / 链接 / 发文字号", 36, "text", lambda e: e.reference),
    ("摘要算法", 9, "text", lambda e: e.algorithm),
    ("摘要值", 68, "text", lambda e: e.digest),
    ("大小（字节）", 12, "int", lambda e: e.size),
    ("提交人", 10, "text", lambda e: e.uploaded_by),
    ("提交时间", 18, "datetime", lambda e: e.uploaded_at),
    ("义务编号", 9, "int", lambda e: e.obligation_id),
    ("材料编号", 9, "int", lambda e: e.evidence_id),
]


def as_text(value) -> str:
    """How a value reads in CSV and PDF."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def obligation_values(row: ObligationRow) -> list:
    return [getter(row) for _, _, _, getter in OBLIGATION_COLUMNS]


def due_change_values(row: DueChangeRow) -> list:
    return [getter(row) for _, _, _, getter in DUE_CHANGE_COLUMNS]


def evidence_values(row: EvidenceRow) -> list:
    return [getter(row) for _, _, _, getter in EVIDENCE_COLUMNS]
