"""修订对照表: what an amendment changed, duty by duty, and what became of each obligation.

One row per link of the lineage between a version and the one before it (regulations.lineage,
computed again from the two versions' clauses, which are never rewritten): old and new citation,
old and new text, the words that changed, the classification, and what the carrying over did to
the obligations (obligations.models.Carryover). Written as XLSX, as PDF, and as a section of the
Word 实施情况报告 (reports.docx).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape

import xlsxwriter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from obligations.models import Carryover
from regulations.importing import duty_of_clause
from regulations.lineage import LABELS, diff_text, match
from regulations.models import Clause, RegulationVersion

from .fonts import FONT, register_fonts
from .pdf import BODY, GRID, SMALL, SUBTITLE, TITLE, p

HEADER = ["序号", "原条款", "新条款", "对应关系", "原条文", "新条文", "文字差异", "义务处理"]


@dataclass
class AmendmentRow:
    old_citation: str
    new_citation: str
    kind: str
    label: str
    old_text: str
    new_text: str
    changes: str
    outcome: str


def title_of(version: RegulationVersion) -> str:
    return f"《{version.regulation.title}》修订对照表（{version.label}）"


def previous_of(version: RegulationVersion) -> RegulationVersion | None:
    return version.regulation.versions.filter(number__lt=version.number).order_by("-number").first()


def _clauses(version: RegulationVersion | None) -> list[Clause]:
    if version is None:
        return []
    return list(Clause.objects.filter(article__version=version).select_related("article"))


def rows(version: RegulationVersion) -> list[AmendmentRow]:
    old_clauses, new_clauses = _clauses(previous_of(version)), _clauses(version)
    lineage = match([duty_of_clause(c) for c in old_clauses], [duty_of_clause(c) for c in new_clauses])
    outcomes: dict[tuple, list[str]] = defaultdict(list)
    carried = Carryover.objects.filter(version=version).select_related("obligation__department").order_by("id")
    for row in carried:
        outcomes[(row.old_clause_id, row.new_clause_id)].append(
            f"{row.obligation.department.short_name}：{row.get_outcome_display()}"
        )
    out = []
    for link in lineage.links:
        old_text = link.old.text if link.old else ""
        new_text = link.new.text if link.new else ""
        done = outcomes.get((link.old.key if link.old else None, link.new.key if link.new else None), [])
        out.append(
            AmendmentRow(
                old_citation=link.old.citation if link.old else "—",
                new_citation=link.new.citation if link.new else "—",
                kind=link.kind,
                label=LABELS[link.kind],
                old_text=old_text,
                new_text=new_text,
                changes="" if old_text == new_text else diff_text(old_text, new_text),
                outcome="；".join(done) or "（无义务）",
            )
        )
    return out


def write_xlsx(version: RegulationVersion, out) -> int:
    wb = xlsxwriter.Workbook(out, {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
    sheet = wb.add_worksheet("修订对照表")
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    header = wb.add_format({"bold": True, "bg_color": "#EEF1F4", "border": 1})
    sheet.write(0, 0, title_of(version), wb.add_format({"bold": True, "font_size": 14}))
    effective = f"{version.effective_on:%Y-%m-%d}" if version.effective_on else "未定"
    sheet.write(1, 0, f"施行日期 {effective}；文本摘要 {version.source_sha256}")
    for col, name in enumerate(HEADER):
        sheet.write(3, col, name, header)
    for col, width in enumerate([6, 16, 16, 10, 50, 50, 50, 40]):
        sheet.set_column(col, col, width)
    table = rows(version)
    for i, row in enumerate(table, start=1):
        values = [
            i,
            row.old_citation,
            row.new_citation,
            row.label,
            row.old_text,
            row.new_text,
            row.changes,
            row.outcome,
        ]
        for col, value in enumerate(values):
            sheet.write(3 + i, col, value, wrap)
    sheet.freeze_panes(4, 0)
    wb.close()
    return len(table)


def write_pdf(version: RegulationVersion, out) -> int:
    register_fonts()
    page = landscape(A4)
    width = page[0] - 24 * mm
    doc = SimpleDocTemplate(out, pagesize=page, leftMargin=12 * mm, rightMargin=12 * mm, title=title_of(version))
    effective = f"{version.effective_on:%Y年%m月%d日}" if version.effective_on else "未定"
    story = [Paragraph(escape(title_of(version)), TITLE), Paragraph(escape(f"自{effective}起施行"), SUBTITLE)]
    cols = [9 * mm, 24 * mm, 24 * mm, 16 * mm]
    rest = width - sum(cols)
    cols += [rest * 0.3, rest * 0.3, rest * 0.4]
    table_rows = [[p(h, BODY) for h in ["序号", "原条款", "新条款", "对应关系", "原条文", "新条文", "义务处理"]]]
    table = rows(version)
    for i, row in enumerate(table, start=1):
        new = row.changes or row.new_text
        table_rows.append(
            [p(i), p(row.old_citation), p(row.new_citation), p(row.label), p(row.old_text), p(new), p(row.outcome)]
        )
    grid = Table(table_rows, colWidths=cols, repeatRows=1)
    grid.setStyle(GRID)
    grid.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("TEXTCOLOR", (0, 0), (-1, -1), colors.black)]))
    story.append(grid)
    story.append(Paragraph(escape("新条文一栏标出文字差异：〔删：…〕为删去的文字，〔增：…〕为增加的文字。"), SMALL))
    doc.build(story)
    return len(table)
