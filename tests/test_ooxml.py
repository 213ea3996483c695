"""reports.ooxml, the streaming XLSX writer: what it writes reads back the same with openpyxl."""

import datetime as dt
import io

from openpyxl import load_workbook

from reports import ooxml


def test_cells_read_back_typed_and_escaped_with_sheets_in_order_even_when_written_out_of_order():
    out = io.BytesIO()
    wb = ooxml.Workbook(out, text=lambda v: "'" + v if v.startswith("=") else v)
    first, second, third = wb.add_sheet("汇总"), wb.add_sheet("明细 & <数据>"), wb.add_sheet("清单")
    second.set_column(0, 0, 60)
    second.freeze_header()
    second.append(["标题", "日期"], "header")
    second.append(["a < b & c > d", dt.date(2027, 1, 31), dt.datetime(2027, 1, 20, 10, 0, 5), 22, 1.5])
    second.append(['=HYPERLINK("x")', None, "", "bell\x07 tab\t", "  spaced  "])
    # Written while the second sheet still holds the ZIP entry: spilled, then copied in.
    third.append(["清单第一行"])
    second.append(["x" * (ooxml.MAX_TEXT + 10)])
    second.finish()
    third.append(["清单第二行"])
    first.append(["义务总数", 3], styles=["bold", None])
    wb.close()

    book = load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["汇总", "明细 & <数据>", "清单"]
    ws = book["明细 & <数据>"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == ["标题", "日期", None, None, None]
    assert rows[1] == ["a < b & c > d", dt.datetime(2027, 1, 31), dt.datetime(2027, 1, 20, 10, 0, 5), 22, 1.5]
    assert rows[2][0] == '\'=HYPERLINK("x")' and rows[2][1] is None and rows[2][2] is None
    # XML 1.0 has no control characters: written as Excel (and XlsxWriter) write them, _xHHHH_,
    # which Excel shows as the character; openpyxl leaves the escape as it is. Tab stays.
    assert rows[2][3] == "bell_x0007_ tab\t" and rows[2][4] == "  spaced  "
    assert rows[3][0] == "x" * ooxml.MAX_TEXT  # Excel's limit for one cell
    assert ws.freeze_panes == "A2" and ws.column_dimensions["A"].width == ooxml.excel_width(60)
    assert ws["A1"].font.b and ws["B2"].number_format == "yyyy\\-mm\\-dd"
    assert [list(r) for r in book["清单"].iter_rows(values_only=True)] == [["清单第一行"], ["清单第二行"]]
    summary = book["汇总"]
    assert summary["A1"].font.b and not summary["B1"].font.b and summary["B1"].value == 3


def test_column_letters_go_past_z():
    assert [ooxml.column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]
