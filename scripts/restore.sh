#!/usr/bin/env bash
# `make restore BACKUP=backups/<timestamp>`: put a backup made by scripts/backup.sh back.
#   - checks SHA256SUMS first and refuses a backup that does not match;
#   - restores database.dump into DATABASE_URL (the database must exist: createdb it first);
#     refuses a database that already has tables unless FORCE=1, which drops its public schema;
#   - unpacks evidence.tar.gz into EVIDENCE_ROOT; refuses a non-empty one unless FORCE=1, which
#     moves the old directory aside to EVIDENCE_ROOT.before-restore-<timestamp> (never deletes it).
# Stop the web and Celery processes before restoring over a live database.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "restore: $*" >&2; exit 1; }

BACKUP=${BACKUP:-}
FORCE=${FORCE:-0}
DATABASE_URL=${DATABASE_URL:-}
EVIDENCE_ROOT=${EVIDENCE_ROOT:-${TRACKER_VAR_DIR:-var}/evidence}
[ -n "$BACKUP" ] || die "usage: make restore BACKUP=backups/<timestamp> [FORCE=1]"
[ -d "$BACKUP" ] || die "no backup directory at $BACKUP"
[ -n "$DATABASE_URL" ] || die "DATABASE_URL is not set"
for f in database.dump evidence.tar.gz SHA256SUMS manifest.json; do
  [ -f "$BACKUP/$f" ] || die "$BACKUP/$f is missing: not a complete backup"
done

(cd "$BACKUP" && sha256sum --check --quiet --strict SHA256SUMS) || die "checksums do not match: the backup is damaged"

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qtAc "SELECT 1" >/dev/null \
  || die "cannot connect to DATABASE_URL (create the database first: createdb NAME)"
tables=$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
reset_schema=""
if [ "$tables" != "0" ]; then
  [ "$FORCE" = "1" ] || die "the database already has $tables tables; refusing to overwrite it (FORCE=1 to replace it)"
  echo "restore: FORCE=1, replacing the $tables tables of the target database" >&2
  reset_schema="DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
fi

move_evidence_aside=0
if [ -d "$EVIDENCE_ROOT" ] && [ -n "$(ls -A "$EVIDENCE_ROOT")" ]; then
  [ "$FORCE" = "1" ] || die "$EVIDENCE_ROOT is not empty; refusing to overwrite it (FORCE=1 moves it aside)"
  move_evidence_aside=1
fi

# One transaction: emptying the schema and loading the dump succeed together or not at all, so a
# failed restore leaves the target database exactly as it was.
{
  [ -z "$reset_schema" ] || echo "$reset_schema"
  pg_restore --no-owner --no-privileges --file=- "$BACKUP/database.dump"
} | psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction --quiet --no-psqlrc >/dev/null \
  || die "restoring the database failed; it was left as it was"

if [ "$move_evidence_aside" = "1" ]; then
  aside="$EVIDENCE_ROOT.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  mv "$EVIDENCE_ROOT" "$aside"
  echo "restore: moved the existing evidence to $aside" >&2
fi
mkdir -p "$EVIDENCE_ROOT"
tar -C "$EVIDENCE_ROOT" --no-same-owner --no-same-permissions -xzf "$BACKUP/evidence.tar.gz"

echo "restore: restored $BACKUP into the database and $EVIDENCE_ROOT"
echo "restore: check the audit chain with: python manage.py shell -c 'from obligations.audit import verify_chain; print(verify_chain())'"
