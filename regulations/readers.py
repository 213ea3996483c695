"""Readers: a regulation file in whatever form it arrives -> its plain text for the parser.

Forms: plain text (.txt, .md), Word (.docx), PDF with a text layer, and a web page (.html) saved
from a government site. The form is recognised from the content (the file name only words the
error), so a PDF named ".txt" is still read as a PDF. Every reader gives the text the parser reads
from a plain-text copy of the same law: one block (title, heading, paragraph, item) per line.

Any failure to read is a ``RegulationFormatError`` with a message in Chinese; no input raises
anything else (tests/test_readers.py fuzzes the readers with hypothesis). No Django imports.
"""

from __future__ import annotations

import io
import os
import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from core import filekinds
from core.filekinds import ArchiveLimits

from .parser import ARTICLE_RE, HTML_SAMPLE, RegulationFormatError, decode_text, looks_like_html

__all__ = [
    "FORMATS",
    "Inspection",
    "SourceText",
    "inspect_regulation_bytes",
    "read_regulation_bytes",
    "read_regulation_source",
]

TEXT, DOCX, PDF, HTML = "txt", "docx", "pdf", "html"
FORMATS = {TEXT: "文本", DOCX: "Word（.docx）", PDF: "PDF", HTML: "网页（HTML）"}
# What the admin's upload accepts; content decides the form, the suffix only filters uploads.
ACCEPTED_SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
MAX_BYTES = 20 * 1024 * 1024  # a regulation is a few hundred kB even as a PDF
READER_LIMITS = ArchiveLimits(entries=10_000, unpacked_bytes=100 * 1024 * 1024)

# A regulation is tens of pages, a gazette issue a few hundred; 200,000 blank pages took 33 s to
# parse before they were refused. The page count is judged before any page is parsed.
MAX_PDF_PAGES = 1000

MSG_TOO_LARGE = "文件过大（超过 20 MB），不像是一部法规"
MSG_TOO_MANY_PAGES = f"PDF 页数过多（超过 {MAX_PDF_PAGES} 页），不像是一部法规"
MSG_OLD_WORD = "这是旧版 Word（.doc）文件，无法读取；请在 Word 中另存为 .docx 后再导入"
MSG_NOT_DOCX = "文件是压缩包，但不是 Word（.docx）文档"
MSG_BAD_DOCX = "Word（.docx）文件已损坏，无法读取"
MSG_BAD_PDF = "PDF 文件已损坏，无法读取"
MSG_ENCRYPTED_PDF = "PDF 文件已加密，无法读取；请提供未加密的文件"
MSG_SCANNED_PDF = (
    "PDF 文件没有文字层（可能是扫描件），无法提取文字；本系统不做文字识别（OCR），请提供 Word、文本或带文字层的 PDF"
)
MSG_BAD_HTML = "网页无法解析"
MSG_HTML_NO_TEXT = "网页中未找到法规正文（第X条）"


@dataclass
class SourceText:
    text: str
    format: str  # one of FORMATS


@dataclass
class Inspection:
    """What a file is, judged before any of its content is parsed: its form and, for a PDF, its
    page count (the page tree walked, no page read)."""

    format: str  # one of FORMATS
    pages: int | None = None


# Called as progress(done, total) while a long file is read: pages of a PDF, blocks of a .docx.
Progress = Callable[[int, int], None]


def read_regulation_source(path: str | os.PathLike[str]) -> SourceText:
    """The text of a regulation file in any supported form."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise RegulationFormatError(MSG_TOO_LARGE)
        data = file.read_bytes()
    except OSError as exc:
        raise RegulationFormatError(f"无法读取文件：{path}（{exc.strerror or exc}）") from exc
    return read_regulation_bytes(data)


def read_regulation_bytes(data: bytes, progress: Progress | None = None) -> SourceText:
    if len(data) > MAX_BYTES:
        raise RegulationFormatError(MSG_TOO_LARGE)
    kind = _sniff(data)
    if kind == DOCX:
        return SourceText(_guarded(lambda d: _docx_text(d, progress), data, MSG_BAD_DOCX), DOCX)
    if kind == PDF:
        return SourceText(_guarded(lambda d: _pdf_text(d, progress), data, MSG_BAD_PDF), PDF)
    if kind == HTML:
        return SourceText(_guarded(_html_text, data, MSG_BAD_HTML), HTML)
    return SourceText(decode_text(data), TEXT)


def inspect_regulation_bytes(data: bytes) -> Inspection:
    """The limits a file must pass before it is parsed, judged cheaply: its size, its form, a
    .docx's archive (entries, unpacked size) and a PDF's page count. A RegulationFormatError in
    Chinese for a file that fails them; the web pages call this in the request and leave the
    reading itself, which may take long, to a worker."""
    if len(data) > MAX_BYTES:
        raise RegulationFormatError(MSG_TOO_LARGE)
    kind = _sniff(data)
    if kind == DOCX:
        _guarded(_docx_entries, data, MSG_BAD_DOCX)
    if kind == PDF:
        return Inspection(PDF, _guarded(_pdf_pages, data, MSG_BAD_PDF))
    return Inspection(kind)


def _sniff(data: bytes) -> str:
    head = data[:8]
    if head.startswith(b"%PDF") or b"%PDF-" in data[:1024]:  # some sites put a few bytes before it
        return PDF
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise RegulationFormatError(MSG_OLD_WORD)
    if head.startswith(filekinds.ZIP_MAGIC):
        return DOCX  # judged whole (core.filekinds) when it is read
    # By structure (parser.looks_like_html): a law that mentions a few <tags> is still text.
    if looks_like_html(data[:HTML_SAMPLE].decode("utf-8", "replace")):
        return HTML
    return TEXT


def _guarded(read, data: bytes, message: str) -> str:
    """Run a reader; whatever a third-party library raises on a broken file becomes ``message``.

    The libraries raise many exception types on malformed input (zipfile, lxml, pdfminer, struct,
    KeyError …), and the promise is a clear message every time, never a traceback.
    """
    try:
        return read(data)
    except RegulationFormatError:
        raise
    except (MemoryError, RecursionError) as exc:
        raise RegulationFormatError(message) from exc
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise RegulationFormatError(message) from exc


# ---------------------------------------------------------------------------------------------
# Word (.docx)
# ---------------------------------------------------------------------------------------------


def _docx_entries(data: bytes) -> None:
    try:
        entries = filekinds.archive_entries(io.BytesIO(data), READER_LIMITS)
    except filekinds.ArchiveRefused:  # a zip bomb
        raise RegulationFormatError(MSG_TOO_LARGE) from None
    if entries is None:
        raise RegulationFormatError(MSG_BAD_DOCX)
    if "word/document.xml" not in {entry.filename for entry in entries}:
        raise RegulationFormatError(MSG_NOT_DOCX)


def _docx_text(data: bytes, progress: Progress | None = None) -> str:
    import docx  # python-docx; imported here so the text path needs no third-party library

    _docx_entries(data)
    document = docx.Document(io.BytesIO(data))
    lines = []
    blocks = list(document.element.body.iterchildren())
    for done, block in enumerate(blocks, 1):
        if progress is not None and (done % 200 == 0 or done == len(blocks)):
            progress(done, len(blocks))
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(_docx_paragraph_text(block))
        elif tag == "tbl":  # a law laid out in a table (rare): its cells, row by row
            for cell in block.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p"):
                lines.append(_docx_paragraph_text(cell))
    # A manual line break (Shift+Enter) inside a paragraph is a line of its own.
    return "\n".join(line.replace("\t", " ") for line in lines)


def _docx_paragraph_text(element) -> str:
    import docx.text.paragraph

    return docx.text.paragraph.Paragraph(element, None).text


# ---------------------------------------------------------------------------------------------
# PDF with a text layer
# ---------------------------------------------------------------------------------------------
# A PDF has lines, not paragraphs. A line opens a new block when it is indented (a paragraph's
# first line, an article, an item), centred (a title or heading), or when the line before it
# stopped short of the right margin (the end of a paragraph); otherwise it continues the line
# before it, across a page break too. Running headers and footers (the gazette's name, "— 3 —")
# are dropped: page numbers by their form, other lines when they repeat at the same place on
# most pages, or when set in smaller type than the text.

PAGE_NUMBER_RE = re.compile(r"^[\s—–\-－－·•.]*(?:第\s*)?[0-9０-９]+(?:\s*页)?(?:\s*[/／]\s*[0-9]+)?[\s—–\-－·•.]*$")
MARGIN_SHARE = 0.12  # the top and bottom 12% of a page is where running headers and footers sit


@dataclass
class _Line:
    page: int
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


def _pdf_open(data: bytes):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        return pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfplumber wraps pdfminer's errors; the cause says what went wrong
        causes = [exc, exc.__cause__, exc.__context__, *exc.args]
        if any(isinstance(c, PDFPasswordIncorrect | PDFEncryptionError) for c in causes):
            raise RegulationFormatError(MSG_ENCRYPTED_PDF) from exc
        raise


def _pdf_pages(data: bytes) -> int:
    with _pdf_open(data) as pdf:
        return _check_page_count(pdf.doc)


def _pdf_text(data: bytes, progress: Progress | None = None) -> str:
    with _pdf_open(data) as pdf:
        total = _check_page_count(pdf.doc)
        lines: list[_Line] = []
        heights = []
        for number, page in enumerate(pdf.pages):
            if progress is not None:
                progress(number, total)
            heights.append(float(page.height))
            for line in page.extract_text_lines(return_chars=True, strip=True):
                text = line["text"]
                if not text.strip():
                    continue
                sizes = [float(c.get("size") or 0) for c in line.get("chars", [])] or [10.0]
                lines.append(
                    _Line(
                        number,
                        text,
                        float(line["x0"]),
                        float(line["x1"]),
                        float(line["top"]),
                        float(line["bottom"]),
                        statistics.median(sizes),
                    )
                )
    if progress is not None:
        progress(total, total)
    body = _drop_running_lines(lines, heights)
    if not body:  # nothing but page numbers, or no text at all
        raise RegulationFormatError(MSG_SCANNED_PDF)
    return "\n".join(_blocks(body))


def _check_page_count(document) -> int:
    """Refuse a PDF of more than MAX_PDF_PAGES pages before any page is read: first by the count
    its page tree declares, then by walking the tree (a declared count may lie), which reads the
    pages' dictionaries but none of their content. Returns the pages counted."""
    from itertools import islice

    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdftypes import resolve1

    tree = resolve1(document.catalog.get("Pages"))
    declared = resolve1(tree.get("Count")) if isinstance(tree, dict) else None
    if isinstance(declared, int) and declared > MAX_PDF_PAGES:
        raise RegulationFormatError(MSG_TOO_MANY_PAGES)
    pages = sum(1 for _ in islice(PDFPage.create_pages(document), MAX_PDF_PAGES + 1))
    if pages > MAX_PDF_PAGES:
        raise RegulationFormatError(MSG_TOO_MANY_PAGES)
    return pages


def _drop_running_lines(lines: list[_Line], heights: list[float]) -> list[_Line]:
    pages = len(heights)

    def in_margin(line: _Line) -> bool:
        height = heights[line.page]
        return line.top < height * MARGIN_SHARE or line.bottom > height * (1 - MARGIN_SHARE)

    def shape(line: _Line) -> str:
        return re.sub(r"[0-9]+", "#", re.sub(r"\s+", "", line.text))

    repeated = Counter(shape(line) for line in lines if in_margin(line))
    body_size = statistics.median(line.size for line in lines) if lines else 0
    kept = []
    for line in lines:
        if in_margin(line):
            if PAGE_NUMBER_RE.match(line.text) or line.size < body_size * 0.85:  # small print up there
                continue
            if pages >= 2 and repeated[shape(line)] >= max(2, pages // 2) and not ARTICLE_RE.match(line.text):
                continue
        kept.append(line)
    return kept


def _blocks(lines: list[_Line]) -> list[str]:
    if not lines:
        return []
    char = statistics.median(line.size for line in lines) or 10.0
    left = statistics.median_low(round(line.x0) for line in lines)
    right = max(line.x1 for line in lines)  # the right margin: the edge full lines reach
    blocks: list[str] = []
    previous: _Line | None = None
    for line in lines:
        indented = line.x0 > left + 0.8 * char
        previous_short = previous is not None and previous.x1 < right - 1.5 * char
        if previous is None or indented or previous_short:
            blocks.append(line.text)
        else:
            blocks[-1] += line.text
        previous = line
    return blocks


# ---------------------------------------------------------------------------------------------
# Web page (.html)
# ---------------------------------------------------------------------------------------------
# A government page holds the law inside navigation, breadcrumbs, a footer and scripts. The law's
# text is the smallest element that holds every line starting "第X条"; its title is the page's
# first <h1> (or <title>) when that element does not start with one.

META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
# GB2312 and GBK pages often hold characters only GB18030 (their superset) decodes.
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030"}
SKIPPED_TAGS = {"script", "style", "noscript", "template", "head", "nav", "footer", "header", "aside", "form",
                "select", "button", "iframe", "svg", "object"}  # fmt: skip
BLOCK_TAGS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "pre",
              "blockquote", "td", "th", "dd", "dt", "table", "ul", "ol", "center", "main", "body", "html"}  # fmt: skip
VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "track", "wbr"}
TITLE_TAGS = ("h1", "h2")


def _html_decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    m = META_CHARSET_RE.search(data[:4096])
    declared = m.group(1).decode("ascii").lower() if m else ""
    encoding = CHARSET_ALIASES.get(declared, declared)
    if encoding:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    for fallback in ("utf-8", "gb18030"):
        try:
            return data.decode(fallback)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


@dataclass
class _Element:
    tag: str
    first_line: int
    last_line: int = -1


class _PageText(HTMLParser):
    """Lines of visible text, and for each element the range of lines it holds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.elements: list[_Element] = []
        self.open: list[_Element] = []
        self.skipping = 0
        self.title = ""
        self.headings: list[str] = []
        self._in_title = False
        self._heading: list[str] | None = None

    def _break(self) -> None:
        if self.lines[-1].strip():
            self.lines.append("")

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            if tag not in VOID_TAGS:
                self.skipping += 1
            return
        if tag == "title":
            self._in_title = True
        if self.skipping:
            return
        if tag in BLOCK_TAGS:
            self._break()
        if tag in TITLE_TAGS and self._heading is None:
            self._heading = []
        if tag not in VOID_TAGS:
            element = _Element(tag, len(self.lines) - 1)
            self.elements.append(element)
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        if not self.skipping and tag in BLOCK_TAGS:
            self._break()

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
            return
        if tag == "title":
            self._in_title = False
        if self.skipping:
            return
        if tag in BLOCK_TAGS:
            self._break()
        if tag in TITLE_TAGS and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None
        for index in range(len(self.open) - 1, -1, -1):  # tolerate unclosed tags
            if self.open[index].tag == tag:
                # The line under way belongs to whatever comes next when it is still empty.
                last = len(self.lines) - (1 if self.lines[-1].strip() else 2)
                for element in self.open[index:]:
                    element.last_line = last
                del self.open[index:]
                break

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self.skipping:
            return
        if self._heading is not None:
            self._heading.append(data)
        self.lines[-1] += data.replace("\n", " ").replace("\r", " ")


def _html_text(data: bytes) -> str:
    page = _PageText()
    page.feed(_html_decode(data))
    page.close()
    for element in page.open:
        element.last_line = len(page.lines) - 1
    lines = [line.strip() for line in page.lines]
    starts = [i for i, line in enumerate(lines) if ARTICLE_RE.match(line)]
    if not starts:
        raise RegulationFormatError(MSG_HTML_NO_TEXT)
    holding = [e for e in page.elements if e.first_line <= starts[0] and e.last_line >= starts[-1]]
    if holding:
        best = min(holding, key=lambda e: e.last_line - e.first_line)
        first, last = best.first_line, best.last_line
    else:
        first, last = 0, len(lines) - 1
    text_lines = [line for line in lines[first : last + 1] if line]
    head = text_lines[: text_lines.index(next(line for line in text_lines if ARTICLE_RE.match(line)))]
    title = next((h for h in page.headings if h), "") or page.title.strip()
    if title and not any(title in line or line in title for line in head):
        text_lines.insert(0, title)
    return "\n".join(text_lines)
