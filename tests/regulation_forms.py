"""The same regulation text as a Word file, a gazette-style PDF and a government web page.

Built from the plain text inside the tests (no binaries in the repository). Each line of the text
is one block: the title and chapter headings centred, paragraphs with a two-character first-line
indent, wrapped at the page width, with a running header and "— N —" page numbers on every page.
"""

import html
import io
from pathlib import Path

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # fonts-wqy-zenhei, scripts/browser.sh
RUNNING_HEADER = "济南市人民代表大会常务委员会公报"


def blocks(text: str) -> list[tuple[str, str]]:
    """(kind, text) per non-blank line: "title", "heading" (a "#" line) or "paragraph"."""
    result = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            result.append(("title" if not result else "heading", line.lstrip("#").strip()))
        else:
            result.append(("paragraph", line))
    return result


def to_docx(text: str) -> bytes:
    import docx
    from docx.shared import Pt

    document = docx.Document()
    for kind, line in blocks(text):
        if kind == "title":
            document.add_heading(line, level=0)
        elif kind == "heading":
            document.add_heading(line, level=1)
        else:
            paragraph = document.add_paragraph(line)
            paragraph.paragraph_format.first_line_indent = Pt(24)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def to_pdf(text: str, *, font_size: float = 12, with_text_layer: bool = True) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("WQY", str(CJK_FONT), subfontIndex=0))
    width, height = A4
    margin_x, margin_top, margin_bottom = 72.0, 100.0, 100.0
    usable = width - 2 * margin_x
    leading = font_size * 1.6
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    page = 1
    y = height - margin_top

    def furniture():
        if not with_text_layer:  # a scan: the page is a picture, nothing on it is text
            return
        pdf.setFont("WQY", 9)
        pdf.drawCentredString(width / 2, height - 50, RUNNING_HEADER)
        pdf.drawCentredString(width / 2, 50, f"— {page} —")
        pdf.setFont("WQY", font_size)

    def new_page():
        nonlocal page, y
        pdf.showPage()
        page += 1
        y = height - margin_top
        furniture()

    def draw(x, line, centred=False):
        nonlocal y
        if y < margin_bottom:
            new_page()
        if not with_text_layer:
            pdf.rect(x, y, pdfmetrics.stringWidth(line, "WQY", font_size), font_size, fill=1)
        elif centred:
            pdf.drawCentredString(width / 2, y, line)
        else:
            pdf.drawString(x, y, line)
        y -= leading

    furniture()
    indent = 2 * font_size
    for kind, line in blocks(text):
        if kind != "paragraph":
            draw(0, line, centred=True)
            continue
        first, rest, x = True, line, margin_x + indent
        while rest:
            room = usable - (indent if first else 0)
            cut = len(rest)
            while pdfmetrics.stringWidth(rest[:cut], "WQY", font_size) > room:
                cut -= 1
            draw(x, rest[:cut])
            rest, first, x = rest[cut:], False, margin_x
    pdf.save()
    return out.getvalue()


def to_html(text: str, *, encoding: str = "utf-8") -> bytes:
    """A page like a 人大 site's: navigation, breadcrumbs, scripts, the law, a footer."""
    body = []
    for kind, line in blocks(text):
        if kind == "title":
            body.append(f"<h1 class='title'>{html.escape(line)}</h1>")
        elif kind == "heading":
            body.append(f"<p style='text-align:center'><strong>{html.escape(line)}</strong></p>")
        else:
            body.append(f"<p>&nbsp;&nbsp;&nbsp;&nbsp;{html.escape(line)}</p>")
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head>
<meta http-equiv="Content-Type" content="text/html; charset={encoding}">
<title>济南市数字经济促进条例_法规库_济南人大</title>
<script>var nav = "第一条 不是正文";</script>
<style>.title {{ font-size: 22px; }}</style>
</head><body>
<div class="top"><nav><ul><li><a href="/">首页</a></li><li><a href="/fg">法规库</a></li>
<li><a href="/news">第一条新闻</a></li></ul></nav></div>
<div class="crumbs">当前位置：首页 &gt; 法规库 &gt; 地方性法规</div>
<div class="main"><div class="content" id="zoom">
{chr(10).join(body)}
</div>
<div class="share">分享到：微信 微博</div></div>
<footer><p>主办：济南市人大常委会办公厅 地址：济南市龙奥北路1号</p><p>鲁ICP备00000000号</p></footer>
<script src="/js/stat.js"></script>
</body></html>"""
    return page.encode(encoding)
