"""Reading a regulation from Word, PDF and web pages: the same law gives the same clauses, bodies
and 款 as its plain text, and no file, however broken, gives anything but a clear Chinese error.

The inputs are generated from the fixture text by tests/regulation_forms.py. No database.
"""

import io
import re
import zipfile
from pathlib import Path

import pdfplumber
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regulations import readers
from regulations.parser import (
    RegulationFormatError,
    extract_clauses,
    extract_remits,
    parse_regulation,
)
from regulations.readers import read_regulation_bytes, read_regulation_source
from regulations.registry import registry_from_file
from tests import regulation_forms as forms

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED = (FIXTURES / "jinan-digital-economy-promotion-2024.txt").read_text(encoding="utf-8")
REGISTRY = registry_from_file(FIXTURES / "departments.json")[0]  # the bodies and their classes
CJK = re.compile(r"[\u4e00-\u9fff]")

SHORT = """# 某市数据条例

第一章 总则

第一条 为了规范数据管理，制定本条例。

第二条 市人民政府应当加强对数据工作的领导，将数据工作纳入国民经济和社会发展规划，协调解决数据发展中的重大问题。

市大数据部门应当会同财政部门制定扶持政策。

第二章 附则

第三条 本条例自2025年1月1日起施行。
"""


def reading(text: str) -> tuple:
    """Everything an import keeps: title, chapters, 款 with their items, clauses with their bodies."""
    reg = parse_regulation(text)
    clauses = [
        (c.article, c.paragraph, c.ordinal, c.kind, c.text, c.subject, c.departments, c.cooperating, c.unresolved)
        for c in extract_clauses(reg, REGISTRY)
    ]
    remits = [(r.article, r.paragraph, r.departments) for r in extract_remits(reg, REGISTRY)]
    articles = [(a.number, a.chapter_number, [p.full_text for p in a.paragraphs]) for a in reg.articles]
    return reg.title, reg.preamble, [(c.number, c.title) for c in reg.chapters], articles, clauses, remits


@pytest.fixture(scope="module")
def plain():
    return reading(SEED)


FORMS = {
    "docx": lambda text: forms.to_docx(text),
    "pdf": lambda text: forms.to_pdf(text),
    "html-utf8": lambda text: forms.to_html(text),
    "html-gbk": lambda text: forms.to_html(text, encoding="gbk"),
    "html-gb2312": lambda text: forms.to_html(text, encoding="gb2312"),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_jinan_regulation_reads_the_same_in_every_form(plain, form):
    source = read_regulation_bytes(FORMS[form](SEED))
    assert source.format == form.split("-")[0]
    assert reading(source.text) == plain
    assert sum(1 for c in plain[4] if c[3] == "duty") == 57


def test_the_pdf_under_test_has_wrapped_lines_headers_and_page_numbers():
    data = forms.to_pdf(SEED)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        raw = "\n".join(page.extract_text() for page in pdf.pages)
        pages = len(pdf.pages)
    assert pages > 5
    assert raw.count(forms.RUNNING_HEADER) == pages and "— 3 —" in raw
    text = read_regulation_bytes(data).text
    assert forms.RUNNING_HEADER not in text and "— 3 —" not in text
    # Every block of the text is one line again, however many lines it took on the page.
    squeezed = {re.sub(r"\s", "", line) for line in text.splitlines()}
    blocks = [re.sub(r"\s", "", line) for _, line in forms.blocks(SEED)]
    wrapped = [block for block in blocks if block not in {re.sub(r"\s", "", line) for line in raw.splitlines()}]
    assert len(wrapped) > 40
    assert all(block in squeezed for block in blocks)


def test_a_paragraph_cut_by_a_page_break_is_joined():
    long_paragraph = "第二条 市人民政府应当" + "加强数据基础设施建设，" * 120 + "推动发展。"
    text = f"# 某市条例\n\n第一条 为了测试，制定本条例。\n\n{long_paragraph}\n\n第三条 本条例自公布之日起施行。\n"
    data = forms.to_pdf(text)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) >= 2
    article = parse_regulation(read_regulation_bytes(data).text).article(2)
    assert len(article.paragraphs) == 1 and article.paragraphs[0].text.endswith("推动发展。")


def test_a_scanned_pdf_gets_a_clear_message():
    with pytest.raises(RegulationFormatError) as excinfo:
        read_regulation_bytes(forms.to_pdf(SHORT, with_text_layer=False))
    assert "扫描件" in excinfo.value.args[0] and "OCR" in excinfo.value.args[0]


def test_an_encrypted_pdf_gets_a_clear_message():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(forms.to_pdf(SHORT))).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(RegulationFormatError) as excinfo:
        read_regulation_bytes(out.getvalue())
    assert "加密" in excinfo.value.args[0]


def test_the_charset_comes_from_the_meta_tag():
    # 镕 is in GBK but not in GB2312: pages labelled gb2312 are read as GB18030, their superset.
    text = SHORT.replace("某市数据条例", "某市镕数据条例")
    page = forms.to_html(text, encoding="gbk").replace(b"charset=gbk", b"charset=gb2312")
    assert read_regulation_bytes(page).text.splitlines()[0] == "某市镕数据条例"
    utf8 = forms.to_html(text).replace(b"charset=utf-8", b"charset=UTF-8")
    assert reading(read_regulation_bytes(utf8).text) == reading(text)


def test_navigation_footer_and_scripts_are_not_the_law():
    text = read_regulation_bytes(forms.to_html(SHORT)).text
    for noise in ("首页", "第一条 不是正文", "第一条新闻", "分享到", "鲁ICP备", "var nav"):
        assert noise not in text
    assert text.splitlines()[0] == "某市数据条例"


def test_the_title_outside_the_content_element_is_kept():
    page = (
        "<html><head><meta charset='utf-8'><title>某市数据条例_法规库</title></head><body>"
        "<h1>某市数据条例</h1><div class='nav'>首页</div><div id='content'>"
        "<p>第一条 为了规范数据管理，制定本条例。</p><p>第二条 市人民政府应当加强领导。</p></div></body></html>"
    ).encode()
    assert parse_regulation(read_regulation_bytes(page).text).title == "某市数据条例"


def test_a_docx_keeps_its_paragraphs_as_lines():
    text = read_regulation_bytes(forms.to_docx(SHORT)).text
    assert text.splitlines()[:2] == ["某市数据条例", "第一章 总则"]
    assert reading(text) == reading(SHORT)


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".doc"),
        (b"PK\x03\x04" + b"\x00" * 100, "Word"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        (b"<html><body><p>hello</p></body></html>", "第X条"),
        (b"", "空"),
    ],
    ids=["old-word", "zip-not-docx", "broken-pdf", "page-without-law", "empty"],
)
def test_unreadable_files_get_clear_chinese_errors(data, fragment):
    with pytest.raises(RegulationFormatError) as excinfo:
        read_regulation_bytes(data)
    assert fragment in excinfo.value.args[0] and CJK.search(excinfo.value.args[0])


def test_a_zip_that_is_not_a_word_file():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "第一条 你好。")
    with pytest.raises(RegulationFormatError) as excinfo:
        read_regulation_bytes(out.getvalue())
    assert excinfo.value.args[0] == readers.MSG_NOT_DOCX


def test_the_form_comes_from_the_content_not_the_name(tmp_path):
    misnamed = tmp_path / "regulation.txt"
    misnamed.write_bytes(forms.to_pdf(SHORT))
    assert read_regulation_source(misnamed).format == "pdf"
    with pytest.raises(RegulationFormatError) as excinfo:
        read_regulation_source(tmp_path / "missing.pdf")
    assert "无法读取文件" in excinfo.value.args[0]


# ---------------------------------------------------------------------------------------------
# Fuzzing: broken Word, PDF and HTML files; a RegulationFormatError every time, never a traceback
# ---------------------------------------------------------------------------------------------

SAMPLES = {
    "docx": forms.to_docx(SHORT),
    "pdf": forms.to_pdf(SHORT),
    "html": forms.to_html(SHORT, encoding="gbk"),
}


def read_and_parse(data: bytes) -> None:
    try:
        parse_regulation(read_regulation_bytes(data).text)
    except RegulationFormatError as exc:
        assert CJK.search(exc.args[0]), exc.args[0]


@st.composite
def damaged(draw, form):
    data = bytearray(SAMPLES[form])
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        start = draw(st.integers(0, len(data)))
        data[start:start] = draw(st.binary(max_size=64))
    return bytes(data)


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(damaged("docx"))
def test_fuzz_broken_word_files(data):
    read_and_parse(data)


@FUZZ
@given(damaged("pdf"))
def test_fuzz_broken_pdfs(data):
    read_and_parse(data)


@FUZZ
@given(damaged("html"))
def test_fuzz_broken_web_pages(data):
    read_and_parse(data)


@FUZZ
@given(st.binary(max_size=2048).map(lambda tail: b"%PDF-1.4\n" + tail))
def test_fuzz_anything_that_claims_to_be_a_pdf(data):
    read_and_parse(data)


@FUZZ
@given(st.text(max_size=400).map(lambda body: f"<html><meta charset='gbk'><body>{body}</body></html>".encode()))
def test_fuzz_web_pages_with_any_markup(data):
    read_and_parse(data)
