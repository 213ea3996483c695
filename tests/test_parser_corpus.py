"""Regulations other than Jinan's: what the parser must find in each, written by hand.

The texts are in tests/corpus/ (sources in SOURCES.md). Each has its own registry, naming its
governments the canonical way (省人民政府, 市人民政府, 区县人民政府) so that every way a law writes a
list of governments resolves. No database, no Django.
"""

from pathlib import Path

import pytest

from regulations.parser import Registry, extract_clauses, extract_remits, parse_regulation, read_regulation_file

CORPUS = Path(__file__).resolve().parent / "corpus"

PROVINCE = {
    "省人民政府": ["P-GOV"],
    "县级以上人民政府": ["P-GOV", "P-LOCAL"],
    "县级以上地方人民政府": ["P-GOV", "P-LOCAL"],
    "经济和信息化": ["P-JXT"],
}
CITY = {
    "市人民政府": ["C-GOV"],
    "市政府": ["C-GOV"],
    "区县人民政府": ["C-DIST"],
    "经济和信息化": ["C-JXJ"],
    "数字经济主管部门": ["C-SZJ"],
    "发展改革": ["C-FGW"],
    "财政": ["C-CZJ"],
    "统计": ["C-TJJ"],
}

# file -> (registry, {article: paragraph count}, clauses, remits)
# clause: (article, paragraph, ordinal, kind, subject, departments, unresolved)
# remit: (article, paragraph, departments, unresolved)
TEXTS = {
    "shanghai-data-2021.txt": (
        CITY,
        {1: 1, 2: 1, 3: 1, 4: 2, 5: 1},
        [
            (4, 1, 1, "duty", "市人民政府", ["C-GOV"], []),
            (4, 2, 1, "duty", "区人民政府", ["C-DIST"], []),
        ],
        [(5, 1, [], ["市政府办公厅"])],  # a public body the registry lacks: reported, not dropped
    ),
    "zhejiang-digital-economy-2020.txt": (
        PROVINCE,
        {1: 1, 2: 2, 3: 1, 4: 2},
        [
            (3, 1, 1, "principle", "发展数字经济是本省经济社会发展的重要战略", [], []),
            (4, 1, 1, "duty", "县级以上人民政府", ["P-GOV", "P-LOCAL"], []),
            (4, 2, 1, "duty", "县级以上人民政府", ["P-GOV", "P-LOCAL"], []),
        ],
        [],
    ),
    "jiangsu-digital-economy-draft-2021.txt": (
        PROVINCE,
        {1: 1, 2: 2, 3: 1, 4: 1},
        [
            (3, 1, 1, "principle", "数字经济发展", [], []),
            (4, 1, 1, "duty", "县级以上地方人民政府", ["P-GOV", "P-LOCAL"], []),
        ],
        [],
    ),
    "beijing-digital-economy-draft.txt": (
        CITY,
        {1: 1, 2: 2, 3: 1, 4: 1, 5: 3},
        [(3, 1, 1, "principle", "促进数字经济", [], [])],
        [
            (5, 1, ["C-JXJ"], []),
            # "…或者区人民政府确定的其他部门": a body chosen later, for a person to name.
            (5, 2, ["C-JXJ"], ["区人民政府确定的其他部门"]),
        ],
    ),
    "shijiazhuang-digital-economy-2023.txt": (
        CITY,
        {1: 1, 2: 1, 3: 1, 4: 1, 5: 1},
        [
            (3, 1, 1, "principle", "促进数字经济发展", [], []),
            (4, 1, 1, "duty", "市、县（市、区）人民政府", ["C-GOV", "C-DIST"], []),
        ],
        [(5, 1, ["C-SZJ"], [])],
    ),
    "guizhou-big-data-2016.txt": (
        PROVINCE,
        {1: 1, 2: 2, 3: 1, 4: 1, 5: 2},
        [
            (2, 1, 1, "principle", "本省行政区域内大数据发展应用及其相关活动", [], []),
            (3, 1, 1, "principle", "大数据发展应用", [], []),
            (5, 2, 1, "duty", "县级以上人民政府", ["P-GOV", "P-LOCAL"], []),
        ],
        # 市、州和县级人民政府负责…: the province's registry names no city or county government.
        [(5, 1, [], ["市、州和县级人民政府"])],
    ),
    "guangdong-digital-economy-2021.txt": (
        PROVINCE,
        {1: 1, 2: 2, 3: 1, 4: 1, 5: 1},
        [
            (3, 1, 1, "principle", "数字经济发展", [], []),
            (5, 1, 1, "duty", "县级以上人民政府", ["P-GOV", "P-LOCAL"], []),
        ],
        [],
    ),
    "neimenggu-digital-economy-2024.txt": (
        PROVINCE,
        {1: 1, 2: 2, 3: 2},
        [
            (3, 1, 1, "principle", "发展数字经济", [], []),
            (3, 2, 1, "principle", "发展数字经济", [], []),
        ],
        [],
    ),
    "constructed-forms.txt": (
        CITY,
        {2: 2, 11: 1, 12: 1},
        [
            (2, 1, 1, "duty", "市和区、县（市）人民政府", ["C-GOV", "C-DIST"], []),
            (2, 2, 1, "duty", "区、县（市）人民政府", ["C-DIST"], []),
            (3, 1, 1, "duty", "各级人民政府", ["C-GOV", "C-DIST"], []),
            (4, 1, 1, "duty", "市、区人民政府及其有关部门", ["C-GOV", "C-DIST"], []),
            (5, 1, 1, "duty", "市经济与信息化主管部门", ["C-JXJ"], []),
            (6, 1, 1, "duty", "市大数据中心", [], ["市大数据中心"]),
            (7, 1, 1, "duty", "大数据管理机构", [], ["大数据管理机构"]),
            (8, 1, 1, "duty", "浦东新区", [], ["浦东新区"]),
            (9, 1, 1, "duty", "市政府办公厅", [], ["市政府办公厅"]),
            (10, 1, 1, "duty", "社会保险经办机构", [], ["社会保险经办机构"]),
            (11, 1, 1, "duty", "市人民政府有关部门", ["C-GOV"], []),
            (11, 1, 2, "duty", "市发展改革部门", ["C-FGW"], []),
            (11, 1, 3, "duty", "市财政部门", ["C-CZJ"], []),
            (12, 1, 1, "general", "有关部门", [], []),
            (12, 1, 2, "duty", "市大数据中心", [], ["市大数据中心"]),
            (12, 1, 3, "duty", "市财政部门", ["C-CZJ"], []),
            (12, 1, 4, "duty", "市统计部门", ["C-TJJ"], []),
        ],
        [],
    ),
}


def parsed(name):
    registry_phrases, *_ = TEXTS[name]
    reg = parse_regulation(read_regulation_file(CORPUS / name))
    return reg, Registry(registry_phrases)


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_clauses_of_each_text(name):
    reg, registry = parsed(name)
    _, _, expected, _ = TEXTS[name]
    found = [
        (c.article, c.paragraph, c.ordinal, c.kind, c.subject, c.departments, c.unresolved)
        for c in extract_clauses(reg, registry)
    ]
    assert found == expected


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_paragraphs_of_each_text(name):
    reg, _ = parsed(name)
    _, counts, _, _ = TEXTS[name]
    assert {number: len(reg.article(number).paragraphs) for number in counts} == counts


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_remits_of_each_text(name):
    reg, registry = parsed(name)
    _, _, _, expected = TEXTS[name]
    assert [(r.article, r.paragraph, r.departments, r.unresolved) for r in extract_remits(reg, registry)] == expected


def test_sections_sit_inside_their_chapter():
    reg, _ = parsed("constructed-forms.txt")
    assert [(c.number, c.title) for c in reg.chapters] == [(1, "总则"), (2, "公共数据"), (3, "附则")]
    chapter_of = {a.number: a.chapter_number for a in reg.articles}
    assert chapter_of[5] == chapter_of[10] == chapter_of[12] == 2  # 第一节 and 第二节 of 第二章
    assert chapter_of[13] == 3


def test_a_table_of_contents_with_sections_adds_no_chapter():
    text = (
        "目录\n第一章 总则\n第二章 数据\n第一节 一般规定\n第二节 共享\n"
        "第一章 总则\n第一条 为了……，制定本条例。\n第二章 数据\n第一节 一般规定\n第二条 市人民政府应当加强领导。\n"
    )
    reg = parse_regulation(text)
    assert [(c.number, c.title) for c in reg.chapters] == [(1, "总则"), (2, "数据")]
    assert [a.chapter_number for a in reg.articles] == [1, 2]


def test_unmarked_items_after_a_lead_in_are_items_not_paragraphs():
    reg, _ = parsed("constructed-forms.txt")
    article = reg.article(12)
    assert len(article.paragraphs) == 1
    items = article.paragraphs[0].items
    assert [(i.number, i.label) for i in items] == [(1, ""), (2, ""), (3, "")]
    assert items[2].text == "市统计部门应当开展统计监测。"
    marked = reg.article(11).paragraphs[0].items
    assert [i.label for i in marked] == ["（一）", "（二）", "（三）"]


def test_a_paragraph_after_the_last_item_is_a_new_paragraph():
    text = "第一条 市人民政府应当履行下列职责：\n制定规划；\n组织实施。\n市财政部门应当保障经费。\n"
    article = parse_regulation(text).article(1)
    assert len(article.paragraphs) == 2 and len(article.paragraphs[0].items) == 2
    assert article.paragraphs[1].text == "市财政部门应当保障经费。"


def test_a_lead_in_clause_carries_the_items_that_say_what_is_owed():
    reg, registry = parsed("constructed-forms.txt")
    lead_in = next(c for c in extract_clauses(reg, registry) if (c.article, c.ordinal) == (11, 1))
    assert lead_in.text == "市人民政府有关部门应当履行下列职责：\n（三）组织开展宣传。"


def test_a_condition_before_the_subject_is_not_the_subject():
    text = "第一条 公共管理和服务机构获取其他机构共享数据的，市大数据中心应当建立登记制度。\n"
    registry = Registry({"大数据": ["C-DSJ"], "市人民政府": ["C-GOV"]})
    (clause,) = extract_clauses(parse_regulation(text), registry)
    assert (clause.subject, clause.kind, clause.departments, clause.unresolved) == (
        "市大数据中心",
        "duty",
        [],
        ["市大数据中心"],  # "大数据" glued to 中心 is not the 大数据局
    )


@pytest.mark.parametrize(
    "subject, kind",
    [
        ("数据中心", "principle"),  # a building, not a body
        ("金融机构", "third_party"),
        ("医疗卫生机构", "third_party"),
        ("社会保险经办机构", "duty"),
    ],
)
def test_public_bodies_by_kind_and_third_parties_are_told_apart(subject, kind):
    (clause,) = extract_clauses(parse_regulation(f"第一条 {subject}应当做好相关工作。\n"), Registry({}))
    assert clause.kind == kind


def test_yu_inside_a_name_is_one_body_and_between_bodies_separates():
    registry = Registry({"经济和信息化": ["JX"], "财政": ["CZ"]})
    assert registry.resolve("经济与信息化主管部门").codes == ["JX"]
    assert registry.resolve("经济与信息化、财政部门").codes == ["JX", "CZ"]
    assert registry.resolve("财政与经济和信息化部门").codes == ["CZ", "JX"]
    unknown = Registry({}).resolve("市海洋与渔业部门")
    assert unknown.unresolved == ["市海洋与渔业部门"]  # as written, with its 与
