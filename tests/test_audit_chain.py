"""The tamper-evident audit trail: SM3 next to SHA-256, and verify_audit_trail finding the first
broken link."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import BaseCommand

from obligations import audit
from obligations.management.commands.verify_audit_trail import Command as VerifyCommand
from obligations.models import AuditEntry

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_pure_python_sm3_matches_the_gbt_32905_vectors():
    assert audit.SM3(b"abc").hexdigest() == SM3_ABC
    assert audit.SM3(b"abcd" * 16).hexdigest() == SM3_ABCD16
    # Fed in pieces across block boundaries, the same digest.
    h, data = audit.SM3(), b"abcd" * 16
    for piece in [data[:3], data[3:50], data[50:63], data[63:]]:
        h.update(piece)
    assert h.hexdigest() == SM3_ABCD16
    assert audit.SM3(b"").hexdigest() == "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"


def test_new_hasher_gives_sm3_with_or_without_openssl(monkeypatch):
    assert audit.new_hasher("sm3", b"abc").hexdigest() == SM3_ABC
    monkeypatch.setattr(audit, "OPENSSL_SM3", False)
    hasher = audit.new_hasher("sm3", b"abc")
    assert isinstance(hasher, audit.SM3) and hasher.hexdigest() == SM3_ABC
    assert audit.new_hasher("sha256", b"abc").hexdigest() == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(ValueError):
        audit.new_hasher("md5")


@pytest.fixture
def entries(db, settings):
    settings.AUDIT_DIGEST_ALGORITHM = "sha256"
    first = audit.record(audit.AuditAction.REPORT_EXPORTED, after={"n": 1})
    settings.AUDIT_DIGEST_ALGORITHM = "sm3"
    second = audit.record(audit.AuditAction.REPORT_EXPORTED, before={"n": 1}, after={"n": 2, "备注": "国密"})
    third = audit.record(audit.AuditAction.REPORT_EXPORTED, after={"n": 3})
    return [first, second, third]


def test_the_chain_records_each_entrys_algorithm_and_verifies_across_a_switch(entries):
    first, second, third = entries
    assert [e.algorithm for e in entries] == ["sha256", "sm3", "sm3"]
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert second.hash == audit.compute_digest(second, "sm3") != audit.compute_digest(second, "sha256")
    result = audit.verify_chain()
    assert result.ok and result.checked == 3 and result.head == third.hash


def test_verify_audit_trail_reports_an_intact_chain(entries):
    out = io.StringIO()
    call_command("verify_audit_trail", stdout=out)
    assert "审计链完整：共 3 条记录" in out.getvalue()
    assert entries[-1].hash in out.getvalue()


def test_verify_audit_trail_finds_an_edited_entry_and_exits_non_zero(entries, capsys):
    AuditEntry.objects.filter(id=entries[1].id).update(after={"n": 20, "备注": "国密"})
    with pytest.raises(CommandError) as broken:
        call_command("verify_audit_trail")
    assert f"第 {entries[1].id} 号记录处断裂" in str(broken.value)
    assert "记录被修改" in str(broken.value) and "此前 1 条记录校验通过" in str(broken.value)

    # Run as from the shell: a non-zero exit status and the Chinese message on stderr.
    with pytest.raises(SystemExit) as exit_info:
        VerifyCommand().run_from_argv(["manage.py", "verify_audit_trail"])
    assert exit_info.value.code != 0
    assert "审计链校验失败" in capsys.readouterr().err


def test_verify_audit_trail_finds_a_deleted_entry(entries):
    # Entries are protected by the app, not by the database: a DBA can still delete one.
    AuditEntry.objects.filter(id=entries[1].id).delete()
    result = audit.verify_chain()
    assert not result.ok and result.broken_id == entries[2].id and "删除或插入" in result.reason


def test_verify_audit_trail_finds_a_rewritten_hash(entries):
    # Recomputing one entry's own hash after editing it still breaks the next link.
    entry = AuditEntry.objects.get(id=entries[0].id)
    entry.after = {"n": 100}
    entry.hash = audit.compute_digest(entry, entry.algorithm)
    entry.save()
    result = audit.verify_chain()
    assert not result.ok and result.broken_id == entries[1].id


def test_an_empty_chain_is_reported_as_empty(db):
    out = io.StringIO()
    call_command("verify_audit_trail", stdout=out)
    assert "审计链为空" in out.getvalue()
    assert issubclass(VerifyCommand, BaseCommand)
