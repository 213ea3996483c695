"""The 台账's template: its sheets, columns, limits and the refusal of a whole workbook."""

from __future__ import annotations

from dataclasses import dataclass

from core import filekinds
from core.errors import InvalidInput

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
