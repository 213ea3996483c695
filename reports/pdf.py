"""PDF: an A4 document that reads like an official report — title, date, header, summary,
obligations, evidence manifest, "第 X 页 共 Y 页" on every page.

The text is set in WenQuanYi Zen Hei, a TrueType CJK font the set-up installs from Debian
(fonts-wqy-zenhei, reports.fonts finds it): reportlab embeds the subset of glyphs the report uses,
so it reads the same in any reader, and its text can be extracted and searched. Nothing is
downloaded at run time.
"""

import dataclasses
import zipfile
from html import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import asof
from .columns import as_text
from .csv import BOM, _line
from .fonts import FONT, register_fonts

# Long tables are cut into slices: reportlab splits one huge table across pages slowly.
ROWS_PER_TABLE = 60
PROGRESS_EVERY = 200

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=4)
SUBTITLE = ParagraphStyle("subtitle", fontName=FONT, fontSize=11, leading=16, alignment=TA_CENTER, spaceAfter=10)
H2 = ParagraphStyle("h2", fontName=FONT, fontSize=13, leading=18, spaceBefore=10, spaceAfter=6)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13, wordWrap="CJK")
SMALL = ParagraphStyle("small", fontName=FONT, fontSize=7.5, leading=10, wordWrap="CJK")
MONO = ParagraphStyle("mono", fontName=FONT, fontSize=7, leading=9)

GRID = TableStyle(
    [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a939c")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
)


def p(text, style=SMALL) -> Paragraph:
    return Paragraph(escape(as_text(text)).replace("\n", "<br/>"), style)


class NumberedCanvas(canvas.Canvas):
    """Keeps each page until the end, then stamps "第 X 页 共 Y 页" once the total is known."""

    def __init__(self, *args, running_title: str = "", **kwargs):
        # The page's starting font is ours too: no base-14 font that a reader would substitute.
        kwargs["initialFontName"] = FONT
        super().__init__(*args, **kwargs)
        self._pages = []
        self._running_title = running_title

    def showPage(self):  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._decorate(total)
            super().showPage()
        super().save()

    def _decorate(self, total: int) -> None:
        width, _ = A4
        self.setFont(FONT, 9)
        self.drawCentredString(width / 2, 12 * mm, f"第 {self._pageNumber} 页 共 {total} 页")
        if self._pageNumber > 1:
            self.setFont(FONT, 8)
            self.setFillColor(colors.HexColor("#61707f"))
            self.drawString(18 * mm, A4[1] - 12 * mm, self._running_title)
            self.setFillColor(colors.black)


def write(ctx: asof.ReportContext, out, progress=None) -> asof.Summary:
    register_fonts()
    width = A4[0] - 36 * mm
    story = [
        Paragraph(escape(ctx.title), TITLE),
        Paragraph(escape(f"（状态截至 {ctx.on:%Y年%m月%d日}）"), SUBTITLE),
    ]
    header = Table(
        [[p(label, BODY), p(value, BODY)] for label, value in ctx.header_lines()],
        colWidths=[32 * mm, width - 32 * mm],
    )
    header.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a939c")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef1f4")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [header]

    summary = asof.Summary()
    detail = [PageBreak(), Paragraph("三、义务明细", H2)]
    # One row per obligation, so that a page break never separates a body from its duty.
    cols = [32 * mm, 64 * mm, 24 * mm, 28 * mm]
    cols.append(width - sum(cols))
    head = [
        p(h) for h in ["条款 / 责任单位", "义务内容 / 最新进展", "状态 / 期限 / 亮灯", "提交 / 核验", "按期情况 / 佐证"]
    ]
    rows = [head]
    for done, row in enumerate(asof.iter_obligation_rows(ctx), start=1):
        summary.add(row)
        body = f"{row.citation}\n{row.department}"
        if row.cooperating:
            body += f"\n协办：{row.cooperating}"
        duty = row.clause_text
        if row.latest_progress:
            duty += f"\n【最新进展 {as_text(row.latest_progress_at)}】{row.latest_progress}"
        handed = []
        if row.submitted_at:
            handed.append(f"提交：{as_text(row.submitted_at)} {row.submitted_by}")
        if row.verified_at:
            handed.append(f"核验：{as_text(row.verified_at)} {row.verified_by}")
        rows.append(
            [
                p(body),
                p(duty),
                p(f"{row.status_label}\n期限：{as_text(row.due_date) or '未设'}\n{row.light_label}"),
                p("\n".join(handed) or "—"),
                p(f"{row.timeliness}\n{'曾逾期' if row.ever_overdue else '未曾逾期'}\n佐证 {row.evidence_count} 件"),
            ]
        )
        if len(rows) > ROWS_PER_TABLE:
            detail.append(_table(rows, cols, []))
            rows = [head]
        if progress and done % PROGRESS_EVERY == 0:
            progress(done)
    if len(rows) > 1:
        detail.append(_table(rows, cols, []))
    if summary.rows == 0:
        detail.append(Paragraph("（所选范围内无义务）", BODY))

    story += _summary(ctx, summary, width)
    story += detail
    story += _due_changes(ctx, width)
    story += _evidence(ctx, width)

    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=20 * mm,
        title=ctx.title,
        author=ctx.generated_by,
        subject=f"状态截至 {ctx.on.isoformat()}",
        creator="法规义务督办系统",
        initialFontName=FONT,
    )
    running = (
        f"{ctx.title} · 状态截至 {ctx.on.isoformat()} · 生成于 {timezone.localtime(ctx.generated_at):%Y-%m-%d %H:%M}"
    )
    doc.build(story, canvasmaker=lambda *a, **k: NumberedCanvas(*a, running_title=running, **k))
    if progress:
        progress(summary.rows)
    return summary


def _table(rows, cols, spans) -> Table:
    table = Table(rows, colWidths=cols, repeatRows=1)
    style = TableStyle(GRID.getCommands())
    for index in spans:
        style.add("SPAN", (0, index), (-1, index))
    table.setStyle(style)
    return table


def _summary(ctx, summary: asof.Summary, width) -> list:
    story = [Paragraph("一、总体情况", H2)]
    overall = [
        [p("义务总数"), p("逾期未提交"), p("按期完成"), p("逾期完成"), p("按期完成率"), p("佐证材料（件）")],
        [
            p(f"{summary.total}（{summary.repealed_note}）" if summary.repealed else summary.total),
            p(summary.overdue),
            p(summary.on_time),
            p(summary.late),
            p(asof.format_rate(summary.on_time_rate)),
            p(summary.evidence),
        ],
    ]
    story.append(_table(overall, [width / 6] * 6, []))
    story.append(Spacer(1, 6))
    states = summary.state_rows()
    story.append(
        _table([[p(label) for label, _ in states], [p(n) for _, n in states]], [width / len(states)] * len(states), [])
    )
    story.append(Paragraph("二、按责任单位统计", H2))
    head = ["责任单位", "义务数", *[label for _, label in asof.Obligation.Status.choices], "逾期未提交", "按期完成率"]
    body = [[p(h) for h in head]]
    for row in summary.body_rows(ctx.departments):
        body.append([p(v) for v in row[:-1]] + [p(asof.format_rate(row[-1]))])
    first = 50 * mm
    story.append(_table(body, [first] + [(width - first) / (len(head) - 1)] * (len(head) - 1), []))
    return story


def _due_changes(ctx, width) -> list:
    story = [Paragraph("四、期限调整记录", H2)]
    cols = [26 * mm, 20 * mm, 20 * mm, 36 * mm]
    cols.append(width - sum(cols))
    head = [p(h) for h in ["条款 / 责任单位", "原期限", "新期限", "调整人、时间", "原因"]]
    rows = [head]
    for c in asof.iter_due_changes(ctx):
        old = as_text(c.old_date) or "未设定"
        if c.missed_before:
            old += "\n（调整时已过期）"
        rows.append(
            [
                p(f"{c.citation}\n{c.department}"),
                p(old),
                p(as_text(c.new_date) or "未设定"),
                p(f"{c.changed_by}\n{as_text(c.changed_at)}"),
                p(c.reason),
            ]
        )
        if len(rows) > ROWS_PER_TABLE:
            story.append(_table(rows, cols, []))
            rows = [head]
    if len(rows) > 1:
        story.append(_table(rows, cols, []))
    else:
        story.append(Paragraph("（所选范围内无期限调整）", BODY))
    return story


def _evidence(ctx, width) -> list:
    story = [Paragraph("五、佐证材料清单", H2)]
    cols = [22 * mm, 46 * mm, 44 * mm, 16 * mm]
    cols.append(width - sum(cols))
    head = [p(h) for h in ["条款", "说明", "文件名 / 链接 / 发文字号", "大小（字节）", "提交人、时间"]]
    rows, spans = [head], []
    for e in asof.iter_evidence_rows(ctx):
        rows.append(
            [
                p(e.citation),
                p(f"{e.description}（{e.kind_label}）"),
                p(e.reference),
                p(e.size),
                p(f"{e.uploaded_by} {as_text(e.uploaded_at)}"),
            ]
        )
        digest = Paragraph(escape(f"{e.algorithm}: {e.digest}" if e.digest else "-"), MONO)
        rows.append([digest, "", "", "", ""])
        spans.append(len(rows) - 1)
        if len(rows) > ROWS_PER_TABLE:
            story.append(_table(rows, cols, spans))
            rows, spans = [head], []
    if len(rows) > 1:
        story.append(_table(rows, cols, spans))
    else:
        story.append(Paragraph("（所选范围内无佐证材料）", BODY))
    return story


# --- a large selection: one PDF per responsible body, in a ZIP ---------------------------------

BY_BODY_MANIFEST = "分册清单.csv"


@dataclasses.dataclass
class ByBodyResult:
    total: int = 0
    files: list = dataclasses.field(default_factory=list)  # (arcname, body code, body name, rows)


def by_body_name(index: int, code: str, name: str) -> str:
    return f"{index:03d}_{code}_{name}.pdf"


def write_by_body(ctx: asof.ReportContext, out, progress=None) -> ByBodyResult:
    """A ZIP of one PDF per responsible body (the selection narrowed to that body, each with its
    own header, summary, obligations and evidence) and a manifest of the files and their counts.

    Each body's document is laid out and written into the ZIP before the next one starts, so memory
    is bounded by the largest body, not by the selection. The caller writes `out` to a temporary
    path and renames it when complete (services.export_job_run, core.files.write_whole)."""
    result = ByBodyResult()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for index, (code, _count) in enumerate(asof.body_counts(ctx), start=1):
            dept = ctx.departments.get(code)
            name = dept.name if dept else code
            arcname = by_body_name(index, code, name)
            body_ctx = dataclasses.replace(ctx, filters=ctx.filters.with_department(code))
            done_before = result.total

            def body_progress(done, offset=done_before):
                if progress:
                    progress(offset + done)

            # The PDF's pages are compressed already: stored, not deflated again.
            with zf.open(zipfile.ZipInfo(arcname, date_time=_zip_time(ctx)), "w", force_zip64=True) as target:
                summary = write(body_ctx, target, body_progress)
            result.total += summary.rows
            result.files.append((arcname, code, name, summary.rows))
        lines = [_line(["文件", "机构代码", "责任单位", "义务数"])]
        lines += [_line([arcname, code, name, rows]) for arcname, code, name, rows in result.files]
        lines.append(_line(["合计", "", "", result.total]))
        zf.writestr(BY_BODY_MANIFEST, (BOM + "".join(lines)).encode("utf-8"))
        notes = [ctx.title, ""] + [f"{label}：{value}" for label, value in ctx.header_lines()]
        notes += [
            "",
            f"所选范围共 {result.total} 项义务，按责任单位分为 {len(result.files)} 个 PDF 文件，"
            f"见 {BY_BODY_MANIFEST}。",
        ]
        zf.writestr("说明.txt", "\r\n".join(notes).encode("utf-8"))
    if progress:
        progress(result.total)
    return result


def _zip_time(ctx: asof.ReportContext) -> tuple:
    return timezone.localtime(ctx.generated_at).timetuple()[:6]
