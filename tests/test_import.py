"""Importing the regulation into the database: obligations per body, idempotency, amendments,
bad files, and the dry-run JSON a script can read."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Department
from obligations.models import AuditEntry, Obligation, ProgressEntry
from obligations.seeding import import_regulation
from obligations.services import regulation_amend
from regulations.importing import AmendmentRequired
from regulations.models import Article, Clause, StandingResponsibility
from regulations.parser import RegulationFormatError

pytestmark = pytest.mark.django_db

DISTRICTS = 12
GOV13 = 1 + DISTRICTS


def test_registry_has_city_and_districts_and_loading_is_idempotent(departments):
    from regulations.registry import load_departments

    assert Department.objects.filter(level="district", kind="government").count() == DISTRICTS
    assert Department.objects.get(code="JN-GXJ").name == "济南市工业和信息化局"
    assert load_departments() == {"created": 0, "updated": 0, "unchanged": Department.objects.count()}


def test_import_creates_one_obligation_per_responsible_body(regulation):
    assert regulation.title == "济南市数字经济促进条例"
    assert str(regulation.effective_date) == "2025-01-01"
    assert regulation.articles.count() == 60
    assert regulation.chapters.count() == 7
    # 第四条: 市、区县人民政府 -> the city and every district/county government, each its own obligation.
    art4 = Obligation.objects.filter(clause__article__number=4)
    assert art4.count() == GOV13
    assert set(art4.values_list("department__code", flat=True)) >= {"JN-GOV", "JN-LIXIA", "JN-SHANGHE"}
    # 第二十条: 发展改革 responsible, 工信 and 科技 cooperating.
    art20 = Obligation.objects.get(clause__article__number=20)
    assert art20.department.code == "JN-FGW"
    assert set(art20.cooperating.values_list("code", flat=True)) == {"JN-GXJ", "JN-KJJ"}
    assert art20.status == Obligation.Status.NOT_STARTED and art20.due_date is None
    # Third-party, principle and broad-class clauses are recorded but bind no department.
    for number in (3, 15, 36, 40):
        assert not Obligation.objects.filter(clause__article__number=number).exists()
        assert Clause.objects.filter(article__number=number).exists()
    assert Clause.objects.filter(kind=Clause.Kind.DUTY).count() == 57
    assert Clause.objects.get(article__number=54, paragraph_number=2, ordinal=1).kind == Clause.Kind.THIRD_PARTY
    # 第五条's 负责 remits are standing responsibilities, not obligations.
    assert set(StandingResponsibility.objects.values_list("department__code", flat=True)) == {
        "JN-GXJ",
        "JN-FGW",
        "JN-DSJ",
        "JN-KJJ",
        "JN-WXB",
    }
    assert not Obligation.objects.filter(clause__article__number=5).exists()


def test_reimporting_the_same_text_changes_nothing(regulation, seed_text):
    def counts():
        return (Obligation.objects.count(), Clause.objects.count(), Article.objects.count(), AuditEntry.objects.count())

    before = counts()
    report = import_regulation(seed_text, code="jinan-digital-economy")
    assert report.unchanged and not report.added and not report.changed and not report.removed
    assert counts() == before


def _amended(seed_text: str) -> str:
    return (
        seed_text.replace(
            "第五十六条 市统计部门应当开展数字经济统计调查和监测分析,并依法向社会公布。", "第五十六条 (删除)"
        )
        .replace("教育部门应当建设智慧教育公共服务平台", "教育部门应当建设统一的智慧教育公共服务平台")
        .replace(
            "第五十八条 市、区县人民政府应当建立数字经济发展考核 评价体系。",
            "第五十八条 市、区县人民政府应当建立数字经济发展考核 评价体系。\n\n"
            "审计部门应当对数字经济专项资金开展审计。",
        )
    )


def test_a_changed_text_under_a_known_title_is_refused_and_rewrites_nothing(regulation, seed_text, tmp_path):
    art33 = Obligation.objects.get(clause__article__number=33)
    before = (art33.clause.text, Clause.objects.count(), AuditEntry.objects.count())
    with pytest.raises(AmendmentRequired) as refused:
        import_regulation(_amended(seed_text), code="jinan-digital-economy")
    assert "--amends" in refused.value.args[0] and "已经导入" in refused.value.args[0]
    art33.refresh_from_db()
    assert (art33.clause.text, Clause.objects.count(), AuditEntry.objects.count()) == before
    # The command says the same, in Chinese, and points at --amends.
    path = tmp_path / "amended.txt"
    path.write_text(_amended(seed_text), encoding="utf-8")
    with pytest.raises(CommandError, match="--amends"):
        call_command("import_regulation", str(path), stdout=StringIO())


def test_amended_text_carries_obligations_over_and_keeps_history(regulation, seed_text, cast):
    art56 = Obligation.objects.get(clause__article__number=56)  # 市统计部门应当开展数字经济统计调查
    ProgressEntry.objects.create(obligation=art56, department=art56.department, author=cast["adam"], text="已开展调查")
    art33 = Obligation.objects.get(clause__article__number=33)  # 教育部门…, reworded
    old_text = art33.clause.text
    result = regulation_amend(
        regulation=regulation, text=_amended(seed_text), effective=dt.date(2026, 1, 1), actor=cast["lena"]
    )
    assert result.version.number == 2 and result.version.effective_on == dt.date(2026, 1, 1)
    art56.refresh_from_db()
    assert art56.status == Obligation.Status.REPEALED and art56.progress_entries.count() == 1
    assert not art56.is_overdue(dt.date(2030, 1, 1))
    art33.refresh_from_db()
    assert art33.awaits_review and "统一的智慧教育" in art33.clause.text
    assert art33.former_clause.text == old_text  # the old words are kept, not rewritten
    assert Obligation.objects.get(clause__article__number=58, clause__paragraph_number=2).department.code == "JN-SJJ"
    # Importing the amended text again (plainly or as an amendment) changes nothing.
    assert import_regulation(_amended(seed_text), code="jinan-digital-economy").unchanged
    with pytest.raises(RegulationFormatError, match="第2版"):
        regulation_amend(regulation=regulation, text=_amended(seed_text), effective=dt.date(2026, 1, 1), actor=None)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "\u7a7a"),  # 空
        ("第一条 测试".encode("gbk"), "UTF-8"),
        (b"<!DOCTYPE html><html><body><p>hello</p></body></html>", "网页"),  # a page without a law
        ("这是一段没有条文的文字。".encode(), "第X条"),
    ],
    ids=["empty", "gbk", "html", "no-articles"],
)
def test_bad_files_get_a_clear_error_and_write_nothing(departments, tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(CommandError) as excinfo:
        call_command("import_regulation", str(path))
    assert message in str(excinfo.value)
    assert not Clause.objects.exists() and not Obligation.objects.exists()


def test_dry_run_json_lists_every_clause_and_writes_nothing(departments):
    from tests.conftest import SEED_TEXT

    out = StringIO()
    call_command("import_regulation", str(SEED_TEXT), "--dry-run", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert not Obligation.objects.exists() and not Clause.objects.exists()
    shall = [r for r in rows if "应当" in r["text"].replace(" ", "")]
    assert len(shall) == 64
    row = next(r for r in rows if r["article"] == 24 and r["paragraph"] == 2)
    assert row["departments"] == ["济南市工业和信息化局"] and row["kind"] == "duty"
    row = next(r for r in rows if r["article"] == 31)
    assert row["departments"] == ["济南市交通运输局"] and row["cooperating"] == ["济南市公安局交通警察支队"]
    assert next(r for r in rows if r["article"] == 15 and r["paragraph"] == 1)["departments"] == []
    for r in rows:
        assert set(r) >= {"article", "paragraph", "text", "subject", "departments", "cooperating", "kind"}


def test_seed_demo_creates_accounts_for_every_role_and_sets_due_dates(db, settings):
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    accounts = json.loads(out.getvalue())
    roles = {a["role"] for a in accounts}
    assert roles == {"staff", "lead", "auditor", "admin"}
    assert any(a["department"] == "济南市历下区人民政府" for a in accounts)
    lead = next(a for a in accounts if a["role"] == "lead")
    assert lead["department"] == "济南市工业和信息化局"
    from django.contrib.auth import authenticate

    assert authenticate(username=lead["username"], password=settings.DEMO_PASSWORD)
    from core.clock import today

    dated = Obligation.objects.exclude(due_date=None)
    assert dated.count() == Obligation.objects.count() > 0
    assert dated.filter(due_date__lt=today()).exists() and dated.filter(due_date__gt=today()).exists()
    # Running it again changes nothing.
    count = AuditEntry.objects.count()
    call_command("seed_demo", "--json", stdout=StringIO())
    assert AuditEntry.objects.count() == count
