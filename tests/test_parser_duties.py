"""Article by article: what the parser must find in 济南市数字经济促进条例.

The tables below were written by hand from the text of the regulation, not generated from the
parser's output. No database, no Django.
"""

from collections import Counter
from pathlib import Path

import pytest

from regulations.parser import extract_clauses, extract_remits, parse_regulation, read_regulation_file
from regulations.registry import registry_from_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED_TEXT = FIXTURES / "jinan-digital-economy-promotion-2024.txt"
REGISTRY_FILE = FIXTURES / "departments.json"

DISTRICTS = [
    "JN-LIXIA",
    "JN-SHIZHONG",
    "JN-HUAIYIN",
    "JN-TIANQIAO",
    "JN-LICHENG",
    "JN-CHANGQING",
    "JN-ZHANGQIU",
    "JN-JIYANG",
    "JN-LAIWU",
    "JN-GANGCHENG",
    "JN-PINGYIN",
    "JN-SHANGHE",
]
GOV13 = ["JN-GOV", *DISTRICTS]  # 市、区县人民政府: the city, then the districts in registry order
GOV = ["JN-GOV"]
GXJ, FGW, DSJ, KJJ, WXB = "JN-GXJ", "JN-FGW", "JN-DSJ", "JN-KJJ", "JN-WXB"
JRJ, JYJ, GAJ, JJZD, RSJ = "JN-JRJ", "JN-JYJ", "JN-GAJ", "JN-JJZD", "JN-RSJ"
ZJJ, JTYSJ, NYNCJ, SWJ, WHLYJ = "JN-ZJJ", "JN-JTYSJ", "JN-NYNCJ", "JN-SWJ", "JN-WHLYJ"
WJW, YBJ, SCJGJ, TJJ, SFJ, YZJ, ZY = "JN-WJW", "JN-YBJ", "JN-SCJGJ", "JN-TJJ", "JN-SFJ", "JN-YZJ", "JN-ZY"

# (article, paragraph, ordinal, responsible in order of appearance, cooperating)
DUTIES = [
    (4, 1, 1, GOV13, []),
    (6, 1, 1, GOV13, []),
    (9, 1, 1, GOV, [DSJ]),  # 市人民政府应当组织大数据等有关部门…
    (10, 1, 1, [GXJ], []),  # 会同有关部门: a class, not a body
    (11, 1, 1, [DSJ], []),
    (12, 1, 1, [DSJ], []),
    (13, 1, 1, [GXJ], []),
    (14, 1, 1, [DSJ], []),
    (16, 1, 1, GOV13, []),
    (17, 1, 1, GOV, []),
    (18, 1, 1, [GXJ], []),
    (19, 1, 1, [GXJ, KJJ], []),
    (20, 1, 1, [FGW], [GXJ, KJJ]),
    (21, 1, 1, [GXJ, KJJ], []),
    (22, 1, 1, GOV13, []),
    (23, 1, 1, GOV13, []),
    (24, 1, 1, [GXJ], []),
    (24, 2, 1, [GXJ], []),
    (25, 1, 1, [NYNCJ], []),
    (25, 2, 1, [NYNCJ, WHLYJ], []),
    (26, 1, 1, [ZJJ], []),
    (27, 1, 1, GOV13, []),
    (27, 2, 1, [WHLYJ], []),
    (27, 3, 1, [SWJ], []),
    (28, 1, 1, [JRJ, KJJ, GXJ], []),
    (29, 1, 1, GOV13, []),
    (30, 1, 1, GOV13, []),
    (31, 1, 1, [JTYSJ], [JJZD]),  # 公安机关交通管理 beats 公安
    (32, 1, 1, [WJW, YBJ], []),
    (33, 1, 1, [JYJ], []),
    (34, 1, 1, GOV13, []),
    (35, 1, 1, GOV, []),  # 市人民政府及其部门
    (35, 2, 1, [DSJ], []),
    (37, 1, 1, [DSJ], []),  # the first sentence (可以) is not a clause
    (39, 1, 1, [DSJ], []),
    (41, 1, 1, GOV13, []),
    (41, 2, 1, [WXB, GAJ, GXJ, DSJ], []),
    (42, 2, 1, [WXB, GAJ], []),  # 网信、公安等部门发现…时，应当督促
    (43, 1, 1, GOV13, []),
    (44, 1, 1, GOV, []),
    (45, 1, 1, GOV13, []),
    (46, 1, 1, [JRJ], []),  # 地方金融管理部门
    (47, 1, 1, GOV13, []),
    (47, 1, 2, [SCJGJ, SFJ, ZY], []),  # 知识产权管理、司法行政等部门和人民法院
    (48, 1, 1, GOV13, []),
    (48, 2, 1, GOV13, []),
    (49, 1, 1, GOV13, []),
    (50, 1, 1, [RSJ, SWJ, GXJ, JTYSJ, YZJ, SCJGJ], []),
    (51, 1, 1, GOV13, []),
    (52, 1, 1, GOV13, []),
    (53, 1, 1, GOV13, []),
    (53, 2, 1, [GXJ, DSJ, SCJGJ], []),  # 应当组织企业…: enterprises are not cooperating bodies
    (54, 3, 1, [FGW, SCJGJ, WXB], []),
    (55, 1, 1, GOV13, []),  # 市、区县人民政府相关部门
    (56, 1, 1, [TJJ], []),
    (57, 1, 1, GOV13, []),
    (58, 1, 1, GOV13, []),
]

# (article, paragraph, ordinal, kind, subject): clauses that bind no department.
NOT_DUTIES = [
    (3, 1, 1, "principle", "数字经济发展"),
    (15, 1, 1, "third_party", "建设项目的建设单位、所有人、管理人或者使用人"),
    (15, 2, 1, "prohibition", "任何组织、个人"),
    (
        36,
        1,
        1,
        "general",
        "国家机关、具有公共服务职能的企业事业单位、人民团体以及法律法规授权的具有管理公共事务职能的组织等",
    ),
    (40, 1, 1, "general", "各行业主管部门"),
    (42, 1, 1, "third_party", "任何单位、企业和个人"),
    (45, 1, 2, "third_party", "国有企业和事业单位"),
    (54, 2, 1, "third_party", "平台企业"),
]

PARAGRAPH_COUNTS = {
    2: 2,
    5: 6,
    8: 1,
    14: 1,
    15: 2,
    17: 2,
    27: 3,
    37: 3,
    39: 1,
    41: 3,
    47: 1,
    50: 1,
    54: 3,
    58: 2,
    59: 1,
    60: 1,
}

CHAPTERS = [
    (1, "第一章", "总则", 1),
    (2, "第二章", "数字基础设施建设", 8),
    (3, "第三章", "数字产业化与产业数字化", 16),
    (4, "第四章", "政务与公共服务数字化", 29),
    (5, "第五章", "数据开发利用与保护", 35),
    (6, "第六章", "保障与监督", 43),
    (7, "第七章", "附则", 60),
]


@pytest.fixture(scope="module")
def registry():
    return registry_from_file(REGISTRY_FILE)[0]  # the bodies and their classes


@pytest.fixture(scope="module")
def reg():
    return parse_regulation(read_regulation_file(SEED_TEXT))


@pytest.fixture(scope="module")
def clauses(reg, registry):
    return extract_clauses(reg, registry)


@pytest.fixture(scope="module")
def by_position(clauses):
    positions = {(c.article, c.paragraph, c.ordinal): c for c in clauses}
    assert len(positions) == len(clauses), "two clauses share a position"
    return positions


def test_the_tables_are_what_the_brief_counts():
    assert len(DUTIES) == 57
    assert Counter(kind for *_, kind, _ in NOT_DUTIES) == {
        "third_party": 4,
        "general": 2,
        "principle": 1,
        "prohibition": 1,
    }


@pytest.mark.parametrize(
    "article, paragraph, ordinal, responsible, cooperating", DUTIES, ids=[f"{a}-{p}-{o}" for a, p, o, *_ in DUTIES]
)
def test_duty(by_position, article, paragraph, ordinal, responsible, cooperating):
    clause = by_position[(article, paragraph, ordinal)]
    assert clause.kind == "duty"
    assert clause.departments == responsible
    assert clause.cooperating == cooperating
    assert clause.unresolved == []
    assert "应当" in clause.text


@pytest.mark.parametrize(
    "article, paragraph, ordinal, kind, subject", NOT_DUTIES, ids=[f"{a}-{p}-{o}" for a, p, o, *_ in NOT_DUTIES]
)
def test_clause_binding_no_department(by_position, article, paragraph, ordinal, kind, subject):
    clause = by_position[(article, paragraph, ordinal)]
    assert clause.kind == kind
    assert clause.subject == subject
    assert clause.departments == []
    assert clause.unresolved == []


def test_every_clause_is_in_one_table(clauses):
    listed = {(a, p, o) for a, p, o, *_ in DUTIES} | {(a, p, o) for a, p, o, *_ in NOT_DUTIES}
    assert {(c.article, c.paragraph, c.ordinal) for c in clauses} == listed


def test_counts(clauses):
    kinds = Counter(c.kind for c in clauses)
    assert kinds == {"duty": 57, "third_party": 4, "principle": 1, "general": 2, "prohibition": 1}
    assert sum(1 for c in clauses if "应当" in c.text) == 64
    raw = SEED_TEXT.read_text(encoding="utf-8")
    assert raw.count("应当") == 63 and raw.count("应 当") == 1


def test_the_shall_written_with_a_space_is_found(by_position):
    clause = by_position[(42, 1, 1)]
    assert clause.text.startswith("任何单位、企业和个人从事数据处理活动，应当遵守法律、法规")
    assert "应 当" not in clause.text


def test_a_sentence_with_two_clauses_is_split(by_position):
    first, second = by_position[(47, 1, 1)], by_position[(47, 1, 2)]
    assert first.subject == "市、区县人民政府" and first.text.endswith("知识产权价值实现。")
    assert second.subject == "知识产权管理、司法行政等部门和人民法院"
    assert second.text.startswith("知识产权管理") and second.text.endswith("侵权行为。")
    assert by_position[(45, 1, 2)].text.startswith("国有企业和事业单位应当积极参与")


def test_subjects_are_cut_before_conditions(by_position):
    assert by_position[(42, 2, 1)].subject == "网信、公安等部门"
    assert by_position[(42, 1, 1)].subject == "任何单位、企业和个人"
    assert by_position[(41, 2, 1)].subject == "网信、公安、工业和信息化、大数据等部门"


def test_sentences_without_shall_are_not_clauses(by_position):
    assert not any(article == 44 and paragraph == 2 for article, paragraph, _ in by_position)  # 区县人民政府根据…
    assert not any(article in (5, 7, 38, 59) for article, _, _ in by_position)  # 负责, 鼓励, 可以, 依法给予处分


def test_remits_of_article_5(reg, registry):
    remits = extract_remits(reg, registry)
    assert [(r.article, r.paragraph, r.departments) for r in remits] == [
        (5, 1, [GXJ]),
        (5, 2, [FGW]),
        (5, 3, [DSJ]),
        (5, 4, [KJJ]),
        (5, 5, [WXB]),
    ]
    assert remits[0].subject == "市工业和信息化部门"
    assert remits[0].text.startswith("市工业和信息化部门负责牵头推进")
    assert all(r.unresolved == [] for r in remits)


@pytest.mark.parametrize("article, count", sorted(PARAGRAPH_COUNTS.items()))
def test_paragraph_count(reg, article, count):
    assert len(reg.article(article).paragraphs) == count


def test_chapters_and_the_chapter_of_each_article(reg):
    assert [(c.number, c.label, c.title) for c in reg.chapters] == [(n, label, t) for n, label, t, _ in CHAPTERS]
    assert [a.number for a in reg.articles] == list(range(1, 61))
    starts = {first: number for number, _, _, first in CHAPTERS}
    expected_chapter = None
    for article in reg.articles:
        expected_chapter = starts.get(article.number, expected_chapter)
        assert article.chapter_number == expected_chapter, article.label
