"""Three real regulations that bind Jinan, imported side by side: the seed (济南市数字经济促进条例),
a provincial one (山东省信息化促进条例) and another of the city's (济南市优化营商环境条例). Sources:
fixtures/README.md. The counts below were checked against the texts by hand (issue 23's note)."""

from pathlib import Path

import pytest

from obligations.models import Obligation
from obligations.seeding import import_regulation
from regulations.models import BodyProposal, Clause, Regulation
from tests.test_parser_duties import DISTRICTS  # the twelve district governments, in the registry's order

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOVERNMENTS = ["JN-GOV", *DISTRICTS]

# file, code, title, 施行日期, duties found, obligations created, duties waiting on an unknown body
REGULATIONS = [
    (
        "jinan-digital-economy-promotion-2024.txt",
        "jinan-digital-economy",
        "济南市数字经济促进条例",
        "2025-01-01",
        57,
        342,
        0,
    ),
    (
        "shandong-informatization-promotion-2018.txt",
        "shandong-informatization",
        "山东省信息化促进条例",
        "2008-01-01",
        23,  # 信息系统的主管部门和运营、使用单位 (第三十六条): a class and third parties, no duty
        144,
        12,
    ),
    (
        "jinan-business-environment-2022.txt",
        "jinan-business-environment",
        "济南市优化营商环境条例",
        "2022-03-01",
        39,  # as checked by hand in tests/corpus/jinan-business-environment-2022.duties
        376,
        8,
    ),
]


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def holders(regulation: str, article: int, paragraph: int = 1, ordinal: int = 1) -> list[str]:
    obligations = Obligation.objects.filter(
        clause__regulation__code=regulation,
        clause__article__number=article,
        clause__paragraph_number=paragraph,
        clause__ordinal=ordinal,
    ).order_by("department__sort_order", "department__code")
    return list(obligations.values_list("department__code", flat=True))


def test_three_regulations_import_side_by_side(departments):
    reports = {}
    for name, code, title, effective, duties, created, waiting in REGULATIONS:
        report = import_regulation(read(name), code=code)
        reports[code] = report
        regulation = report.regulation
        assert (regulation.title, str(regulation.effective_date)) == (title, effective)
        clauses = Clause.objects.filter(regulation=regulation, kind=Clause.Kind.DUTY)
        assert clauses.count() == duties, code
        assert report.obligations_created == created, code
        assert Obligation.objects.filter(clause__regulation=regulation).count() == created, code
        assert sum(c.awaits_confirmation for c in clauses) == waiting, code
    assert Regulation.objects.count() == 3

    # Hand-checked citations. 山东省信息化促进条例 第四条第一款: 县级以上人民政府 is, in Jinan, the
    # city and every district and county government: one obligation each.
    assert holders("shandong-informatization", 4) == GOVERNMENTS
    assert holders("shandong-informatization", 22) == GOVERNMENTS  # 县级以上人民政府及其有关部门
    assert holders("shandong-informatization", 34, 2) == ["JN-GAJ"]  # 信息化、公安、国家安全…等部门
    assert holders("shandong-informatization", 21) == []  # 县级以上人民政府信息化主管部门: proposed
    assert Clause.objects.get(
        regulation__code="shandong-informatization", article__number=6, paragraph_number=1
    ).unresolved == ["省人民政府信息化主管部门"]
    # 济南市优化营商环境条例.
    assert holders("jinan-business-environment", 4) == GOVERNMENTS  # 市、区县人民政府
    assert holders("jinan-business-environment", 7) == ["JN-GOV"]  # 市人民政府
    assert holders("jinan-business-environment", 22) == [*GOVERNMENTS, "JN-ZY"]  # …以及人民法院
    assert holders("jinan-business-environment", 48) == ["JN-SFJ"]  # 市、区县司法行政部门
    assert holders("jinan-business-environment", 63) == ["JN-SJJ"]  # 市、区县审计部门
    assert holders("jinan-business-environment", 25, 2) == ["JN-DSJ"]  # 大数据主管部门
    # The seed keeps its figures with the other two beside it.
    assert holders("jinan-digital-economy", 4) == GOVERNMENTS
    assert holders("jinan-digital-economy", 20) == ["JN-FGW"]

    # Each unknown name is proposed once, by the regulation it first appeared in.
    assert set(reports["shandong-informatization"].proposed) >= {
        "县级以上人民政府信息化主管部门",
        "省人民政府信息化主管部门",
    }
    assert BodyProposal.objects.get(name="不动产登记机构").regulation.code == "jinan-business-environment"
    assert not BodyProposal.objects.filter(name="行政执法机关").exists()  # an open class, not a body

    # Importing all three again changes nothing.
    for name, code, *_ in REGULATIONS:
        assert import_regulation(read(name), code=code).unchanged
