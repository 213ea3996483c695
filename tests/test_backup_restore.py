"""`make backup` / `make restore`: a backup restored into a fresh database gives back the same
data, the same evidence files and an intact audit chain.

What is compared lives in PROBE: a script run against a database in its own process (its own
DATABASE_URL), printing one JSON object. To compare another view of the data after a restore
(the compliance report, when it lands), add a key to PROBE; the test compares every key.
"""

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import hashlib, json, django
django.setup()
from django.apps import apps
from django.conf import settings
from obligations.audit import chain_head, verify_chain
from obligations.models import Evidence

counts = {
    m._meta.label: m.objects.count()
    for m in apps.get_models()
    if m._meta.app_label in {"accounts", "obligations"}
}
check = verify_chain()
files = {}
for ev in Evidence.objects.exclude(file="").order_by("id"):
    with ev.file.open("rb") as fh:
        files[ev.file.name] = hashlib.sha256(fh.read()).hexdigest() == ev.digest
print(json.dumps({
    "counts": counts,
    "chain": {"ok": check.ok, "checked": check.checked, "head": chain_head()},
    "evidence_files_match_digests": files,
    # "compliance_report": <the report's as-of numbers>, once reports land.
}, sort_keys=True))
"""


def database_url(name: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def admin_connection():
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def run_script(script, env, **extra):
    full = {**os.environ, **env, **extra}
    return subprocess.run(
        ["bash", f"scripts/{script}"], cwd=ROOT, env=full, capture_output=True, text=True, timeout=300
    )


def probe(url: str, evidence_root: Path) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "EVIDENCE_ROOT": str(evidence_root)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scratch_database():
    """A uniquely named, empty database, dropped afterwards."""
    name = f"tr_restore_{uuid.uuid4().hex[:10]}"
    with admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def tracked_data(transactional_db, regulation, cast, settings, tmp_path):
    """The seed regulation plus some work with evidence files, committed so pg_dump sees it."""
    from django.core.files.base import ContentFile

    from obligations import audit
    from obligations.models import Evidence, Obligation, ProgressEntry

    settings.MEDIA_ROOT = tmp_path / "evidence"
    alice = cast["alice"]
    obligations = list(Obligation.objects.filter(department=alice.department)[:2])
    assert obligations, "the seed regulation gives 大数据局 obligations"
    for i, obligation in enumerate(obligations):
        entry = ProgressEntry.objects.create(
            obligation=obligation, department=alice.department, author=alice, text=f"已完成第{i + 1}阶段", percent=50
        )
        audit.record("progress.added", obligation=obligation, actor=alice, after={"progress_id": entry.id})
        content = f"佐证材料 {i} —— 红头文件".encode() * 100
        evidence = Evidence(
            obligation=obligation,
            department=alice.department,
            kind=Evidence.Kind.FILE,
            description=f"材料{i}",
            original_name=f"材料{i}.pdf",
            size=len(content),
            digest=hashlib.sha256(content).hexdigest(),
            digest_algorithm="sha256",
            uploaded_by=alice,
        )
        evidence.file.save("ignored.pdf", ContentFile(content), save=True)
        audit.record("evidence.added", obligation=obligation, actor=alice, after={"evidence_id": evidence.id})
    return tmp_path / "evidence"


def test_backup_restores_into_a_fresh_database_with_the_same_data(tracked_data, scratch_database, tmp_path):
    source_url = database_url(connection.settings_dict["NAME"])
    before = probe(source_url, tracked_data)
    assert before["chain"]["ok"] and before["chain"]["checked"] > 2
    assert len(before["evidence_files_match_digests"]) == 2

    backup = run_script(
        "backup.sh",
        {"DATABASE_URL": source_url, "EVIDENCE_ROOT": str(tracked_data)},
        BACKUP_DIR=str(tmp_path / "backups"),
    )
    assert backup.returncode == 0, backup.stderr
    folder = Path(backup.stdout.strip().splitlines()[-1])
    assert folder.parent == tmp_path / "backups" and folder.is_dir()
    assert folder.stat().st_mode & 0o777 == 0o700  # personal data: the backup's owner only
    assert (folder / "database.dump").stat().st_mode & 0o777 == 0o600
    manifest = json.loads((folder / "manifest.json").read_text())
    for name in ("database.dump", "evidence.tar.gz"):
        data = (folder / name).read_bytes()
        assert manifest["files"][name] == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert manifest["evidence_files"] == 2
    assert "password" not in json.dumps(manifest).lower()

    restored_evidence = tmp_path / "restored-evidence"
    target_url = database_url(scratch_database)
    restore = run_script(
        "restore.sh", {"DATABASE_URL": target_url, "EVIDENCE_ROOT": str(restored_evidence)}, BACKUP=str(folder)
    )
    assert restore.returncode == 0, restore.stderr

    after = probe(target_url, restored_evidence)
    assert after == before
    assert all(after["evidence_files_match_digests"].values())


@pytest.fixture
def registry_only(transactional_db, departments, tmp_path):
    """A cheaper source than tracked_data: the department registry and one stray evidence file."""
    (tmp_path / "evidence" / "evidence").mkdir(parents=True)
    (tmp_path / "evidence" / "evidence" / "stray").write_bytes(b"x")
    return tmp_path / "evidence"


def test_restore_refuses_a_non_empty_database_unless_forced(registry_only, scratch_database, tmp_path):
    source_url = database_url(connection.settings_dict["NAME"])
    env = {"DATABASE_URL": source_url, "EVIDENCE_ROOT": str(registry_only)}
    folder = Path(run_script("backup.sh", env, BACKUP_DIR=str(tmp_path / "b")).stdout.strip().splitlines()[-1])

    target = {"DATABASE_URL": database_url(scratch_database), "EVIDENCE_ROOT": str(tmp_path / "restored")}
    assert run_script("restore.sh", target, BACKUP=str(folder)).returncode == 0

    refused = run_script("restore.sh", target, BACKUP=str(folder))
    assert refused.returncode != 0
    assert "refusing to overwrite" in refused.stderr

    forced = run_script("restore.sh", target, BACKUP=str(folder), FORCE="1")
    assert forced.returncode == 0, forced.stderr
    assert probe(target["DATABASE_URL"], tmp_path / "restored")["chain"]["ok"]
    # The evidence that was there is moved aside, not deleted.
    assert list(tmp_path.glob("restored.before-restore-*"))


def test_restore_refuses_a_damaged_backup(registry_only, scratch_database, tmp_path):
    source_url = database_url(connection.settings_dict["NAME"])
    env = {"DATABASE_URL": source_url, "EVIDENCE_ROOT": str(registry_only)}
    folder = Path(run_script("backup.sh", env, BACKUP_DIR=str(tmp_path / "b")).stdout.strip().splitlines()[-1])
    dump = folder / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    target = {"DATABASE_URL": database_url(scratch_database), "EVIDENCE_ROOT": str(tmp_path / "restored")}
    result = run_script("restore.sh", target, BACKUP=str(folder))
    assert result.returncode != 0
    assert "checksums do not match" in result.stderr
    with psycopg.connect(target["DATABASE_URL"]) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()
    assert tables == (0,)


def test_backup_needs_a_postgres_database_url(tmp_path):
    result = run_script("backup.sh", {"DATABASE_URL": "sqlite:///x.sqlite3"}, BACKUP_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "postgres" in result.stderr
