"""Importing from every form: the same obligations from .txt, .docx, PDF and web pages; the dry
run before migrate; bodies the registry lacks proposed, waiting (待确认) and confirmed by the admin;
the admin's import page with its preview."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Department
from core.errors import Conflict, NotAllowed
from obligations import services
from obligations.models import AuditEntry, Obligation
from regulations.models import BodyProposal, Clause
from tests import regulation_forms as forms
from tests.conftest import SEED_TEXT

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
CONSTRUCTED = ROOT / "tests" / "corpus" / "constructed-forms.txt"

WRITERS = {
    "txt": lambda text: text.encode("utf-8"),
    "docx": forms.to_docx,
    "pdf": forms.to_pdf,
    "html-utf8": forms.to_html,
    "html-gbk": lambda text: forms.to_html(text, encoding="gbk"),
}


def obligations_of_the_import():
    return sorted(
        Obligation.objects.values_list(
            "clause__article__number", "clause__paragraph_number", "clause__ordinal", "department__code"
        )
    )


def write(tmp_path, form, text, name="jinan"):
    suffix = form.split("-")[0]
    path = tmp_path / f"{name}.{suffix}"
    path.write_bytes(WRITERS[form](text))
    return path


@pytest.fixture(scope="module")
def from_plain_text(django_db_setup, django_db_blocker):
    """The obligations the plain text gives, from an import rolled back at once."""
    from django.db import transaction

    from obligations.seeding import import_regulation
    from regulations.registry import load_departments

    with django_db_blocker.unblock(), transaction.atomic():
        load_departments()
        import_regulation(SEED_TEXT.read_text(encoding="utf-8"), code="jinan")
        result = obligations_of_the_import()
        transaction.set_rollback(True)
    return result


@pytest.mark.parametrize("form", ["docx", "pdf", "html-utf8", "html-gbk"])
def test_every_form_of_the_jinan_regulation_gives_the_same_obligations(tmp_path, from_plain_text, form):
    call_command(
        "import_regulation", str(write(tmp_path, form, SEED_TEXT.read_text(encoding="utf-8"))), stdout=StringIO()
    )
    assert obligations_of_the_import() == from_plain_text
    assert Clause.objects.filter(kind="duty").count() == 57
    assert len(from_plain_text) > 57


@pytest.mark.parametrize("form", sorted(WRITERS))
def test_the_dry_run_json_keeps_its_fields_and_names_the_source_format(departments, tmp_path, form):
    out = StringIO()
    call_command(
        "import_regulation", str(write(tmp_path, form, CONSTRUCTED.read_text())), dry_run=True, json=True, stdout=out
    )
    rows = json.loads(out.getvalue())
    assert {"article", "paragraph", "text", "subject", "departments", "cooperating", "kind"} <= set(rows[0])
    assert {row["source_format"] for row in rows} == {form.split("-")[0]}
    assert not Clause.objects.exists()


def run_manage(*args, database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_dry_run_works_on_a_fresh_checkout_before_migrate(tmp_path):
    fresh = f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"
    pdf = write(tmp_path, "pdf", SEED_TEXT.read_text(encoding="utf-8"))
    done = run_manage("import_regulation", str(pdf), "--dry-run", "--json", database_url=fresh)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert sum(1 for row in rows if row["kind"] == "duty") == 57
    article_4 = next(row for row in rows if row["article"] == 4)
    assert article_4["source_format"] == "pdf" and article_4["departments"][0] == "济南市人民政府"
    # A real import says in one Chinese line what to do first, without a traceback.
    refused = run_manage("import_regulation", str(pdf), database_url=fresh)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == ["CommandError: 数据库尚未初始化，请先运行：python manage.py migrate"]


# ---------------------------------------------------------------------------------------------
# Bodies the registry lacks
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def constructed(departments):
    from obligations.seeding import import_regulation

    return import_regulation(CONSTRUCTED.read_text(encoding="utf-8"), code="constructed")


def test_unknown_bodies_are_proposed_and_their_duties_wait(constructed):
    proposals = {p.name: p for p in BodyProposal.objects.all()}
    # Jinan's registry knows 工业和信息化, not 经济和信息化: that body is proposed too.
    assert set(proposals) == {
        "市经济与信息化主管部门",
        "市大数据中心",
        "大数据管理机构",
        "浦东新区",
        "市政府办公厅",
        "社会保险经办机构",
    }
    assert set(constructed.proposed) == set(proposals)
    assert (proposals["浦东新区"].level, proposals["浦东新区"].kind) == ("district", "government")
    assert (proposals["市大数据中心"].level, proposals["市大数据中心"].kind) == ("city", "department")
    waiting = Clause.objects.get(article__number=6)
    assert waiting.awaits_confirmation and waiting.unresolved == ["市大数据中心"]
    assert not Obligation.objects.filter(clause=waiting).exists()
    assert len(proposals["市大数据中心"].waiting_clauses()) == 2  # 第六条 and 第十二条's first item


def test_confirming_a_body_creates_the_waiting_obligations_with_audit_entries(constructed, cast):
    proposal = BodyProposal.objects.get(name="市大数据中心")
    before = AuditEntry.objects.count()
    decision = services.body_proposal_confirm(proposal=proposal, actor=cast["adam"], code="X-DSJZX")
    assert decision.department.name == "市大数据中心" and decision.obligations_created == 2
    created = Obligation.objects.filter(department__code="X-DSJZX")
    assert sorted(created.values_list("clause__article__number", flat=True)) == [6, 12]
    actions = list(AuditEntry.objects.order_by("id")[before:].values_list("action", "actor__username"))
    assert ("registry.body_confirmed", "adam") in actions
    assert actions.count(("obligation.created", "adam")) == 2
    assert not Clause.objects.get(article__number=6).awaits_confirmation
    # A later import keeps the decision.
    from obligations.seeding import import_regulation

    assert import_regulation(CONSTRUCTED.read_text(encoding="utf-8"), code="constructed").unchanged
    with pytest.raises(Conflict):
        services.body_proposal_confirm(proposal=proposal, actor=cast["adam"])


def test_mapping_a_body_onto_an_existing_one(constructed, cast, departments):
    proposal = BodyProposal.objects.get(name="市政府办公厅")
    decision = services.body_proposal_map(proposal=proposal, actor=cast["adam"], department=departments["JN-GOV"])
    assert decision.obligations_created == 1
    assert Obligation.objects.filter(clause__article__number=9, department__code="JN-GOV").exists()
    assert BodyProposal.objects.get(pk=proposal.pk).status == BodyProposal.Status.MAPPED


def test_only_an_admin_decides_on_a_body(constructed, cast):
    with pytest.raises(NotAllowed):
        services.body_proposal_confirm(proposal=BodyProposal.objects.first(), actor=cast["lena"])
    assert not Department.objects.filter(code__startswith="NEW-").exists()


# ---------------------------------------------------------------------------------------------
# The admin's import page
# ---------------------------------------------------------------------------------------------


def test_the_admin_imports_a_pdf_after_a_preview(client, departments, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="pw-Secret-123", role="admin")
    client.force_login(admin)
    url = "/admin/regulations/regulation/import/"
    assert "导入法规" in client.get("/admin/regulations/regulation/").content.decode()
    pdf = forms.to_pdf(CONSTRUCTED.read_text(encoding="utf-8"))
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post(url, {"file": SimpleUploadedFile("gong-gong-shu-ju.pdf", pdf), "preview": "1"})
    text = page.content.decode()
    assert page.status_code == 200 and "预览" in text and "（PDF）" in text and "市大数据中心" in text
    assert not Clause.objects.exists()
    done = client.post(url, {"confirm": "1"}, follow=True)
    assert "已导入《某市公共数据条例（构造样例）》" in done.content.decode()
    assert Clause.objects.filter(kind="duty").exists() and BodyProposal.objects.count() == 6

    scan = client.post(
        url,
        {"file": SimpleUploadedFile("scan.pdf", forms.to_pdf("第一条 测试。", with_text_layer=False)), "preview": "1"},
    )
    assert "扫描件" in scan.content.decode()
    wrong = client.post(url, {"file": SimpleUploadedFile("law.exe", b"MZ"), "preview": "1"})
    assert "只支持" in wrong.content.decode()
