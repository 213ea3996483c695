"""The implementation report (实施情况报告) as a Word document laid out after GB/T 9704-2012
(党政机关公文格式): A4, margins 37 / 35 / 28 / 26 mm, title in 2号小标宋, 主送 flush left, body
in 3号仿宋 with a two-character indent on a fixed 28-point line, headings 一、 in 黑体 and （一）
in 楷体, 发文机关署名 and 成文日期 at the end, page numbers "— 1 —" in 4号宋体 on the outer side.

The figures are the compliance reports' (reports.asof: the same rows, the same Summary), for the
report's day: today, or a past day rebuilt from the audit trail. Fonts are named, not embedded:
Word, WPS and LibreOffice use 仿宋 / 黑体 / 楷体 where the reader has them and substitute otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from core import clock
from obligations.audit import AuditAction
from obligations.figures import in_total
from obligations.models import AuditEntry, Obligation
from regulations.registry import lead_department

from . import amendments, asof

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋"
H1_FONT = "黑体"
H2_FONT = "楷体"
PAGE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
SIZE_2 = Pt(22)  # 二号
SIZE_3 = Pt(16)  # 三号
SIZE_4 = Pt(14)  # 四号
TABLE_SIZE = Pt(10.5)  # 五号: tables in a 公文 body are set smaller than the text
LINE = Pt(28)  # 22 lines on the 225 mm type area
# Who writes and signs the report: the coordinating department (LEAD_DEPARTMENT_CODE).
UNKNOWN_LEAD = "牵头部门"
ADDRESSEES = "济南市人民政府，济南市人大常委会："
NUMERALS = "一二三四五六七八九十"
LIST_LIMIT = 200  # overdue or returned items listed one by one; beyond that, counted


def cn_date(day: dt.date | dt.datetime) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_number(n: int) -> str:
    if n <= 10:
        return NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (NUMERALS[tens - 1] if tens > 1 else "") + "十" + (NUMERALS[ones - 1] if ones else "")


@dataclass
class ChapterFigures:
    label: str
    counts: Counter = field(default_factory=Counter)


@dataclass
class Returned:
    citation: str
    department: str
    at: dt.datetime
    reason: str


@dataclass
class ReportData:
    """Everything the document states, gathered in one pass over the report's rows."""

    summary: asof.Summary
    chapters: dict[str, ChapterFigures]
    overdue: list[asof.ObligationRow]
    returned: list[Returned]


def gather(ctx: asof.ReportContext, progress=None) -> ReportData:
    summary = asof.Summary()
    chapters: dict[str, ChapterFigures] = {}
    overdue = []
    for done, row in enumerate(asof.iter_obligation_rows(ctx), start=1):
        summary.add(row)
        figures = chapters.setdefault(row.chapter or "未归章", ChapterFigures(row.chapter or "未归章"))
        if in_total(row.status):
            figures.counts["total"] += 1
        figures.counts[row.status] += 1
        figures.counts[row.timeliness_kind] += 1
        if row.timeliness_kind == "overdue":
            overdue.append(row)
        if progress and done % 1000 == 0:
            progress(done)
    overdue.sort(key=lambda r: (-(r.days_late or 0), r.citation))
    return ReportData(summary=summary, chapters=chapters, overdue=overdue, returned=returned_items(ctx))


def returned_items(ctx: asof.ReportContext) -> list[Returned]:
    """Obligations whose last change of state by the report's day was a return (退回): handed
    in, sent back by the lead, not yet handed in again."""
    cutoff = ctx.cutoff or clock.now() + dt.timedelta(seconds=1)
    in_scope = asof.obligations(ctx).values("pk")
    last = (
        AuditEntry.objects.filter(
            obligation=OuterRef("obligation"), action=AuditAction.OBLIGATION_STATUS, at__lt=cutoff
        )
        .order_by("-at", "-id")
        .values("id")[:1]
    )
    entries = (
        AuditEntry.objects.filter(action=AuditAction.OBLIGATION_STATUS, at__lt=cutoff, obligation__in=in_scope)
        .filter(Q(before__status=Obligation.Status.SUBMITTED) & Q(after__status=Obligation.Status.IN_PROGRESS))
        .filter(id=Subquery(last))
        .select_related("obligation__clause__article", "obligation__clause__regulation", "obligation__department")
        .order_by("at", "id")
    )
    return [
        Returned(
            citation=e.obligation.clause.citation,
            department=e.obligation.department.name,
            at=timezone.localtime(e.at),
            reason=(e.after or {}).get("reason", ""),
        )
        for e in entries
    ]


# --- layout ----------------------------------------------------------------------------------


def _fonts(run, east_asia: str, size) -> None:
    run.font.name = LATIN_FONT
    run.font.size = size
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asia)


def _paragraph(doc, text: str = "", *, font=BODY_FONT, size=SIZE_3, bold=False, indent=True, align=None):
    para = doc.add_paragraph()
    fmt = para.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE
    fmt.space_before = fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(32)  # two characters of 三号
    if align is not None:
        para.alignment = align
    if text:
        run = para.add_run(text)
        run.bold = bold
        _fonts(run, font, size)
    return para


def _heading(doc, text: str, level: int):
    font = H1_FONT if level == 1 else H2_FONT
    return _paragraph(doc, text, font=font)


def _page_number(footer, align) -> None:
    para = footer.paragraphs[0]
    para.alignment = align
    for text, field_code in (("— ", None), (None, "PAGE"), (" —", None)):
        run = para.add_run()
        _fonts(run, PAGE_FONT, SIZE_4)
        if field_code is None:
            run.text = text
            continue
        begin, instr, end = OxmlElement("w:fldChar"), OxmlElement("w:instrText"), OxmlElement("w:fldChar")
        begin.set(qn("w:fldCharType"), "begin")
        instr.set(qn("xml:space"), "preserve")
        instr.text = field_code
        end.set(qn("w:fldCharType"), "end")
        run._element.extend([begin, instr, end])


def lead_body_name() -> str:
    """The full name of the coordinating department (regulations.registry.lead_department, which
    reads LEAD_DEPARTMENT_CODE); a generic word if that body is not in the registry."""
    lead = lead_department()
    return lead.name if lead is not None else UNKNOWN_LEAD


def _setup(doc, lead: str) -> None:
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28) - Mm(7)  # the page number sits 7 mm below the type area
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = SIZE_3
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    # Odd pages number on the right, even pages on the left (GB/T 9704 7.5).
    doc.settings.odd_and_even_pages_header_footer = True
    _page_number(section.footer, WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number(section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)
    props = doc.core_properties
    props.author = lead
    props.language = "zh-CN"


def _table(doc, header: list[str], rows: list[list], first_mm: float | None = None):
    """A grid across the 156 mm type area; `first_mm` widens the first column (body names)."""
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    first = first_mm or 156 / len(header)
    widths = [Mm(first)] + [Mm((156 - first) / (len(header) - 1))] * (len(header) - 1)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # the grid LibreOffice and WPS lay out by
    for cells, values, bold in [(table.rows[0].cells, header, True)] + [
        (table.add_row().cells, row, False) for row in rows
    ]:
        for cell, value, width in zip(cells, values, widths, strict=True):
            cell.width = width
            para = cell.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER if not isinstance(value, str) or bold else None
            run = para.add_run("" if value is None else str(value))
            run.bold = bold
            _fonts(run, H1_FONT if bold else BODY_FONT, TABLE_SIZE)
    return table


def _numbered(doc, items: list[str], *, none: str, intro: str) -> None:
    """A numbered list of items in the body text ("1. …。"), or the sentence saying there is none."""
    if not items:
        _paragraph(doc, none)
        return
    _paragraph(doc, intro)
    for number, item in enumerate(items[:LIST_LIMIT], start=1):
        _paragraph(doc, f"{number}. {item}。")
    if len(items) > LIST_LIMIT:
        _paragraph(doc, f"其余{len(items) - LIST_LIMIT}项见合规报告（Excel）。")


def _rate(summary: asof.Summary) -> str:
    return asof.format_rate(summary.on_time_rate)


def write(ctx: asof.ReportContext, out, progress=None) -> ReportData:
    data = gather(ctx, progress)
    summary = data.summary
    doc = Document()
    lead = lead_body_name()
    _setup(doc, lead)

    title = f"《{ctx.regulation.title}》实施情况报告"
    _paragraph(doc, title, font=TITLE_FONT, size=SIZE_2, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc, indent=False)
    _paragraph(doc, ADDRESSEES, indent=False)

    reg = ctx.regulation
    effective = f"自{cn_date(reg.effective_date)}起施行" if reg.effective_date else "施行"
    day = cn_date(ctx.on)
    state = "日终（依据审计记录还原）" if ctx.historical else ""
    bodies = len(summary.by_body)
    _paragraph(
        doc,
        f"《{reg.title}》{effective}。按照条例规定，{lead}牵头将条例中的“应当”类义务逐项分解到责任单位，"
        f"跟踪督办落实情况。现将截至{day}{state}的实施情况报告如下。",
    )

    _heading(doc, "一、总体情况", 1)
    states = "、".join(f"{label}{n}项" for label, n in summary.state_rows())
    _paragraph(
        doc,
        f"条例共分解义务{summary.total}项{f'（{summary.repealed_note}）' if summary.repealed else ''}，"
        f"涉及责任单位{bodies}个。其中{states}；逾期未提交{summary.overdue}项，"
        f"按期完成{summary.on_time}项，逾期完成{summary.late}项，按期完成率{_rate(summary)}。"
        f"各单位共提交佐证材料{summary.evidence}件。",
    )
    _table(
        doc,
        ["义务总数", *[label for label, _ in summary.state_rows()], "逾期未提交", "按期完成率"],
        [[summary.total, *[n for _, n in summary.state_rows()], summary.overdue, _rate(summary)]],
    )
    _paragraph(doc, f"统计口径：{asof.ON_TIME_RULE}", size=SIZE_3)

    _heading(doc, "二、各责任单位落实情况", 1)
    _paragraph(
        doc,
        f"各责任单位承担义务及落实情况见下表（按逾期未提交数从多到少排列，数量相同时按机构名录顺序，"
        f"共{bodies}个单位）。",
    )
    states_header = [label for _, label in Obligation.Status.choices]
    _table(
        doc,
        ["责任单位", "义务数", *states_header, "逾期", "按期完成率"],
        [[*row[:-1], asof.format_rate(row[-1])] for row in summary.body_rows(ctx.departments)],
        first_mm=44,
    )

    _heading(doc, "三、各章义务落实情况", 1)
    for number, figures in enumerate(data.chapters.values(), start=1):
        c = figures.counts
        _heading(doc, f"（{chinese_number(number)}）{figures.label}", 2)
        parts = "，".join(f"{label}{c.get(code, 0)}项" for code, label in Obligation.Status.choices)
        _paragraph(doc, f"本章义务{c['total']}项，{parts}；逾期未提交{c.get('overdue', 0)}项。")

    _heading(doc, "四、逾期未提交事项", 1)
    _numbered(
        doc,
        [
            f"{row.department}，{row.citation}：{row.clause_text}"
            f"（完成期限{cn_date(row.due_date)}，已逾期{row.days_late}天）"
            for row in data.overdue
        ],
        none=f"截至{day}，无逾期未提交的义务。",
        intro=f"截至{day}，逾期未提交的义务共{len(data.overdue)}项（按逾期天数排列）：",
    )

    _heading(doc, "五、退回待重新提交事项", 1)
    _numbered(
        doc,
        [
            f"{item.department}，{item.citation}（{cn_date(item.at)}退回"
            + (f"，退回原因：{item.reason}" if item.reason else "")
            + "）"
            for item in data.returned
        ],
        none=f"截至{day}，无经核验退回、尚未重新提交的义务。",
        intro=f"经核验退回、尚未重新提交的义务共{len(data.returned)}项：",
    )

    _heading(doc, "六、错过期限后调整期限事项", 1)
    moved = [c for c in asof.iter_due_changes(ctx) if c.missed_before]
    _numbered(
        doc,
        [
            f"{c.department}，{c.citation}：原完成期限{cn_date(c.old_date)}已过，"
            f"{c.changed_by}于{cn_date(c.changed_at.date())}调整为{cn_date(c.new_date) if c.new_date else '未设定'}"
            f"，原因：{c.reason}（该义务计为曾逾期）"
            for c in moved
        ],
        none=f"截至{day}，无错过期限后调整期限的义务。",
        intro=f"以下{len(moved)}项义务在原完成期限过后调整了期限（完整的期限调整记录见合规报告“期限调整”表）：",
    )

    last = "七"
    version = ctx.version
    if version is not None and version.number > 1:
        _heading(doc, "七、法规修订对照", 1)
        changed = [row for row in amendments.rows(version) if row.kind != "unchanged"]
        effective = cn_date(version.effective_on) if version.effective_on else "施行之日"
        _paragraph(
            doc,
            f"《{ctx.regulation.title}》{version.label}自{effective}起施行。与上一版本相比，"
            f"条文变动{len(changed)}处（文字未变、仅条序变化的条款不列），各项义务已逐条结转，详见下表"
            "（〔删：…〕为删去的文字，〔增：…〕为增加的文字）。",
        )
        _table(
            doc,
            ["原条款", "新条款", "对应关系", "条文变化", "义务处理"],
            [
                [row.old_citation, row.new_citation, row.label, row.changes or row.new_text, row.outcome]
                for row in changed
            ],
            first_mm=22,
        )
        last = "八"

    _heading(doc, f"{last}、数据来源与核验", 1)
    head = ctx.head
    chain = (
        f"第{head.entry_id}条记录，{head.algorithm.upper()}摘要{head.hash}（链长{head.length}条）"
        if head.entry_id
        else "审计链为空"
    )
    generated = timezone.localtime(ctx.generated_at)
    _paragraph(
        doc,
        f"本报告数据由法规义务督办系统于{cn_date(generated)} {generated:%H:%M}生成（生成人：{ctx.generated_by}），"
        f"与督办看板、合规报告同一口径。生成时审计链头为{chain}，可据此核验报告所依据的记录未被改动。",
    )

    _paragraph(doc)
    _paragraph(doc)
    signature = _paragraph(doc, lead, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    signature.paragraph_format.right_indent = Pt(64)  # 右空四字
    dated = _paragraph(doc, cn_date(generated), indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    dated.paragraph_format.right_indent = Pt(64)
    doc.core_properties.title = title
    doc.save(out)
    if progress:
        progress(summary.rows)
    return data
