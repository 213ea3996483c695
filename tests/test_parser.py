"""The regulation parser: cleaning, structure, debris, bad input, reuse on another regulation, and
property-based checks that no input makes it fail in an unexpected way. No database, no Django."""

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regulations.parser import (
    Registry,
    RegulationFormatError,
    chinese_numeral_to_int,
    clean_text,
    extract_clauses,
    extract_remits,
    int_to_chinese_numeral,
    parse_regulation,
    read_regulation_file,
    split_sentences,
)
from regulations.registry import registry_from_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED = (FIXTURES / "jinan-digital-economy-promotion-2024.txt").read_text(encoding="utf-8")
REGISTRY = registry_from_file(FIXTURES / "departments.json")[0]  # the bodies and their classes
CJK = re.compile(r"[\u4e00-\u9fff]")
CJK_SPACE = re.compile(r"[^\x00-\x7f]\s|\s[^\x00-\x7f]")

# ---------------------------------------------------------------------------------------------
# Numerals and cleaning
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, number",
    [
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十四", 24),
        ("九十九", 99),
        ("一百", 100),
        ("一百零二", 102),
        ("一百一十", 110),
        ("一千零五", 1005),
        ("两百", 200),
        ("二〇二四", 2024),
        ("35", 35),
        ("第一百零二条", 102),
        ("一万零一十", 10010),
    ],
)
def test_chinese_numeral_to_int(text, number):
    assert chinese_numeral_to_int(text) == number


@pytest.mark.parametrize(
    "number, text",
    [
        (0, "零"),
        (1, "一"),
        (10, "十"),
        (11, "十一"),
        (20, "二十"),
        (24, "二十四"),
        (60, "六十"),
        (102, "一百零二"),
        (110, "一百一十"),
        (1005, "一千零五"),
        (10010, "一万零一十"),
        (100000, "十万"),
    ],
)
def test_int_to_chinese_numeral(number, text):
    assert int_to_chinese_numeral(number) == text


@given(st.integers(min_value=0, max_value=10**13))
def test_numerals_round_trip(number):
    assert chinese_numeral_to_int(int_to_chinese_numeral(number)) == number


@pytest.mark.parametrize("bad", ["", "条", "abc", "一x"])
def test_chinese_numeral_rejects_non_numerals(bad):
    with pytest.raises(ValueError):
        chinese_numeral_to_int(bad)


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("适 用本条例", "适用本条例"),
        ("领导, 建立健全", "领导，建立健全"),
        ("本条例自 2025 年 1 月 1 日起施行。", "本条例自2025年1月1日起施行。"),
        ("支持 IPv6 and 5G 网络", "支持IPv6 and 5G网络"),
        ("(2024年通过)", "（2024年通过）"),
        ("办法:如下;其他", "办法：如下；其他"),
        ("1,000 and 10:30", "1,000 and 10:30"),
        ("全角１２３ＡＢ", "全角123AB"),
        ("  两端\u3000空白\u200b ", "两端空白"),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_split_sentences_keeps_terminators():
    assert split_sentences("甲应当做。乙不得做；丙“可以。”丁") == ["甲应当做。", "乙不得做；", "丙“可以。”", "丁"]


# ---------------------------------------------------------------------------------------------
# Structure of the seed text
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed():
    return parse_regulation(SEED)


def test_title_and_preamble(seed):
    assert seed.title == "济南市数字经济促进条例"
    assert seed.preamble.startswith("（2024年10月22日济南市第十八届人民代表大会常务委员会")
    assert seed.preamble.endswith("第十二次会议批准）")
    assert not CJK_SPACE.search(seed.preamble)


def test_table_of_contents_does_not_duplicate_chapters(seed):
    assert [c.number for c in seed.chapters] == [1, 2, 3, 4, 5, 6, 7]
    assert seed.chapters[0].title == "总则" and seed.chapters[-1].title == "附则"


def test_articles_have_canonical_labels_and_no_label_in_the_text(seed):
    assert len(seed.articles) == 60
    art24 = seed.article(24)
    assert art24.label == "第二十四条" and art24.paragraphs[0].number == 1
    assert art24.paragraphs[0].text.startswith("工业和信息化等部门应当")
    assert art24.text == "\n".join(p.text for p in art24.paragraphs)
    assert seed.article(60).text == "本条例自2025年1月1日起施行。"
    assert not any(re.match(r"第\S{1,5}条", p.text) for a in seed.articles for p in a.paragraphs)


def test_no_debris_is_left(seed):
    for article in seed.articles:
        for paragraph in article.paragraphs:
            assert not CJK_SPACE.search(paragraph.text), paragraph.text
            assert "#" not in paragraph.text
            assert not re.search(r"[,;:()](?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])[,;:()]", paragraph.text)
    assert "适用本条例" in seed.article(2).text
    assert "领导，建立健全" in seed.article(4).text


@pytest.mark.parametrize(
    "article, fragment",
    [
        (8, "新技术基础设施、融合应用基础设施、信息安全基础设施等。"),  # page break after 、
        (14, "传统基础设施数字化、网络化、智能化改造。"),  # "#### 化、智能化改造。" is text
        (39, "提升数据流通和交易全流程服务能力。"),
        (50, "保障数字经济产业新业态从业人员的合法权益。"),
        (54, "不得利用数据、算法、流量、市场、资本优势"),
    ],
)
def test_page_breaks_are_joined(seed, article, fragment):
    assert fragment in seed.article(article).text


def test_a_full_stop_inside_a_line_is_not_a_paragraph_break(seed):
    (only,) = seed.article(47).paragraphs
    assert "价值实现。知识产权管理" in only.text
    assert "促进数字科技成果转化。对于涉及公共利益" in seed.article(17).paragraphs[1].text


def test_parsing_is_deterministic():
    first, second = parse_regulation(SEED), parse_regulation(SEED)
    assert first == second
    assert extract_clauses(first, REGISTRY) == extract_clauses(second, REGISTRY)


# ---------------------------------------------------------------------------------------------
# Debris and structure on small synthetic texts
# ---------------------------------------------------------------------------------------------


def test_hash_lines_headings_and_continuations():
    text = "\n\n".join(
        [
            "# 某市条例",
            "（2024年 通过）",
            "# 目 录",
            "第一章 总 则",
            "第二章 附 则",
            "## 第一章 总 则",
            "第一条 第一句没有结束,",
            "#### 继续第一句。",
            "第二条 本条第一款。",
            "第二款。",
            "### 第二章 附 则",
            "第三条 本条例自 2025 年 1 月 1 日起施行。",
        ]
    )
    reg = parse_regulation(text)
    assert reg.title == "某市条例"
    assert reg.preamble == "（2024年通过）"
    assert [(c.number, c.title) for c in reg.chapters] == [(1, "总则"), (2, "附则")]
    assert [a.chapter_number for a in reg.articles] == [1, 1, 2]
    assert reg.article(1).text == "第一句没有结束，继续第一句。"
    assert [p.text for p in reg.article(2).paragraphs] == ["本条第一款。", "第二款。"]


def test_a_cross_reference_at_the_start_of_a_wrapped_line_is_not_an_article():
    text = "第一条 依照本条例\n第三条规定的程序办理。\n第二条 本条例自公布之日起施行。"
    reg = parse_regulation(text)
    assert [a.number for a in reg.articles] == [1, 2]
    assert reg.article(1).text == "依照本条例第三条规定的程序办理。"


def test_a_repeated_or_backwards_article_number_is_text_not_a_new_article():
    reg = parse_regulation("第一条 甲。\n第一条 乙。\n第三条 丙。\n第二条 丁。\n第四条 戊。")
    assert [a.number for a in reg.articles] == [1, 3, 4]
    assert [p.text for p in reg.article(1).paragraphs] == ["甲。", "第一条乙。"]
    assert [p.text for p in reg.article(3).paragraphs] == ["丙。", "第二条丁。"]
    # A damaged heading that reads as an article does not duplicate the real 第一条.
    damaged = parse_regulation("第一条章 总则\n第一条 甲。\n第二条 乙。")
    assert [a.number for a in damaged.articles] == [1, 2]


def test_an_article_label_on_its_own_line():
    reg = parse_regulation("第一条\n为了规范管理，制定本办法。\n第二条\n本办法自公布之日起施行。")
    assert [len(a.paragraphs) for a in reg.articles] == [1, 1]
    assert reg.article(1).text == "为了规范管理，制定本办法。"


def test_items_belong_to_the_paragraph_before_them():
    text = (
        "第一条 县级以上人民政府应当履行下列职责：\n"
        "（一）编制发展规划；\n"
        "(二)统筹 推进\n"
        "重大项目。\n"
        "前款规定的职责由市人民政府统一部署。\n"
        "第二条 本条例自公布之日起施行。"
    )
    reg = parse_regulation(text)
    article = reg.article(1)
    assert len(article.paragraphs) == 2
    first = article.paragraphs[0]
    assert first.text == "县级以上人民政府应当履行下列职责："
    assert [(i.number, i.label, i.text) for i in first.items] == [
        (1, "（一）", "编制发展规划；"),
        (2, "（二）", "统筹推进重大项目。"),
    ]
    assert article.paragraphs[1].items == []
    assert article.text.splitlines()[1:3] == ["（一）编制发展规划；", "（二）统筹推进重大项目。"]


def test_a_second_shall_inherits_a_left_out_subject():
    registry = Registry.from_bodies([{"code": "CZ", "name": "财政局", "phrases": ["财政部门"]}])
    reg = parse_regulation("第一条 财政部门应当编制预算；发现问题时，应当及时处理，并应当报告。")
    clauses = extract_clauses(reg, registry)
    assert [(c.ordinal, c.subject, c.departments) for c in clauses] == [
        (1, "财政部门", ["CZ"]),
        (2, "财政部门", ["CZ"]),
        (3, "财政部门", ["CZ"]),
    ]


# ---------------------------------------------------------------------------------------------
# Resolution
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject, codes",
    [
        ("工业和信息化、科学技术等部门", ["JN-GXJ", "JN-KJJ"]),
        ("公安机关交通管理等部门", ["JN-JJZD"]),
        ("交通运输部门", ["JN-JTYSJ"]),
        ("地方金融管理部门", ["JN-JRJ"]),
        ("知识产权管理、司法行政等部门和人民法院", ["JN-SCJGJ", "JN-SFJ", "JN-ZY"]),
        ("市人民政府及其部门", ["JN-GOV"]),
        ("县级以上人民政府大数据部门", ["JN-DSJ"]),  # a department of a government: only the department
        ("有关部门", []),
        ("金融机构", []),  # a field of work glued to another noun is not a body
        ("电子商务企业", []),
    ],
)
def test_resolve(subject, codes):
    resolution = REGISTRY.resolve(subject)
    assert resolution.codes == codes
    assert resolution.unresolved == []


def test_group_phrases_resolve_to_the_city_and_every_district():
    for subject in ("市、区县人民政府及其有关部门", "市、区县人民政府相关部门"):
        codes = REGISTRY.resolve(subject).codes
        assert len(codes) == 13 and codes[0] == "JN-GOV" and codes[-1] == "JN-SHANGHE"
    assert len(REGISTRY.resolve("区县人民政府").codes) == 12


def test_unknown_bodies_are_reported_never_guessed():
    assert REGISTRY.resolve("市海洋渔业部门").unresolved == ["市海洋渔业部门"]
    assert REGISTRY.resolve("市人民政府办公厅").codes == []  # not the city government itself
    assert REGISTRY.resolve("市人民政府办公厅").unresolved == ["市人民政府办公厅"]
    mixed = REGISTRY.resolve("网信、海洋渔业等部门")
    assert mixed.codes == ["JN-WXB"] and mixed.unresolved == ["海洋渔业"]


def test_zones_without_phrases_never_match():
    zones = {"JN-GXQ", "JN-QBQ", "JN-NBSQ"}
    assert not zones & {code for codes in REGISTRY.phrases.values() for code in codes}


# ---------------------------------------------------------------------------------------------
# Another regulation of the same form, with its own registry: no code change
# ---------------------------------------------------------------------------------------------

PROVINCE_TEXT = """# 某省数字经济促进条例

（2023年9月1日某省第十四届人民代表大会常务委员会第五次会议通过）

第一章 总 则

第一条 为了促进数字经济发展,根据有关法律、行政法规,结合本省实际,制定本条例。

第二条 县级以上人民政府应当加强对数字经济工作的领导,将其纳入国民经济和社会发展规划。

第三条 省经济和信息化主管部门应当会同省财政部门制定数字经济专项资金管理办法。

省人民政府发展改革部门负责数字经济重大项目的统筹协调。

第四条 省海洋渔业部门应当推进渔业数字化。

第五条 各级人民政府应当加强宣传。任何单位和个人不得破坏数字基础设施。

第二章 附 则

第六条 本条例自 2024 年 1 月 1 日起施行。
"""

PROVINCE_BODIES = [
    {"code": "P-GOV", "name": "某省人民政府", "phrases": ["省人民政府"]},
    {"code": "P-COUNTY", "name": "县级以上人民政府", "phrases": ["县级以上人民政府"]},
    {"code": "P-JXT", "name": "某省经济和信息化厅", "phrases": ["经济和信息化主管部门", "经济和信息化"]},
    {"code": "P-CZT", "name": "某省财政厅", "phrases": ["财政部门", "财政"]},
    {"code": "P-FGW", "name": "某省发展和改革委员会", "phrases": ["发展改革部门", "发展改革"]},
    {"code": "P-ZONE", "name": "某开发区", "phrases": []},
]


def test_another_regulation_with_its_own_registry():
    registry = Registry.from_bodies(PROVINCE_BODIES)
    reg = parse_regulation(PROVINCE_TEXT)
    assert reg.title == "某省数字经济促进条例"
    assert [(c.number, c.title) for c in reg.chapters] == [(1, "总则"), (2, "附则")]
    clauses = {(c.article, c.paragraph, c.ordinal): c for c in extract_clauses(reg, registry)}

    county = clauses[(2, 1, 1)]
    assert (county.kind, county.departments) == ("duty", ["P-COUNTY"])
    lead = clauses[(3, 1, 1)]
    assert lead.subject == "省经济和信息化主管部门"
    assert (lead.kind, lead.departments, lead.cooperating) == ("duty", ["P-JXT"], ["P-CZT"])

    unknown = clauses[(4, 1, 1)]
    assert unknown.kind == "duty" and unknown.departments == [] and unknown.unresolved == ["省海洋渔业部门"]

    # 各级人民政府: every government the registry names by its level (here only 省人民政府).
    assert clauses[(5, 1, 1)].kind == "duty" and clauses[(5, 1, 1)].departments == ["P-GOV"]
    prohibition = clauses[(5, 1, 2)]
    assert (prohibition.kind, prohibition.subject, prohibition.departments) == ("prohibition", "任何单位和个人", [])

    remits = extract_remits(reg, registry)
    assert [(r.article, r.paragraph, r.departments) for r in remits] == [(3, 2, ["P-FGW"])]


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def assert_chinese_message(excinfo, fragment):
    message = excinfo.value.args[0]
    assert fragment in message and CJK.search(message)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "空"),
        ("  \n\t\u3000\n", "空"),
        ("<!DOCTYPE html><html><body><p>第一条 测试</p></body></html>", "HTML"),
        ("<html lang='zh'>第一条 测试</html>", "HTML"),
        ("<div><p>第一条 测试</p><p>第二条</p><br></div>", "HTML"),
        ("这是一段没有条文的文字。\n第一章 总则\n", "第X条"),
    ],
    ids=["empty", "whitespace", "doctype", "html", "tags", "no-articles"],
)
def test_parse_rejects_what_is_not_a_regulation(text, fragment):
    with pytest.raises(RegulationFormatError) as excinfo:
        parse_regulation(text)
    assert_chinese_message(excinfo, fragment)


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "空"),
        (b"  \n", "空"),
        ("第一条 测试".encode("gbk"), "UTF-8"),
        ("第一条 测试".encode("utf-16-le"), "UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "UTF-8"),
    ],
    ids=["empty", "whitespace", "gbk", "utf16", "binary"],
)
def test_read_rejects_files_that_are_not_utf8_text(tmp_path, content, fragment):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(RegulationFormatError) as excinfo:
        read_regulation_file(path)
    assert_chinese_message(excinfo, fragment)


def test_read_accepts_a_bom_and_reports_a_missing_file(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff第一条 测试。".encode())
    assert read_regulation_file(str(path)) == "第一条 测试。"
    with pytest.raises(RegulationFormatError) as excinfo:
        read_regulation_file(tmp_path / "missing.txt")
    assert_chinese_message(excinfo, "无法读取")


# ---------------------------------------------------------------------------------------------
# Properties: never fail in an unexpected way
# ---------------------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEGAL_ALPHABET = st.sampled_from(
    list(
        "第一二三四五十百零条章节款项（）()、，,。；;：:！？ \n\t#<>应当不得负责会同组织部门市区县人民政府"
        "工业和信息化大数据公安机关交通管理等有关单位企业个人发现从事在的时"
    )
)


def parse_and_extract(text: str) -> None:
    try:
        reg = parse_regulation(text)
    except RegulationFormatError as exc:
        assert exc.args and isinstance(exc.args[0], str) and CJK.search(exc.args[0])
        return
    assert reg.articles
    numbers = [a.number for a in reg.articles]
    assert numbers == sorted(set(numbers)), "article numbers must be unique and increasing"
    assert len({c.number for c in reg.chapters}) == len(reg.chapters)
    for article in reg.articles:
        assert article.label == f"第{int_to_chinese_numeral(article.number)}条"
        assert [p.number for p in article.paragraphs] == list(range(1, len(article.paragraphs) + 1))
    for clause in extract_clauses(reg, REGISTRY):
        assert clause.kind in {"duty", "third_party", "principle", "general", "prohibition"}
        assert clause.ordinal >= 1 and len(clause.subject) <= 300
        assert clause.kind == "duty" or clause.kind == "prohibition" or clause.departments == []
    extract_remits(reg, REGISTRY)


@PROPERTY_SETTINGS
@given(st.text())
def test_any_text(text):
    parse_and_extract(text)


@PROPERTY_SETTINGS
@given(st.text(alphabet=LEGAL_ALPHABET, max_size=400))
def test_text_made_of_legal_words(text):
    parse_and_extract(text)


@PROPERTY_SETTINGS
@given(st.integers(min_value=0, max_value=len(SEED)), st.integers(min_value=0, max_value=len(SEED)))
def test_any_slice_of_the_seed(start, length):
    parse_and_extract(SEED[start : start + length])


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(SEED)),
            st.sampled_from([" ", "  ", "#", "#### ", "\n", "\n\n", "\u3000", ",", "(", "）"]),
        ),
        max_size=40,
    )
)
def test_the_seed_with_random_debris(insertions):
    text = SEED
    for position, debris in sorted(insertions, reverse=True):
        text = text[:position] + debris + text[position:]
    parse_and_extract(text)


@PROPERTY_SETTINGS
@given(st.text(max_size=60))
def test_resolve_any_subject(subject):
    resolution = REGISTRY.resolve(subject)
    assert len(resolution.codes) == len(set(resolution.codes))
