"""Regulations of other kinds: government services, business environment, social credit, work
safety, public resource trading; national laws and local regulations of several provinces and cities.

Each text in tests/corpus/ with a ``.duties`` file beside it carries its registry and the duties of
named public bodies, written by hand (sources in tests/corpus/SOURCES.md). The parser must find them:
recall, precision and bodies at least 0.95 on every text. The forms those texts brought in are
tested one by one below. No database, except for the command and the proposals' level and kind.
"""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from regulations.corpus import DutiesFileError, Duty, hand_checked_texts, read_duties, score
from regulations.parser import Registry, extract_clauses, parse_regulation

CORPUS = Path(__file__).resolve().parent / "corpus"
CHECKED = {checked.name: checked for checked in hand_checked_texts(CORPUS)}
FLOOR = 0.95


def test_the_corpus_of_other_kinds():
    assert len(CHECKED) >= 6
    national = {"work-safety-law-2021", "national-business-environment-2019"}
    assert national <= set(CHECKED)
    assert sum(len(c.duties) for c in CHECKED.values()) == 132
    for checked in CHECKED.values():
        assert checked.text_path.is_file() and checked.registry and checked.duties


@pytest.mark.parametrize("name", sorted(CHECKED))
def test_each_text_reaches_the_floor(name):
    result = score(CHECKED[name])
    assert result.shall_clauses == result.shall_in_text  # every 应当 is read
    assert result.recall >= FLOOR, result.missed
    assert result.precision >= FLOOR, result.extra
    assert result.bodies >= FLOOR, result.wrong
    assert result.paragraphs >= FLOOR, result.wrong


@pytest.mark.parametrize("name", sorted(CHECKED))
def test_each_text_is_read_exactly_as_checked(name):
    result = score(CHECKED[name])
    assert (result.missed, result.extra, result.wrong) == ([], [], [])


def test_the_score_pairs_by_position_and_tells_what_is_wrong(tmp_path):
    (tmp_path / "t.txt").write_text(
        "第一条 市人民政府应当加强领导。\n第二条 市财政部门应当保障经费。\n第三条 市统计部门应当开展监测。\n",
        encoding="utf-8",
    )
    (tmp_path / "t.duties").write_text(
        "registry 市人民政府 = GOV\nregistry 财政 = CZ\nduty 1 1 GOV\nduty 2 1 GOV  # wrong on purpose\nduty 4 1 CZ\n",
        encoding="utf-8",
    )
    result = score(read_duties(tmp_path / "t.duties"))
    assert (result.expected, result.found, result.paired) == (3, 3, 2)
    assert result.missed == [Duty(4, 1, ("CZ",))]
    assert result.extra == [Duty(3, 1, ("市统计部门",))]
    assert result.wrong == [(Duty(2, 1, ("GOV",)), Duty(2, 1, ("CZ",)))]
    assert (round(result.recall, 2), round(result.precision, 2), result.bodies) == (0.67, 0.67, 0.5)


def test_a_duties_line_that_is_not_understood_is_an_error(tmp_path):
    (tmp_path / "t.duties").write_text("duty one 1 GOV\n", encoding="utf-8")
    with pytest.raises(DutiesFileError, match="t.duties:1"):
        read_duties(tmp_path / "t.duties")


@pytest.mark.django_db
def test_the_command_prints_a_line_per_text():
    out = io.StringIO()
    call_command("parser_corpus", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("法规\t原文应当")
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert set(rows) == set(CHECKED)
    assert rows["shandong-business-environment-2020"][1:] == [
        "20",
        "20",
        "18",
        "18",
        "1.00",
        "1.00",
        "1.00",
        "1.00",
    ]


@pytest.mark.django_db
def test_the_command_says_what_is_wrong(tmp_path):
    with pytest.raises(CommandError, match="没有 .duties 文件"):
        call_command("parser_corpus", path=str(tmp_path))
    (tmp_path / "t.txt").write_text("第一条 市人民政府应当加强领导。\n", encoding="utf-8")
    (tmp_path / "t.duties").write_text("duty 1 1 市财政局\n", encoding="utf-8")
    out = io.StringIO()
    call_command("parser_corpus", path=str(tmp_path), details=True, stdout=out)
    assert "不符\t1.1 市财政局\t-> 1.1 市人民政府" in out.getvalue()


# --- The forms, one by one ---------------------------------------------------------------------

REGISTRY = Registry(
    {
        "市人民政府": ["GOV"],
        "区县人民政府": ["DIST"],
        "人力资源和社会保障": ["RSJ"],
        "医疗保障": ["YBJ"],
        "住房和城乡建设": ["ZJJ"],
        "税务": ["SWJ"],
        "公安": ["GAJ"],
    }
)


def clauses(text, registry=REGISTRY):
    return [
        (c.article, c.ordinal, c.kind, c.departments, c.unresolved)
        for c in extract_clauses(parse_regulation(text), registry)
    ]


@pytest.mark.parametrize(
    "subject, departments, unresolved",
    [
        ("市12345热线工作机构", [], ["市12345热线工作机构"]),
        ("不动产登记机构", [], ["不动产登记机构"]),
        ("综合政务服务机构", [], ["综合政务服务机构"]),
        ("市公共信用机构", [], ["市公共信用机构"]),
        ("税务机关", ["SWJ"], []),
        ("公安机关", ["GAJ"], []),
        ("人民法院", [], ["人民法院"]),
        ("监察委员会", [], ["监察委员会"]),
        ("人民法院、人民检察院和公安机关", ["GAJ"], ["人民法院", "人民检察院"]),
        ("市人民检察院和市公安局", [], ["市人民检察院", "市公安局"]),
        ("各级监察委员会、人民法院、人民检察院、公安机关", ["GAJ"], ["各级监察委员会", "人民法院", "人民检察院"]),
        ("乡镇人民政府和街道办事处", [], ["乡镇人民政府", "街道办事处"]),
        ("人力资源社会保障、医疗保障等部门", ["RSJ", "YBJ"], []),  # written without the registry's 和
        ("住房城乡建设、税务等部门和不动产登记机构", ["ZJJ", "SWJ"], ["不动产登记机构"]),
        ("公共资源交易管理机构和服务机构", [], ["公共资源交易管理机构", "公共资源交易服务机构"]),
        ("各级审判机关、检察机关", [], ["各级审判机关", "检察机关"]),
        ("市、区县优化营商环境工作机构", [], ["市、区县优化营商环境工作机构"]),  # with the places before it
        ("市政府办公厅", [], ["市政府办公厅"]),
        ("各级人力资源社会保障、医疗保障等有关部门和单位", ["RSJ", "YBJ"], []),  # fields named at every level
        ("政务服务有关部门或者综合政务服务机构接受申请材料的，", [], ["综合政务服务机构"]),
    ],
)
def test_institutions_and_organs_are_bodies(subject, departments, unresolved):
    ((_, _, kind, found, proposed),) = clauses(f"第一条 {subject}应当依法履行职责。\n")
    assert (kind, found, proposed) == ("duty", departments, unresolved)


@pytest.mark.parametrize(
    "sentence, kind",
    [
        ("政府性融资担保机构应当重点为中小企业提供融资担保。", "third_party"),  # an operator by function
        ("招标投标和政府采购等公共资源交易活动应当公开透明。", "principle"),  # an activity
        ("与市场主体生产经营活动密切相关的地方性法规、政府规章、规范性文件，应当及时公布。", "principle"),
        ("制定涉及市场主体权利义务的行政规范性文件，应当进行合法性审核。", "principle"),
        ("各级人民政府和有关部门的守信践诺情况应当纳入政务信用记录。", "principle"),  # a record
        ("司法机关应当加强司法公信建设。", "general"),  # a kind of organ
        ("政府及其有关部门应当依法削减审批事项。", "general"),  # no government named
        ("各地区、各部门之间应当加强证明的互认共享。", "general"),
        ("负有安全生产监督管理职责的部门应当相互配合。", "general"),  # a class described by its duty
        ("市有关行业主管部门应当加强信用体系建设。", "general"),
        ("政务服务有关部门的政务信息系统应当与政务服务平台实现数据交换。", "principle"),
        ("因场地等特殊原因，需要设立部门专业服务大厅的，应当报本级人民政府批准。", "principle"),  # a condition
        ("行政执法机关应当依法实施检查。", "general"),
        ("上级人民政府应当对下级人民政府进行政务诚信监督检查。", "general"),  # a relation
        ("市直部门应当给予业务指导。", "general"),
        ("行政执法机关实施行政强制，应当遵循合法、适当的原则。", "general"),  # an open class at work
        ("对属于本部门职权范围内的投诉举报，应当在五个工作日内办结。", "principle"),  # the object
    ],
)
def test_things_activities_and_classes_are_not_duties(sentence, kind):
    ((_, _, found_kind, departments, unresolved),) = clauses(f"第一条 {sentence}\n")
    assert (found_kind, departments, unresolved) == (kind, [], [])


def test_a_class_the_regulation_defines_stays_general():
    text = (
        "第一条 本条例所称政务服务有关部门，是指承担政务服务事项办理的部门。\n"
        "第二条 政务服务有关部门应当公开办事指南。\n"
        "第三条 政务服务有关部门、综合政务服务机构应当提供预约服务。\n"
        "第四条 县级以上人民政府有关部门应当建立权责清单制度。\n"
    )
    registry = Registry({"县级以上人民政府": ["GOV", "DIST"]})
    assert clauses(text, registry) == [
        (2, 1, "general", [], []),
        (3, 1, "duty", [], ["综合政务服务机构"]),  # the named body carries the duty of the list
        (4, 1, "duty", ["GOV", "DIST"], []),  # the departments of named governments
    ]


def test_duties_in_the_items_of_a_list_take_the_subject_of_the_lead_in():
    text = (
        "第一条 热线工作机构应当按照下列规定进行处理：\n"
        "（一）属于咨询类的，应当即时答复；\n"
        "（二）属于投诉类的，应当在一个工作日内转交承办单位。\n"
    )
    assert clauses(text) == [(1, n, "duty", [], ["热线工作机构"]) for n in (1, 2, 3)]


def test_the_body_after_ying_dang_you_acts():
    text = (
        "第一条 承办单位不能解决的热线事项，应当由市人民政府办公室组织有关部门研究解决。"
        "经研究仍不能解决的，应当提交市人民政府常务会议研究处理。\n"
    )
    assert clauses(text) == [(1, 1, "duty", [], ["市人民政府办公室"]), (1, 2, "duty", [], ["市人民政府办公室"])]


def test_organs_cooperating_without_a_department_are_proposed():
    text = "第一条 县级以上人民政府应当会同同级监察机关、审判机关、检察机关建立联合惩戒机制。\n"
    (clause,) = extract_clauses(parse_regulation(text), Registry({"县级以上人民政府": ["GOV"]}))
    assert (clause.departments, clause.unresolved) == (["GOV"], ["同级监察机关", "审判机关", "检察机关"])


def test_a_body_whose_own_act_is_the_condition_is_the_subject():
    text = "第一条 市公共信用机构受理公共信用信息异议申请的，应当进行核查。\n"
    assert clauses(text) == [(1, 1, "duty", [], ["市公共信用机构"])]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, level, kind",
    [
        ("人民检察院", "city", "court"),
        ("省高级人民法院", "city", "court"),
        ("监察委员会", "city", "department"),
        ("税务机关", "city", "department"),
        ("市12345热线工作机构", "city", "department"),
        ("区政务服务中心", "district", "department"),
        ("街道办事处", "district", "government"),
        ("乡镇人民政府", "district", "government"),
    ],
)
def test_a_proposed_body_gets_a_level_and_kind_from_its_name(name, level, kind):
    from regulations.registry import proposed_level_and_kind

    assert proposed_level_and_kind(name) == (level, kind)
