"""Amendments with a real one: 上海市检验检测条例 (2016) and its 2024 修正, then a constructed 修订 of
the 2024 text that reaches the kinds a 修正 of that size does not (fixtures/amendments/SOURCES.md).

The expected lineage is written here by hand, from reading the texts: which duties the 2024
修正 reworded, and what the constructed text did article by article. The matcher's precision and
recall against it are asserted (and printed by `manage.py lineage_score`). Then the obligations
are carried over end to end, each step at its moment (core.clock.told_at), through the services.
"""

import datetime as dt
import io
import json
from io import StringIO
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.models import User
from core.clock import told_at
from core.errors import NotAllowed
from obligations import services
from obligations.audit import verify_chain
from obligations.figures import Timeliness, timeliness_of
from obligations.ledger import ledger_export
from obligations.models import AuditEntry, Carryover, Obligation, OutboxMessage
from obligations.seeding import import_regulation
from regulations.importing import lineage_of_texts
from regulations.lineage import diff, diff_text, score
from regulations.models import RegulationVersion
from regulations.parser import RegulationFormatError
from reports import asof, docx
from reports import services as report_services
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "amendments"
TEXT_2016 = FIXTURES / "shanghai-inspection-testing-2016.txt"
TEXT_2024 = FIXTURES / "shanghai-inspection-testing-2024.txt"
TEXT_CONSTRUCTED = FIXTURES / "shanghai-inspection-testing-constructed.txt"

# --- the expected lineage, by hand ------------------------------------------------------------

# Every 应当/不得 clause of the 2016 text (article.paragraph.ordinal), as the parser extracts it.
CLAUSES_2016 = (
    "4.1.1 5.1.1 7.1.1 7.2.1 9.1.1 10.1.1 10.2.1 10.2.2 11.1.1 11.2.1 12.1.1 12.1.2 12.1.3 12.2.1 12.2.2 "
    "13.1.1 13.2.1 15.1.1 15.2.1 15.3.1 16.1.1 16.2.1 18.1.1 19.1.1 20.1.1 20.1.2 20.1.3 21.1.1 21.2.1 "
    "22.1.1 22.1.2 22.2.1 22.3.1 23.1.1 23.1.2 23.2.1 24.1.1 25.1.1 25.2.1 25.2.2 26.1.1 27.1.1 29.1.1 "
    "29.1.2 30.1.1 30.2.1 31.1.1 33.1.1 33.1.2 33.2.1 34.1.1 34.2.1 35.1.1 35.1.2 36.1.1 37.2.1 37.2.2 37.2.3"
).split()
# The 2024 修正 put 市场监管部门 where 质量技术监督部门 stood: these duties read other words.
REWORDED_2024 = {"7.1.1", "26.1.1", "29.1.1", "30.1.1", "34.1.1", "34.2.1"}
EXPECTED_2016_2024 = [("reworded" if ref in REWORDED_2024 else "unchanged", ref, ref) for ref in CLAUSES_2016]


def _renumbered(ref: str) -> str:
    """Where the constructed text put an article the 2024 text has: 第四条 and 第二十六条 deleted,
    a new article after 第三十七条."""
    article, paragraph, ordinal = map(int, ref.split("."))
    shift = 0 if article < 4 else -1 if article < 26 else -2 if article <= 37 else -1
    return f"{article + shift}.{paragraph}.{ordinal}"


SPECIAL_CONSTRUCTED = [
    ("repealed", "4.1.1", None),
    ("split", "5.1.1", "4.1.1"),
    ("split", "5.1.1", "4.2.1"),
    ("moved", "15.2.1", "9.3.1"),  # 第十五条第二款 to 第十条 (now 第九条) as its third 款
    ("unchanged", "15.3.1", "14.2.1"),  # the 款 behind it moves up
    ("repealed", "26.1.1", None),
    ("merged", "30.1.1", "28.1.1"),
    ("merged", "30.2.1", "28.1.1"),
    ("reworded", "33.2.1", "31.2.1"),  # 市、区人民政府有关部门 -> 市人民政府有关部门
    ("new", None, "36.1.1"),
]
_SPECIAL_OLD = {old for _, old, _ in SPECIAL_CONSTRUCTED if old}
EXPECTED_2024_CONSTRUCTED = [
    ("unchanged", ref, _renumbered(ref)) for ref in CLAUSES_2016 if ref not in _SPECIAL_OLD
] + SPECIAL_CONSTRUCTED


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- the matcher ------------------------------------------------------------------------------


def test_the_real_2024_amendment_is_matched_duty_by_duty(departments):
    lineage = lineage_of_texts(read(TEXT_2016), read(TEXT_2024))
    result = score(lineage, EXPECTED_2016_2024)
    assert (result.missing, result.wrong) == ([], [])
    assert result.precision == 1.0 and result.recall == 1.0
    counts = lineage.counts()
    assert counts["unchanged"] == len(CLAUSES_2016) - 6 and counts["reworded"] == 6
    assert sum(counts.values()) - counts["reworded"] - counts["unchanged"] == 0


def test_the_constructed_amendment_reaches_every_kind(departments):
    lineage = lineage_of_texts(read(TEXT_2024), read(TEXT_CONSTRUCTED))
    result = score(lineage, EXPECTED_2024_CONSTRUCTED)
    assert (result.missing, result.wrong) == ([], [])
    assert result.precision == 1.0 and result.recall == 1.0
    assert {k: n for k, n in lineage.counts().items() if k != "unchanged"} == {
        "moved": 1,
        "reworded": 1,
        "split": 2,
        "merged": 2,
        "new": 1,
        "repealed": 2,
    }


def test_a_wrong_expectation_lowers_precision_and_recall(departments):
    lineage = lineage_of_texts(read(TEXT_2016), read(TEXT_2024))
    wrong = [("unchanged", ref, ref) for ref in CLAUSES_2016]  # as if nothing were reworded
    result = score(lineage, wrong)
    assert result.precision < 1 and result.recall < 1 and len(result.wrong) == 6


def test_lineage_score_command_prints_precision_and_recall(departments, tmp_path):
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps(EXPECTED_2024_CONSTRUCTED, ensure_ascii=False), encoding="utf-8")
    out = StringIO()
    call_command("lineage_score", str(TEXT_2024), str(TEXT_CONSTRUCTED), "--expected", str(expected), stdout=out)
    assert "precision 1.0000" in out.getvalue() and "recall 1.0000" in out.getvalue()
    assert "拆分 2" in out.getvalue() and "删除 2" in out.getvalue()
    out = StringIO()
    call_command(
        "lineage_score", str(TEXT_2024), str(TEXT_CONSTRUCTED), "--expected", str(expected), "--json", stdout=out
    )
    data = json.loads(out.getvalue())
    assert data["precision"] == 1.0 and data["recall"] == 1.0 and data["counts"]["new"] == 1


def test_word_level_differences_are_marked():
    old, new = "市质量技监部门应当会同有关部门", "市市场监管部门应当会同有关部门"
    runs = diff(old, new)
    assert "".join(t for op, t in runs if op != "insert") == old
    assert "".join(t for op, t in runs if op != "delete") == new
    assert diff_text(old, new) == "市〔删：质量技〕〔增：市场〕监〔增：管〕部门应当会同有关部门"
    assert diff("version 2 of 3", "version 3 of 3")[1] == ("delete", "2")  # a number is one token


def test_dry_run_json_shows_the_lineage_and_writes_nothing(departments):
    import_regulation(read(TEXT_2016), code="sh-jcjc")
    before = (Obligation.objects.count(), RegulationVersion.objects.count(), AuditEntry.objects.count())
    out = StringIO()
    call_command(
        "import_regulation",
        str(TEXT_2024),
        "--amends",
        "上海市检验检测条例",
        "--effective",
        "2025-03-01",
        "--dry-run",
        "--json",
        stdout=out,
    )
    data = json.loads(out.getvalue())
    assert data["counts"]["reworded"] == 6
    reworded = [link for link in data["links"] if link["kind"] == "reworded"]
    assert reworded[0]["old"]["citation"] == "第七条第一款"
    assert {"op": "insert", "text": "市场"} in reworded[0]["diff"]
    assert (Obligation.objects.count(), RegulationVersion.objects.count(), AuditEntry.objects.count()) == before


# --- carrying over, end to end ----------------------------------------------------------------


def at(day: str, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(f"{day}T{hour:02d}:00"))


def only(**lookup) -> Obligation:
    return Obligation.objects.select_related("clause__article", "department").get(**lookup)


def cited(article: int, paragraph: int, code: str, version: int) -> Obligation:
    return only(
        clause__article__number=article,
        clause__paragraph_number=paragraph,
        clause__ordinal=1,
        clause__article__version__number=version,
        department__code=code,
    )


@pytest.fixture
def people(departments):
    return {
        "lena": make_user("lena", User.Role.LEAD, departments["JN-GXJ"]),
        "gina": make_user("gina", User.Role.STAFF, departments["JN-GOV"]),
        "sam": make_user("sam", User.Role.STAFF, departments["JN-SCJGJ"]),
        "dave": make_user("dave", User.Role.STAFF, departments["JN-LIXIA"]),
        "audrey": make_user("audrey", User.Role.AUDITOR, departments["JN-SJJ"]),
    }


def test_obligations_carry_over_through_two_amendments(people, departments, client, tmp_path):
    lena, gina, sam, dave = people["lena"], people["gina"], people["sam"], people["dave"]
    with told_at(at("2025-01-10")):
        regulation = import_regulation(read(TEXT_2016), code="sh-jcjc").regulation
    # 2016: 质量技监部门 is not in the registry (待确认); the governments' duties have obligations.
    assert not Obligation.objects.filter(department__code="JN-SCJGJ").exists()
    gov5 = cited(5, 1, "JN-GOV", 1)
    with told_at(at("2025-02-01")):
        services.obligation_transition(obligation=gov5, actor=gina, action="start", expected_version=gov5.version)
        services.progress_add(obligation=gov5, actor=gina, text="已纳入十四五规划中期调整")

    # The real 修正, in force 2025-03-01: six duties reworded, none renumbered; 市场监管部门 is in the
    # registry, so the bodies the new words name are assigned.
    with told_at(at("2025-03-01")):
        first = services.regulation_amend(
            regulation=regulation, text=read(TEXT_2024), effective=dt.date(2025, 3, 1), actor=lena
        )
    assert first.version.number == 2 and first.version.adopted_on == dt.date(2024, 12, 31)
    assert first.lineage.counts()["reworded"] == 6
    gov5.refresh_from_db()
    assert gov5.status == Obligation.Status.IN_PROGRESS and gov5.clause.article.version.number == 2
    assert gov5.former_citation == "" and not gov5.awaits_review  # same words, same place
    assert gov5.progress_entries.count() == 1
    scj26 = cited(26, 1, "JN-SCJGJ", 2)
    scj30 = cited(30, 1, "JN-SCJGJ", 2)
    assert Carryover.objects.get(obligation=scj26).outcome == Carryover.Outcome.ASSIGNED

    with told_at(at("2025-04-01")):
        services.obligation_set_due_date(
            obligation=scj26,
            actor=lena,
            due_date=dt.date(2025, 6, 30),
            reason="首次设定",
            expected_version=scj26.version,
        )
        services.obligation_transition(obligation=scj30, actor=sam, action="start", expected_version=scj30.version)
        services.evidence_add(
            obligation=scj30,
            actor=sam,
            kind="document",
            description="联合监管机制文件",
            document_number="沪市监〔2025〕1号",
        )
        scj30.refresh_from_db()
        services.obligation_transition(obligation=scj30, actor=sam, action="submit", expected_version=scj30.version)
        scj30.refresh_from_db()
        services.obligation_transition(obligation=scj30, actor=lena, action="verify", expected_version=scj30.version)
    scj26.refresh_from_db()
    assert scj26.is_overdue(dt.date(2026, 5, 1))
    gov33_districts = set(
        Obligation.objects.filter(clause__article__number=33, clause__paragraph_number=2)
        .exclude(department__code="JN-GOV")
        .values_list("department__code", flat=True)
    )
    assert len(gov33_districts) >= 10
    gov7 = cited(7, 2, "JN-GOV", 2)

    # The constructed 修订, in force 2026-06-01.
    with told_at(at("2026-06-01")):
        second = services.regulation_amend(
            regulation=regulation,
            text=read(TEXT_CONSTRUCTED),
            effective=dt.date(2026, 6, 1),
            actor=lena,
            kind=RegulationVersion.Kind.REVISED,
        )
    assert second.version.number == 3 and second.version.get_kind_display() == "修订"
    # Each amendment writes its entries with the chain held once (audit.chain_held): it still verifies.
    check = verify_chain()
    assert check.ok and check.checked == AuditEntry.objects.count()

    # Unchanged under a new number: state and history kept, the old citation visible.
    gov7.refresh_from_db()
    assert gov7.citation == "第六条第二款" and gov7.former_citation == "原第七条第二款" and not gov7.awaits_review

    # Split: the obligation follows the closer part and goes back for review; the other part is a
    # new assignment.
    gov5.refresh_from_db()
    assert gov5.citation == "第四条第一款" and gov5.awaits_review and gov5.former_citation == "原第五条第一款"
    assert gov5.status == Obligation.Status.IN_PROGRESS and gov5.progress_entries.count() == 1
    assert "纳入国民经济和社会发展规划，建立" in gov5.former_clause.text  # both texts at hand
    part = cited(4, 2, "JN-GOV", 3)
    assert part.pk != gov5.pk and not part.awaits_review
    assert Carryover.objects.get(obligation=part).outcome == Carryover.Outcome.ASSIGNED

    # Merged: the verified obligation stays verified, flagged for review; the lead may reopen it.
    scj30.refresh_from_db()
    assert scj30.citation == "第二十八条第一款" and scj30.status == Obligation.Status.VERIFIED and scj30.awaits_review
    services.obligation_transition(
        obligation=scj30,
        actor=lena,
        action="reopen",
        reason="条文合并，请补充监督检查情况",
        expected_version=scj30.version,
    )

    # Repealed: 已废止 with the reason, history kept, never overdue, counted neither way.
    scj26.refresh_from_db()
    assert scj26.status == Obligation.Status.REPEALED and scj26.citation == "第二十六条第一款"
    assert not scj26.is_overdue(dt.date(2026, 12, 1))
    assert not Obligation.objects.overdue(dt.date(2026, 12, 1)).filter(pk=scj26.pk).exists()
    assert timeliness_of(scj26.status, scj26.due_date, None, dt.date(2026, 12, 1)) == Timeliness.ENDED
    assert scj26.missed_due_date == dt.date(2025, 6, 30)  # it was overdue before: on record
    assert AuditEntry.objects.filter(obligation=scj26).count() >= 3
    assert "删除了该条款" in Carryover.objects.get(obligation=scj26, version=second.version).reason

    # Reworded, dropping the districts: 市政府 reviews, the districts are released.
    gov33 = cited(31, 2, "JN-GOV", 3)
    assert gov33.awaits_review and gov33.former_citation == "原第三十三条第二款"
    released = Obligation.objects.filter(department__code__in=gov33_districts, clause__article__number=33)
    assert released.count() == len(gov33_districts) and all(o.superseded_at for o in released)
    outcomes = {c.outcome for c in Carryover.objects.filter(obligation__in=released, version=second.version)}
    assert outcomes == {Carryover.Outcome.RELEASED}

    # New: the districts' new duty.
    assert Obligation.objects.filter(clause__article__number=36, clause__article__version__number=3).count() == 12

    # The bodies hear of it: every kind of notice can be worded and reaches the body concerned.
    from notifications.outbox import notice, recipients

    messages = OutboxMessage.objects.filter(event=OutboxMessage.Event.AMENDED)
    outcomes = {m.payload["outcome"] for m in messages}
    assert outcomes >= {"review", "assigned", "released", "repealed", "kept"}
    review = messages.get(obligation=gov5, payload__outcome="review")
    assert "请复核" in notice(review)["title"] and gina.pk in recipients(review)
    for message in messages:
        assert notice(message)["title"]
    released_note = messages.filter(payload__outcome="released", obligation__department__code="JN-LIXIA").get()
    assert dave.pk in recipients(released_note)

    # The body confirms the new words (待复核 ends) or objects within the window, counted from the review.
    with told_at(at("2026-06-05")):
        services.obligation_review_confirm(obligation=gov5, actor=gina, expected_version=gov5.version)
        reason = "该条已改由市级部门承担，建议明确牵头单位"
        assert services.objection_raise(obligation=gov33, actor=gina, reason=reason).pk
    gov5.refresh_from_db()
    assert not gov5.awaits_review
    assert AuditEntry.objects.filter(obligation=gov5, action="obligation.reviewed").exists()

    # Reports as of a day before the 修订 took effect show the old text and citations; after, the new.
    def rows(day):
        ctx = report_services.report_context(
            user=people["audrey"], filters=asof.ReportFilters(as_of=day), regulation=regulation
        )
        return ctx, {row.obligation_id: row for row in asof.iter_obligation_rows(ctx)}

    ctx, before = rows(dt.date(2026, 5, 31))
    assert before[gov7.pk].citation == "第七条第二款" and before[gov5.pk].citation == "第五条第一款"
    assert "建立检验检测工作协调机制" in before[gov5.pk].clause_text
    assert before[scj26.pk].status == Obligation.Status.NOT_STARTED and before[scj26.pk].timeliness_kind == "overdue"
    assert part.pk not in before  # the split's new part was no one's duty yet
    assert ctx.version.number == 2 and "第2版" in dict(ctx.header_lines())["法规"]
    ctx, earlier = rows(dt.date(2025, 2, 15))
    assert earlier[gov5.pk].citation == "第五条第一款" and ctx.version.number == 1
    ctx, after = rows(dt.date(2026, 6, 2))
    assert after[gov7.pk].citation == "第六条第二款" and after[scj26.pk].status == Obligation.Status.REPEALED
    assert after[scj26.pk].timeliness_kind == Timeliness.ENDED and part.pk in after

    # The 修订对照表 (XLSX, PDF), the Word report's section, the API and the ledger.
    table = tmp_path / "table.xlsx"
    call_command("export_amendment_table", "上海市检验检测条例", str(table), stdout=StringIO())
    sheet = [list(r) for r in load_workbook(table)["修订对照表"].iter_rows(values_only=True)]
    repealed_row = next(r for r in sheet if r[1] == "第二十六条第一款")
    assert repealed_row[2] == "—" and repealed_row[3] == "删除" and "已废止" in repealed_row[7]
    assert {r[2] for r in sheet if r[1] == "第五条第一款"} == {"第四条第一款", "第四条第二款"}
    reworded_row = next(r for r in sheet if r[1] == "第三十三条第二款")
    assert "〔删：、区〕" in reworded_row[6] and "解除本单位义务" in reworded_row[7]
    pdf = tmp_path / "table.pdf"
    call_command("export_amendment_table", "sh-jcjc", str(pdf), "--regulation-version", "2", stdout=StringIO())
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "修订对照表" in text and "文字修改" in text and "第2版" in text
    ctx = report_services.report_context(user=people["audrey"], filters=asof.ReportFilters(), regulation=regulation)
    word = io.BytesIO()
    docx.write(ctx, word)
    paragraphs = "\n".join(p.text for p in Document(io.BytesIO(word.getvalue())).paragraphs)
    assert "七、法规修订对照" in paragraphs and "八、数据来源与核验" in paragraphs
    client.force_login(lena)
    detail = client.get(f"/api/obligations/{gov7.pk}/").json()
    fields = ("regulation_version", "former_citation", "awaits_review")
    assert tuple(detail[f] for f in fields) == (3, "原第七条第二款", False)
    listed = client.get("/api/obligations/", {"department": "JN-GOV", "page_size": 100}).json()
    row = next(r for r in listed["results"] if r["id"] == gov33.pk)
    assert tuple(row[f] for f in fields) == (3, "原第三十三条第二款", True)
    ledger = io.BytesIO()
    ledger_export(actor=lena, department=departments["JN-GOV"], out=ledger)
    cells = [c for r in load_workbook(io.BytesIO(ledger.getvalue())).active.iter_rows(values_only=True) for c in r]
    assert "第六条第二款（第3版，原第七条第二款）" in cells

    # The audit chain still verifies.
    call_command("verify_audit_trail", stdout=StringIO())


def test_the_obligation_page_shows_both_texts_and_the_body_confirms(people, departments, client):
    regulation = import_regulation(read(TEXT_2024), code="sh-jcjc").regulation
    repealed = cited(26, 1, "JN-SCJGJ", 1)
    services.regulation_amend(
        regulation=regulation, text=read(TEXT_CONSTRUCTED), effective=dt.date(2026, 6, 1), actor=people["lena"]
    )
    reworded = cited(31, 2, "JN-GOV", 2)
    client.force_login(people["gina"])
    page = client.get(reworded.get_absolute_url()).content.decode()
    assert "待复核" in page and "原第三十三条第二款" in page and "<del>、区</del>" in page
    assert "确认修订后的条文" in page
    assert "badge-review" in client.get(reverse("tasks")).content.decode()  # 我的任务 marks it
    # A stale version is refused in words; the current one confirms.
    confirm = reverse("obligation-review-confirm", args=[reworded.pk])
    response = client.post(confirm, {"version": reworded.version - 1}, follow=True)
    assert "请刷新" in response.content.decode() or "已被" in response.content.decode()
    reworded.refresh_from_db()
    assert reworded.awaits_review
    response = client.post(confirm, {"version": reworded.version}, follow=True)
    assert "已确认修订后的条文" in response.content.decode()
    reworded.refresh_from_db()
    assert not reworded.awaits_review
    # Another body may not confirm it.
    client.force_login(people["sam"])
    assert client.post(confirm, {"version": reworded.version}).status_code in (403, 404)
    # A repealed duty's page says so and offers no work on it.
    page = client.get(repealed.get_absolute_url()).content.decode()
    assert "已废止" in page and 'id="repealed"' in page


def test_the_lead_corrects_a_match_before_confirming(people, departments, tmp_path):
    regulation = import_regulation(read(TEXT_2024), code="sh-jcjc").regulation
    gov33 = cited(33, 2, "JN-GOV", 1)
    # The lead reads 第三十三条第二款's new words as a new duty, the old one repealed.
    corrections = [("repealed", "33.2.1", None), ("new", None, "31.2.1")]
    path = tmp_path / "lineage.json"
    path.write_text(json.dumps(corrections), encoding="utf-8")
    out = StringIO()
    call_command(
        "import_regulation",
        str(TEXT_CONSTRUCTED),
        "--amends",
        "sh-jcjc",
        "--effective",
        "2026-06-01",
        "--lineage",
        str(path),
        "--dry-run",
        "--json",
        stdout=out,
    )
    counts = json.loads(out.getvalue())["counts"]
    assert (counts["reworded"], counts["new"], counts["repealed"]) == (0, 2, 3)
    # A position the text does not have is refused in words, and nothing is written.
    with pytest.raises(RegulationFormatError, match="新文本没有条款 99.1.1"):
        services.regulation_amend(
            regulation=regulation,
            text=read(TEXT_CONSTRUCTED),
            effective=dt.date(2026, 6, 1),
            actor=people["lena"],
            corrections=[("new", None, "99.1.1")],
        )
    assert RegulationVersion.objects.filter(regulation=regulation).count() == 1
    services.regulation_amend(
        regulation=regulation,
        text=read(TEXT_CONSTRUCTED),
        effective=dt.date(2026, 6, 1),
        actor=people["lena"],
        corrections=corrections,
    )
    gov33.refresh_from_db()
    assert gov33.status == Obligation.Status.REPEALED
    fresh = cited(31, 2, "JN-GOV", 2)
    assert fresh.pk != gov33.pk and not fresh.awaits_review
    entry = AuditEntry.objects.filter(action="regulation.amended").latest("id")
    assert entry.after["corrections"] == [list(c) for c in corrections]
    # The lead may not be anyone: staff cannot amend.
    with pytest.raises(NotAllowed):
        services.regulation_amend(
            regulation=regulation, text=read(TEXT_2024) + "\n", effective=dt.date(2027, 1, 1), actor=people["gina"]
        )


def _download(response) -> bytes:
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def test_the_amendment_table_is_offered_on_the_reports_page_and_api(people, departments, client):
    lena, audrey, sam = people["lena"], people["audrey"], people["sam"]
    regulation = import_regulation(read(TEXT_2016), code="sh-jcjc").regulation
    page_url, api_url = reverse("reports:amendment-table"), reverse("reports-api:amendment-table")
    # Not amended yet: the page says so and offers nothing; a request is refused in words.
    client.force_login(lena)
    page = client.get(reverse("reports:index")).content.decode()
    assert "现有法规均未修订，暂无修订对照表。" in page and page_url not in page
    refused = client.post(api_url, {"format": "xlsx", "regulation": "sh-jcjc"}, content_type="application/json")
    assert refused.status_code == 400
    assert (
        refused.json()["code"] == "not_amended"
        and refused.json()["message"] == "《上海市检验检测条例》尚未修订，没有修订对照表。"
    )
    response = client.post(page_url, {"version": "sh-jcjc@1", "format": "xlsx"}, follow=True)
    assert "所选法规没有该修订版本，没有修订对照表。" in response.content.decode()

    services.regulation_amend(regulation=regulation, text=read(TEXT_2024), effective=dt.date(2025, 3, 1), actor=lena)
    page = client.get(reverse("reports:index")).content.decode()
    assert page_url in page and 'value="sh-jcjc@2"' in page and "《上海市检验检测条例》第2版" in page
    before = AuditEntry.objects.filter(action="report.exported").count()
    for user in (lena, audrey):
        client.force_login(user)
        response = client.post(page_url, {"version": "sh-jcjc@2", "format": "xlsx"})
        assert "修订对照表_第2版.xlsx" in unquote(response["Content-Disposition"])
        sheet = [
            list(r) for r in load_workbook(io.BytesIO(_download(response)))["修订对照表"].iter_rows(values_only=True)
        ]
        row = next(r for r in sheet if r[1] == "第七条第一款")
        assert (
            row[2] == "第七条第一款" and row[3] == "文字修改" and "〔增：市场〕" in row[6] and "市场监管部门" in row[5]
        )
        pdf = _download(client.post(page_url, {"version": "sh-jcjc@2", "format": "pdf"}))
        assert pdf.startswith(b"%PDF") and len(PdfReader(io.BytesIO(pdf)).pages) >= 1
    api = client.post(api_url, {"format": "xlsx", "regulation": "sh-jcjc"}, content_type="application/json")
    sheet = [list(r) for r in load_workbook(io.BytesIO(_download(api)))["修订对照表"].iter_rows(values_only=True)]
    assert any(r[1] == "第二十六条第一款" for r in sheet)
    missing = client.post(
        api_url, {"format": "pdf", "regulation": "sh-jcjc", "regulation_version": 3}, content_type="application/json"
    )
    assert missing.status_code == 400 and missing.json()["code"] == "no_such_version"
    # Every download is in the audit trail.
    entries = AuditEntry.objects.filter(action="report.exported").order_by("id")[before:]
    assert [(e.after["report"], e.after["format"], e.after["version"]) for e in entries] == [
        ("amendment_table", "xlsx", 2),
        ("amendment_table", "pdf", 2),
        ("amendment_table", "xlsx", 2),
        ("amendment_table", "pdf", 2),
        ("amendment_table", "xlsx", 2),
    ]

    # Staff: no offer on the page, and refused on both roads.
    client.force_login(sam)
    page = client.get(reverse("reports:index")).content.decode()
    assert page_url not in page and "修订对照表" not in page
    assert client.post(page_url, {"version": "sh-jcjc@2", "format": "xlsx"}).status_code == 403
    refused = client.post(api_url, {"format": "xlsx", "regulation": "sh-jcjc"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert AuditEntry.objects.filter(action="report.exported").count() == before + 5
