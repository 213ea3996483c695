"""Drill: `make backup` while evidence keeps being uploaded.

A separate process (as the web server is) uploads evidence files through the service without a
pause; meanwhile `scripts/backup.sh` runs several times against the same database and evidence
directory. Every run must exit 0 and leave a finished backup; the last one, restored into a fresh
database and an empty evidence directory, gives back a file for every evidence row of the dump,
each matching its recorded digest, and an intact audit chain. Files uploaded after the dump's
snapshot may be missing from the archive (no row of the dump refers to them); no file in the
archive is cut short."""

import datetime as dt
import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from django.db import connection

from obligations.models import Evidence
from tests.factories import make_obligation
from tests.test_backup_restore import database_url, probe, run_script, scratch_database  # noqa: F401

from .support import BASE_DIR, PYTHON, child_env, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

RUNS = 3

UPLOADER = """
import django, os, random, sys
django.setup()
from pathlib import Path
from django.core.files.uploadedfile import SimpleUploadedFile
from accounts.models import User
from obligations.models import Obligation
from obligations.services import evidence_add
stop = Path(sys.argv[1])
obligation = Obligation.objects.get(pk=int(sys.argv[2]))
alice = User.objects.get(username="alice")
n = 0
while not stop.exists():
    body = os.urandom(random.randint(32 * 1024, 512 * 1024))
    upload = SimpleUploadedFile("方案.pdf", b"%PDF-1.4\\n" + body + b"\\n%%EOF\\n", content_type="application/pdf")
    evidence_add(obligation=obligation, actor=alice, kind="file", description=f"材料{n}", file=upload)
    n += 1
    print(n, flush=True)
"""


def test_backup_while_evidence_is_uploaded_exits_0_and_restores_whole(cast, scratch_database, tmp_path):  # noqa: F811
    evidence_root = tmp_path / "evidence"
    evidence_root.mkdir()
    obligation = make_obligation(cast["alice"].department, dt.date(2026, 12, 31))
    source_url = database_url(connection.settings_dict["NAME"])
    env = child_env(database_url=source_url, redis_url="redis://127.0.0.1:1/0", EVIDENCE_ROOT=str(evidence_root))
    stop = tmp_path / "stop"
    log = (tmp_path / "uploader.log").open("w")
    uploader = subprocess.Popen(
        [PYTHON, "-c", UPLOADER, str(stop), str(obligation.id)], cwd=BASE_DIR, env=env, stdout=log, stderr=log
    )
    results = []
    try:
        wait_for(lambda: Evidence.objects.count() >= 30 or uploader.poll() is not None, 180, "the first uploads")
        assert uploader.poll() is None, (tmp_path / "uploader.log").read_text()[-3000:]
        for i in range(RUNS):
            before = Evidence.objects.count()
            result = run_script("backup.sh", {"DATABASE_URL": source_url, "EVIDENCE_ROOT": str(evidence_root)},
                                BACKUP_DIR=str(tmp_path / "backups" / str(i)))  # fmt: skip
            results.append((result, before, Evidence.objects.count()))
    finally:
        stop.touch()
        uploader.wait(60)
        log.close()
    assert uploader.returncode == 0, (tmp_path / "uploader.log").read_text()[-3000:]

    for result, before, after in results:
        assert result.returncode == 0, result.stderr
        assert after > before, "no upload happened while the backup ran: the drill proved nothing"
    folder = Path(results[-1][0].stdout.strip().splitlines()[-1])
    manifest = json.loads((folder / "manifest.json").read_text())
    with tarfile.open(folder / "evidence.tar.gz") as archive:
        archived = {m.name.removeprefix("./") for m in archive.getmembers() if m.isfile()}
    assert manifest["evidence_files"] == len(archived)
    assert not [name for name in archived if Path(name).name.startswith(".")], "a file still being written"

    restored = tmp_path / "restored"
    target_url = database_url(scratch_database)
    restore = run_script("restore.sh", {"DATABASE_URL": target_url, "EVIDENCE_ROOT": str(restored)}, BACKUP=str(folder))
    assert restore.returncode == 0, restore.stderr
    after = probe(target_url, restored)
    files = after["evidence_files_match_digests"]
    assert after["chain"]["ok"]
    assert len(files) >= results[-1][1] and all(files.values())  # every row of the dump has its whole file
    assert set(files) <= archived
    for name in archived:  # anything archived beyond the dump's rows is whole too (its row came later)
        evidence = Evidence.objects.get(file=name)
        assert hashlib.sha256((restored / name).read_bytes()).hexdigest() == evidence.digest
    print(
        f"\nbackup drill: {RUNS} backups during {Evidence.objects.count()} uploads, all exit 0; "
        f"last archived {len(archived)} files, dump has {len(files)} evidence rows"
    )
