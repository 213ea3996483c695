#!/usr/bin/env bash
# `make backup`: a consistent copy of everything the tracker cannot recreate.
#   backups/<UTC timestamp>/database.dump   pg_dump custom format (-Fc) of DATABASE_URL
#   backups/<UTC timestamp>/evidence.tar.gz  every evidence file under EVIDENCE_ROOT
#   backups/<UTC timestamp>/SHA256SUMS       `sha256sum -c SHA256SUMS` checks both
#   backups/<UTC timestamp>/manifest.json    what, when, from where, sizes and digests
# The database is dumped first and the files second, and uploads may go on meanwhile. Evidence
# files are written once (core.storage: finished under a hidden name, then linked into place,
# never changed), so the archive takes the finished files no newer than the end of the dump:
# every file a row of the dump refers to, none still being written. Hidden `.partial-*` files
# (writes in progress, or left by a process that died) are never archived.
# Environment: DATABASE_URL (required, PostgreSQL), EVIDENCE_ROOT (default var/evidence),
# BACKUP_DIR (default backups).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "backup: $*" >&2; exit 1; }

DATABASE_URL=${DATABASE_URL:-}
[ -n "$DATABASE_URL" ] || die "DATABASE_URL is not set (backups are taken from PostgreSQL)"
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) die "DATABASE_URL must be a postgres:// URL, got ${DATABASE_URL%%://*}://…" ;;
esac
command -v pg_dump >/dev/null || die "pg_dump not found (apt-get install postgresql-client)"
EVIDENCE_ROOT=${EVIDENCE_ROOT:-${TRACKER_VAR_DIR:-var}/evidence}
BACKUP_DIR=${BACKUP_DIR:-backups}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$BACKUP_DIR/$stamp"
partial="$target.partial"
[ ! -e "$target" ] || die "$target already exists"
umask 077  # the dump holds personal data: readable by the backup's owner only
mkdir -p "$partial"
# A failed or interrupted run leaves no directory that looks like a finished backup.
trap 'rm -rf "$partial"' EXIT

pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$partial/database.dump" "$DATABASE_URL" \
  || die "pg_dump failed"

# Touched after the dump ended: a file whose row the dump holds was finished before its row was
# committed, so it is no newer than this.
marker="$(cd "$partial" && pwd)/.dumped"
touch "$marker"
if [ -d "$EVIDENCE_ROOT" ]; then
  # Only names listed, no directories walked, so files added meanwhile are not looked at; a file
  # removed between the listing and the copy (an upload that failed, so no row refers to it) is
  # skipped (--ignore-failed-read) rather than failing the backup.
  (cd "$EVIDENCE_ROOT" && find . -type f ! -name '.*' ! -newer "$marker" -print0) >"$partial/.files"
  tar -C "$EVIDENCE_ROOT" --null --no-recursion --ignore-failed-read --files-from="$partial/.files" \
    -czf "$partial/evidence.tar.gz"
  rm -f "$partial/.files"
else
  echo "backup: no evidence directory at $EVIDENCE_ROOT, archiving nothing" >&2
  empty=$(mktemp -d)
  tar -C "$empty" -czf "$partial/evidence.tar.gz" .
  rmdir "$empty"
fi
evidence_files=$(tar -tzf "$partial/evidence.tar.gz" | grep -vc '/$' || true)

(cd "$partial" && sha256sum database.dump evidence.tar.gz >SHA256SUMS)

# The manifest names the database without its password.
python3 - "$partial" "$stamp" "$DATABASE_URL" "$EVIDENCE_ROOT" "$evidence_files" "$(pg_dump --version)" <<'PY'
import hashlib, json, sys
from pathlib import Path
from urllib.parse import urlsplit

folder, stamp, url, evidence_root, evidence_files, pg_dump_version = sys.argv[1:]
parts = urlsplit(url)
files = {}
for name in ("database.dump", "evidence.tar.gz"):
    path = Path(folder) / name
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    files[name] = {"size": path.stat().st_size, "sha256": digest.hexdigest()}
manifest = {
    "format": 1,
    "created_at": stamp,
    "database": {"host": parts.hostname, "port": parts.port or 5432, "name": parts.path.lstrip("/"), "user": parts.username},
    "pg_dump": pg_dump_version,
    "evidence_root": evidence_root,
    "evidence_files": int(evidence_files),
    "files": files,
}
(Path(folder) / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
PY

rm -f "$marker"
mv "$partial" "$target"
trap - EXIT
echo "$target"
