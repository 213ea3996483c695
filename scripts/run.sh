#!/usr/bin/env bash
# `make run`: migrate, import the regulation, create demo accounts (and on an empty database tell a
# year of demo work: notifications/demo.py), then run the web app,
# the Celery workers and beat together. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# Links in emails and notifications point at the server this command starts, unless told otherwise.
export SITE_URL=${SITE_URL:-http://$HOST:$PORT}
mkdir -p var

$PY manage.py migrate --noinput
$PY manage.py seed_demo
if [ "${DEBUG:-1}" = "0" ]; then $PY manage.py collectstatic --noinput >/dev/null; fi

pids=()
# Stop: TERM, then within 10 s whatever still runs is stopped hard (a Celery worker's warm
# shutdown waits for its running task; the outbox and the reminder ledger make a cut task safe).
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 16); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  if [ "$alive" = 1 ]; then
    for pid in "${pids[@]}"; do kill -QUIT "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Two workers: one for the default queue (sweeps, reports, bulk deliveries) and a small one that
# serves only `notices`, so a decision's notice never waits behind the other queue's backlog
# (settings: broker).
.venv/bin/celery -A tracker worker -Q celery -n main@%h --loglevel=INFO --concurrency=2 >var/worker.log 2>&1 &
pids+=($!)
.venv/bin/celery -A tracker worker -Q notices -n notices@%h --loglevel=INFO --concurrency=1 >var/worker-notices.log 2>&1 &
pids+=($!)
.venv/bin/celery -A tracker beat --loglevel=INFO >var/beat.log 2>&1 &
pids+=($!)

echo
if [ "${DEBUG:-1}" = "0" ] && [ "${SECURE_SSL_REDIRECT:-1}" != "0" ]; then
  # Production behind TLS: plain http answers 301 to https, which nothing here serves.
  echo "督办系统已按生产设置启动（DEBUG=0）：http 请求会被重定向到 https，须由前置的 nginx 提供 TLS（docs/deployment.md）。"
  echo "在本机用 http 试用生产设置，请改用： make run-local-production"
else
  echo "督办系统已启动： http://$HOST:$PORT/   （API 文档： http://$HOST:$PORT/api/docs/）"
fi
echo "Celery worker 与 beat 日志：var/worker.log、var/worker-notices.log、var/beat.log；按 Ctrl-C 停止。"
echo
if [ "${DEBUG:-1}" = "0" ]; then
  # gthread: a process per core, 2 threads each (chosen by measurement, docs/benchmarks.md, issue 18).
  .venv/bin/gunicorn tracker.wsgi --bind "$HOST:$PORT" --workers "${WEB_CONCURRENCY:-2}" --threads "${WEB_THREADS:-2}" &
else
  $PY manage.py runserver "$HOST:$PORT" --noreload &
fi
pids+=($!)
wait -n
