"""Issue 14, item 3: the audit trail notices a cut tail and a rewrite that recomputed the digests.

A chain alone cannot: both attacks leave a chain whose every link holds. The anchors can: the head
a report stated (`verify_audit_trail --expect-head N:DIGEST`), signed checkpoints in the database
(an HMAC with a key that is not in the database) and the checkpoint log outside the database.
Each test runs the attack as someone with database access but without the key would, and asserts
that verify_audit_trail exits non-zero naming the entry.
"""

import csv
import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from obligations import audit
from obligations.management.commands.verify_audit_trail import Command as VerifyCommand
from obligations.models import AuditCheckpoint, AuditEntry
from tests.factories import make_obligation
from tests.test_celery_worker import redis_url, worker  # noqa: F401 (fixtures)

KEY = "test-checkpoint-key-0123456789abcdef-not-for-production"
HEAD_LINE = re.compile(r"^第 (\d+) 条记录，(SHA256|SM3) ([0-9a-f]{64})$")


@pytest.fixture
def keyed(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_KEY = KEY
    settings.AUDIT_CHECKPOINT_LOG = tmp_path / "audit-checkpoints.log"
    return settings.AUDIT_CHECKPOINT_LOG


@pytest.fixture
def sign(django_capture_on_commit_callbacks):
    """Write a checkpoint as beat does, including the log line appended after the commit."""

    def sign_now(reason="schedule"):
        with django_capture_on_commit_callbacks(execute=True):
            return audit.checkpoint_write(reason=reason)

    return sign_now


def record(n: int) -> list[AuditEntry]:
    return [audit.record(audit.AuditAction.LEDGER_EXPORTED, after={"n": i}) for i in range(n)]


def verify(*args) -> str:
    out = io.StringIO()
    call_command("verify_audit_trail", *args, stdout=out)
    return out.getvalue()


def verify_fails(*args) -> str:
    with pytest.raises(CommandError) as failed:
        verify(*args)
    return str(failed.value)


def rewrite_and_recompute(entry_id: int, after: dict) -> None:
    """Edit one entry and recompute its digest and every later one: the chain holds again."""
    prev = AuditEntry.objects.filter(id__lt=entry_id).order_by("-id").values_list("hash", flat=True).first() or ""
    for entry in AuditEntry.objects.filter(id__gte=entry_id).order_by("id"):
        if entry.id == entry_id:
            entry.after = after
        entry.prev_hash = prev
        entry.hash = audit.compute_digest(entry, entry.algorithm)
        entry.save()
        prev = entry.hash


# --- The head a report states -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_report_states_the_head_as_verify_audit_trail_reads_it(
    departments, keyed, tmp_path, django_capture_on_commit_callbacks
):
    make_obligation("JN-DSJ")
    record(3)
    out = tmp_path / "report.csv"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("export_compliance_report", "--format", "csv", "-o", str(out))
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    stated = next(r[1] for r in rows if r and r[0] == "审计链头（生成时）")
    number, algorithm, digest = HEAD_LINE.match(stated).groups()
    head = AuditEntry.objects.filter(action="report.exported").get().prev_hash
    assert (int(number), algorithm, digest) == (AuditEntry.objects.get(hash=head).id, "SHA256", head)
    how = next(r[1] for r in rows if r and r[0] == "核对方法")
    assert how == f"manage.py verify_audit_trail --expect-head {number}:{digest}"

    assert f"与报告载明的链头（第 {number} 条记录）相符" in verify("--expect-head", f"{number}:{digest}")
    # The export signed the head that includes it, in the database and in the log outside it.
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.reason == "report" and checkpoint.entry_id == AuditEntry.objects.latest("id").id
    assert json.loads(keyed.read_text().splitlines()[-1])["mac"] == checkpoint.mac


@pytest.mark.django_db
def test_expect_head_catches_a_cut_tail(settings):
    entries = record(5)
    stated = f"{entries[-1].id}:{entries[-1].hash}"
    assert "审计链完整" in verify("--expect-head", stated)
    AuditEntry.objects.filter(id__in=[entries[3].id, entries[4].id]).delete()
    assert "审计链完整" in verify()  # the chain alone cannot tell: what is left links up
    message = verify_fails("--expect-head", stated)
    assert f"报告载明的链头第 {entries[4].id} 条记录不存在" in message
    assert f"现存最后一条为第 {entries[2].id} 条" in message


@pytest.mark.django_db
def test_expect_head_catches_a_rewrite_that_recomputed_every_digest(settings):
    entries = record(5)
    stated = f"{entries[-1].id}:{entries[-1].hash}"
    rewrite_and_recompute(entries[1].id, {"n": 100})
    assert audit.verify_chain().ok  # the chain alone cannot tell
    message = verify_fails("--expect-head", stated)
    assert f"第 {entries[4].id} 条记录的摘要与报告载明的不符" in message and entries[4].hash in message


@pytest.mark.django_db
def test_expect_head_is_read_strictly(settings):
    entries = record(1)
    assert "记录编号:摘要" in verify_fails("--expect-head", entries[0].hash)
    assert "记录编号:摘要" in verify_fails("--expect-head", f"{entries[0].id}:not-hex")
    assert "审计链完整" in verify("--expect-head", f"{entries[0].id}:{entries[0].hash.upper()}")


# --- Signed checkpoints -----------------------------------------------------------------------


@pytest.mark.django_db
def test_checkpoints_sign_the_head_once_and_verify(keyed, sign):
    record(3)
    first = sign()
    assert first.entry_id == AuditEntry.objects.latest("id").id and first.length == 3
    assert sign() is None  # an unchanged head is not signed again
    record(1)
    second = sign()
    assert second.length == 4
    lines = [json.loads(line) for line in keyed.read_text().splitlines()]
    assert [line["checkpoint"] for line in lines] == [first.pk, second.pk]
    assert "与签名检查点 2 个、检查点日志 2 条相符" in verify()
    assert KEY not in keyed.read_text()  # the log holds signatures, never the key


@pytest.mark.django_db
def test_checkpoints_catch_a_cut_tail_naming_the_missing_entry(keyed, sign):
    entries = record(3)
    sign()
    entries += record(2)
    sign()
    AuditEntry.objects.filter(id__in=[entries[3].id, entries[4].id]).delete()
    message = verify_fails()
    assert f"第 {entries[4].id} 条记录缺失" in message and "记录被删除" in message
    assert f"现存最后一条为第 {entries[2].id} 条" in message


@pytest.mark.django_db
def test_checkpoints_catch_a_rewrite_that_recomputed_every_digest(keyed, sign):
    entries = record(3)
    sign()
    entries += record(2)
    sign()
    rewrite_and_recompute(entries[3].id, {"n": 100})
    assert audit.verify_chain().ok
    message = verify_fails()
    assert f"第 {entries[4].id} 条记录的摘要与签名检查点" in message and "记录被改写并重算摘要" in message
    # The earlier checkpoint still holds, which narrows where the rewrite happened.
    assert f"第 {entries[2].id} 条及以前与检查点相符" in message

    # Bringing the checkpoints in line with the rewrite needs the key.
    head = AuditEntry.objects.get(id=entries[4].id).hash
    AuditCheckpoint.objects.filter(entry_id=entries[4].id).update(entry_hash=head)
    assert "的签名无效（检查点被伪造或改动）" in verify_fails()


@pytest.mark.django_db
def test_deleted_checkpoints_are_caught_by_the_log_outside_the_database(keyed, sign):
    entries = record(3)
    sign()
    entries += record(2)
    last = sign()
    # Cut the tail and delete the checkpoint that would tell: the database alone now agrees.
    AuditEntry.objects.filter(id__in=[entries[3].id, entries[4].id]).delete()
    AuditCheckpoint.objects.filter(pk=last.pk).delete()
    assert audit.verify_anchors(log_paths=[]).ok
    message = verify_fails()
    assert f"第 {entries[4].id} 条记录缺失：日志中的签名检查点 #{last.pk}" in message


@pytest.mark.django_db
def test_a_checkpoint_deleted_without_cutting_anything_is_named(keyed, sign):
    entries = record(2)
    first = sign()
    record(1)
    sign()
    AuditCheckpoint.objects.filter(pk=first.pk).delete()
    message = verify_fails()
    assert f"签名检查点 #{first.pk}（第 {entries[1].id} 条记录）在数据库中缺失（检查点被删除）" in message


@pytest.mark.django_db
def test_a_shipped_copy_of_the_log_is_checked_when_the_local_one_is_gone(keyed, sign, tmp_path):
    entries = record(3)
    sign()
    shipped = tmp_path / "shipped.log"
    shipped.write_text(keyed.read_text())
    keyed.unlink()  # someone with access to this machine removed the local log as well
    AuditCheckpoint.objects.all().delete()
    AuditEntry.objects.filter(id=entries[2].id).delete()
    message = verify_fails("--checkpoint-log", str(shipped))
    assert f"第 {entries[2].id} 条记录缺失" in message


@pytest.mark.django_db
def test_a_forged_log_line_fails_its_signature(keyed, sign):
    record(2)
    sign()
    line = json.loads(keyed.read_text())
    line["length"] = 1
    keyed.write_text(json.dumps(line) + "\n")
    assert "日志中的签名检查点" in (message := verify_fails()) and "签名无效" in message


@pytest.mark.django_db
def test_without_the_key_checkpoints_cannot_be_verified_and_none_are_written(keyed, sign, settings):
    record(1)
    sign()
    settings.AUDIT_CHECKPOINT_KEY = ""
    assert "未配置 AUDIT_CHECKPOINT_KEY" in verify_fails()
    record(1)
    assert sign() is None and AuditCheckpoint.objects.count() == 1
    # A wrong key is as good as a forgery.
    settings.AUDIT_CHECKPOINT_KEY = "another-key-0123456789abcdef-0123456789"
    assert "签名无效" in verify_fails()


@pytest.mark.django_db
def test_checkpoints_signed_with_a_retired_key_still_verify(keyed, sign, settings):
    record(1)
    sign()
    settings.AUDIT_CHECKPOINT_KEY = "the-new-key-after-rotation-0123456789abcdef"
    assert "签名无效" in verify_fails()
    settings.AUDIT_CHECKPOINT_RETIRED_KEYS = [KEY]
    record(1)
    sign()
    assert "与签名检查点 2 个、检查点日志 2 条相符" in verify()


@pytest.mark.django_db
def test_a_copy_shipped_through_syslog_is_read_despite_the_syslog_prefix(keyed, sign, tmp_path):
    entries = record(2)
    sign()
    shipped = tmp_path / "central.log"
    shipped.write_text(f"2026-11-30T09:00:00+08:00 web1 tracker-audit-checkpoint: {keyed.read_text()}")
    assert "检查点日志 1 条相符" in verify("--checkpoint-log", str(shipped))
    AuditEntry.objects.filter(id=entries[1].id).delete()
    AuditCheckpoint.objects.all().delete()
    assert f"第 {entries[1].id} 条记录缺失" in verify_fails("--checkpoint-log", str(shipped))


@pytest.mark.django_db
def test_verify_audit_trail_exits_non_zero_from_the_shell(keyed, sign, capsys):
    entries = record(2)
    sign()
    AuditEntry.objects.filter(id=entries[1].id).delete()
    with pytest.raises(SystemExit) as exit_info:
        VerifyCommand().run_from_argv(["manage.py", "verify_audit_trail"])
    assert exit_info.value.code != 0
    assert f"第 {entries[1].id} 条记录缺失" in capsys.readouterr().err


# --- Configuration and the schedule -----------------------------------------------------------


def test_check_deploy_flags_a_missing_checkpoint_key():
    from tests.test_security_settings import production_env, run_manage

    env = production_env()
    del env["AUDIT_CHECKPOINT_KEY"]
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0 and "obligations.W001" in result.stdout + result.stderr
    short = run_manage("check", env=production_env(AUDIT_CHECKPOINT_KEY="too-short"))
    assert short.returncode != 0 and "AUDIT_CHECKPOINT_KEY must be at least 32 characters" in short.stderr


@pytest.fixture
def keyed_environment(monkeypatch, tmp_path):
    """The worker is a separate process: it reads the key and the log path from its environment."""
    log = tmp_path / "worker-checkpoints.log"
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEY", KEY)
    monkeypatch.setenv("AUDIT_CHECKPOINT_LOG", str(log))
    return log


@pytest.fixture
def checkpoint_worker(keyed_environment, request):
    # Started after keyed_environment, so that the worker's environment has the key.
    return request.getfixturevalue("worker")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_beat_has_a_checkpoint_entry_that_a_real_worker_runs(keyed_environment, checkpoint_worker, settings):
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    from obligations.tasks import CHECKPOINT_TASK, write_audit_checkpoint
    from tracker.celery import app

    migration = importlib.import_module("obligations.migrations.0007_trust_audit")
    migration.create_schedule(apps, None)  # a transactional test earlier in the run may have flushed it
    entry = PeriodicTask.objects.get(name=migration.CHECKPOINT_NAME)
    assert entry.task == CHECKPOINT_TASK and entry.enabled and entry.interval.every == 10
    assert (write_audit_checkpoint.soft_time_limit, write_audit_checkpoint.time_limit) == (120, 180)

    entries = record(2)
    try:
        outcome = app.send_task(CHECKPOINT_TASK).get(timeout=90)
    except Exception as exc:
        raise AssertionError(checkpoint_worker.log_path.read_text(errors="replace")[-4000:]) from exc
    checkpoint = AuditCheckpoint.objects.get()
    assert outcome == {"checkpoint": checkpoint.pk, "entry_id": entries[-1].id}
    assert (checkpoint.reason, checkpoint.length) == ("schedule", 2)
    assert json.loads(keyed_environment.read_text())["mac"] == checkpoint.mac
    settings.AUDIT_CHECKPOINT_KEY = KEY
    assert "与签名检查点 1 个、检查点日志 1 条相符" in verify("--checkpoint-log", str(keyed_environment))
