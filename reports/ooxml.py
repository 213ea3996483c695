"""A small streaming XLSX (SpreadsheetML) writer: what the report needs and nothing more.

Why our own: the report is 200,000 rows of 18 columns. XlsxWriter (constant_memory) spends about
100 µs of Python per row on per-cell calls, checks and XML element helpers; here a row is one
f-string per cell and one `str.translate` per text, about five times less (docs/benchmarks.md,
issue 18). What it writes:
- text as inline strings (never formulas, numbers or links), numbers, dates and date-times as
  Excel serial numbers with a date format;
- a few fixed cell styles (STYLES), column widths, a frozen header row;
- sheets in the order they were added, each written top to bottom.
Each sheet's rows go straight into the ZIP entry of the sheet being written; a sheet written while
another one holds the entry spills to a temporary file and is copied in when the workbook closes,
so memory stays flat whatever the number of rows.
"""

import datetime as dt
import re
import shutil
import tempfile
import zipfile
from xml.sax.saxutils import quoteattr

# Excel's limit for one cell's text.
MAX_TEXT = 32767
FLUSH_CHARS = 1 << 20
EPOCH = dt.datetime(1899, 12, 30)
EPOCH_DATE = EPOCH.date()

# name -> index into cellXfs below
STYLES = {"default": 0, "header": 1, "bold": 2, "title": 3, "date": 4, "datetime": 5}
_STYLES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ h:mm:ss"/></numFmts>'
    '<fonts count="3">'
    '<font><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
    '<font><b/><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
    '<font><b/><sz val="14"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
    "</fonts>"
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFEEF1F4"/><bgColor indexed="64"/></patternFill></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="6">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">'
    '<alignment vertical="center"/></xf>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
_SHEET_TAIL = (
    '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
)

# Text escaping in one pass: XML's three, and the control characters XML 1.0 forbids written the
# way Excel writes them (_xHHHH_). Tab, newline and carriage return stay.
_ESCAPE = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
_ESCAPE |= {c: f"_x{c:04X}_" for c in range(32) if c not in (9, 10, 13)}
_ESCAPE |= {0xFFFE: "_xFFFE_", 0xFFFF: "_xFFFF_"}
# translate() walks a CJK string through a dict lookup per character (10 µs for a clause); most
# texts need nothing, and a regex says so in a tenth of that.
_NEEDS_ESCAPE = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_LETTERS = [column_letter(i) for i in range(256)]


def excel_width(chars: float) -> float:
    """The stored width for `chars` characters as Excel shows them (Calibri 11: 7-pixel digits and
    5 pixels of cell padding), in 1/256ths as Excel stores it."""
    pixels = int(chars * 7 + 0.5) + 5
    return int(pixels / 7 * 256) / 256


class Sheet:
    def __init__(self, book: "Workbook", name: str, index: int):
        self.book, self.name, self.index = book, name, index
        self.path = f"xl/worksheets/sheet{index}.xml"
        self.widths: dict[int, float] = {}
        self.frozen_rows = 0
        self.row = 0  # rows written so far; the next row is row + 1 in Excel's numbering
        self._buffer: list[str] = []
        self._size = 0
        self._started = False  # the head (views, columns) is fixed once the first row is out
        self._stream = None  # the ZIP entry, while this sheet holds it
        self._spill = None  # a temporary file, when another sheet held the entry
        self.finished = False

    # --- layout, before the first row ---------------------------------------------------------

    def set_column(self, first: int, last: int, width: float) -> None:
        if self._started:
            raise RuntimeError("column widths must be set before the first row")
        for c in range(first, last + 1):
            self.widths[c] = width

    def freeze_header(self, rows: int = 1) -> None:
        if self._started:
            raise RuntimeError("panes must be frozen before the first row")
        self.frozen_rows = rows

    # --- rows ---------------------------------------------------------------------------------

    def append(self, values, style: str | None = None, styles=None) -> None:
        """One row. `style` applies to text and numbers (dates keep their date style); `styles`,
        one per cell, overrides it cell by cell."""
        if not self._started:
            self._start()
        self.row += 1
        r = str(self.row)
        base = STYLES[style] if style else 0
        base_attr = f' s="{base}"' if base else ""
        cells = []
        text = self.book.text
        needs_escape = _NEEDS_ESCAPE.search
        for c, value in enumerate(values):
            if value is None or value == "":
                continue
            ref = _LETTERS[c] + r
            if styles is not None and styles[c]:
                attr = f' s="{STYLES[styles[c]]}"'
            else:
                attr = base_attr
            if isinstance(value, str):
                if text is not None:
                    value = text(value)
                if len(value) > MAX_TEXT:
                    value = value[:MAX_TEXT]
                if needs_escape(value):
                    value = value.translate(_ESCAPE)
                cells.append(f'<c r="{ref}"{attr} t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>')
            elif isinstance(value, dt.datetime):
                delta = value - EPOCH
                serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
                cells.append(f'<c r="{ref}" s="5"><v>{serial}</v></c>')
            elif isinstance(value, dt.date):
                cells.append(f'<c r="{ref}" s="4"><v>{(value - EPOCH_DATE).days}</v></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{ref}"{attr} t="b"><v>{int(value)}</v></c>')
            else:
                cells.append(f'<c r="{ref}"{attr}><v>{value}</v></c>')
        line = f'<row r="{r}">{"".join(cells)}</row>'
        self._buffer.append(line)
        self._size += len(line)
        if self._size >= FLUSH_CHARS:
            self._flush()

    def finish(self) -> None:
        """No more rows: complete the sheet (and free the ZIP entry for the next one)."""
        if self.finished:
            return
        if not self._started:
            self._start()
        self._buffer.append(_SHEET_TAIL)
        if self._stream is None and self._spill is None and self.book._holder is None:
            self._take_stream()
        self._flush()
        if self._stream is not None:
            self._stream.close()
            self._stream = None
            self.book._holder = None
        elif self._spill is not None:
            self._spill.flush()
        self.finished = True

    # --- internals ----------------------------------------------------------------------------

    def _start(self) -> None:
        self._started = True
        parts = [_SHEET_HEAD, '<sheetViews><sheetView workbookViewId="0"']
        parts.append(' tabSelected="1"' if self.index == 1 else "")
        if self.frozen_rows:
            cell = f"A{self.frozen_rows + 1}"
            parts.append(
                f'><pane ySplit="{self.frozen_rows}" topLeftCell="{cell}" activePane="bottomLeft" state="frozen"/>'
                f'<selection pane="bottomLeft" activeCell="{cell}" sqref="{cell}"/></sheetView></sheetViews>'
            )
        else:
            parts.append("/></sheetViews>")
        parts.append('<sheetFormatPr defaultRowHeight="15"/>')
        if self.widths:
            parts.append("<cols>")
            for c in sorted(self.widths):
                width = excel_width(self.widths[c])
                parts.append(f'<col min="{c + 1}" max="{c + 1}" width="{width}" customWidth="1"/>')
            parts.append("</cols>")
        parts.append("<sheetData>")
        self._buffer.extend(parts)

    def _take_stream(self) -> None:
        self._stream = self.book._zip.open(self.path, "w", force_zip64=True)
        self.book._holder = self

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._stream is None and self._spill is None:
            if self.book._holder is None:
                self._take_stream()
            else:
                self._spill = tempfile.TemporaryFile()
        data = "".join(self._buffer).encode("utf-8")
        (self._stream or self._spill).write(data)
        self._buffer, self._size = [], 0

    def _copy_in(self) -> None:
        """At close: a sheet that spilled to a temporary file goes into the ZIP now."""
        if self._spill is None:
            return
        self._spill.seek(0)
        with self.book._zip.open(self.path, "w", force_zip64=True) as target:
            shutil.copyfileobj(self._spill, target, 1 << 20)
        self._spill.close()
        self._spill = None


class Workbook:
    """Sheets in the order added; close() writes the package parts around them."""

    def __init__(self, out, *, text=None, compresslevel: int = 1):
        """`text`: applied to every text cell before it is written (the report's formula guard)."""
        # Level 1: a fifth of level 6's time for a file about 20 % larger.
        self._zip = zipfile.ZipFile(
            out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel, allowZip64=True
        )
        self.text = text
        self._holder: Sheet | None = None
        self.sheets: list[Sheet] = []

    def add_sheet(self, name: str) -> Sheet:
        sheet = Sheet(self, name, len(self.sheets) + 1)
        self.sheets.append(sheet)
        return sheet

    def close(self) -> None:
        try:
            # The holder first: it owns the entry open for writing.
            if self._holder is not None:
                self._holder.finish()
            for sheet in self.sheets:
                sheet.finish()
                sheet._copy_in()
            self._package()
        finally:
            self._zip.close()

    def abort(self) -> None:
        """Stop without completing the file (the caller removes it)."""
        for sheet in self.sheets:
            if sheet._stream is not None:
                sheet._stream.close()
            if sheet._spill is not None:
                sheet._spill.close()
        self._zip.close()

    def _package(self) -> None:
        z = self._zip
        overrides = "".join(
            f'<Override PartName="/{s.path}" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for s in self.sheets
        )
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        sheets = "".join(
            f'<sheet name={quoteattr(s.name)} sheetId="{s.index}" r:id="rId{s.index}"/>' for s in self.sheets
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets></workbook>',
        )
        rels = "".join(
            f'<Relationship Id="rId{s.index}" Type="{_REL}/worksheet" Target="worksheets/sheet{s.index}.xml"/>'
            for s in self.sheets
        )
        styles_id = len(self.sheets) + 1
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        )
        z.writestr("xl/styles.xml", _STYLES_XML)
