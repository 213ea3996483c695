#!/usr/bin/env bash
# `make reset-demo`: throw the demo's data away and tell the demo story again, on the default
# SQLite database under var/. Refuses any other database: drop and recreate that one yourself
# (dropdb / createdb), then `make run` migrates and seeds it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
case "${DATABASE_URL:-}" in
  "" | sqlite:*) ;;
  *)
    echo "make reset-demo only resets the default SQLite database (var/db.sqlite3)." >&2
    echo "DATABASE_URL points elsewhere: drop and recreate that database yourself, then run make run." >&2
    exit 1
    ;;
esac
if [ -n "${DATABASE_URL:-}" ] && [ "${DATABASE_URL#sqlite:///}" != "$DATABASE_URL" ]; then
  db="${DATABASE_URL#sqlite:///}"
else
  db=var/db.sqlite3
fi
echo "removing $db and the demo's files under var/ (evidence, exports, broker, logs)"
rm -f "$db" "$db-journal" "$db-wal" "$db-shm"
rm -rf var/evidence var/exports var/broker var/audit-checkpoints.log var/worker.log var/beat.log var/celerybeat-schedule*
mkdir -p var
$PY manage.py migrate --noinput >/dev/null
$PY manage.py seed_demo
