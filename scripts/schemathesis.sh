#!/usr/bin/env bash
# Fuzz the REST API with schemathesis against a live server, as a logged-in staff user (token),
# and fail on any 5xx. Uses DATABASE_URL (the demo data is seeded into it) and a free local port.
set -euo pipefail
PY=${PY:-.venv/bin/python}
# A free port picked by the OS: other servers may be running on this machine.
PORT=${SCHEMATHESIS_PORT:-$($PY -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
MAX_TIME=${SCHEMATHESIS_MAX_TIME:-120}
USERNAME=${SCHEMATHESIS_USER:-staff_dsj}
export DEBUG=${DEBUG:-1}

$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo >/dev/null
TOKEN=$($PY manage.py shell -c "
from rest_framework.authtoken.models import Token
from accounts.models import User
print(Token.objects.get_or_create(user=User.objects.get(username='$USERNAME'))[0].key)
" 2>/dev/null | tail -n1)

LOG=$(mktemp)
$PY manage.py runserver "127.0.0.1:$PORT" --noreload >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 60); do
  kill -0 $SERVER 2>/dev/null || { echo "server did not start:"; cat "$LOG"; exit 1; }
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.5
done

# The schema itself needs a login too; fetch it with the token, then fuzz from the file.
SCHEMA=$(mktemp --suffix=.json)
trap 'kill $SERVER 2>/dev/null || true; rm -f "$LOG" "$SCHEMA"' EXIT
curl -fsS -H "Authorization: Token $TOKEN" "http://127.0.0.1:$PORT/api/schema/?format=json" -o "$SCHEMA"

status=0
.venv/bin/schemathesis run "$SCHEMA" \
  --url "http://127.0.0.1:$PORT" \
  -H "Authorization: Token $TOKEN" \
  --checks not_a_server_error \
  --max-time "$MAX_TIME" \
  --workers 1 \
  --exclude-path /api/auth/token/ \
  --continue-on-failure || status=$?
# Anything the server logged as a traceback is a finding too.
if grep -q "Traceback" "$LOG"; then
  echo "server tracebacks:"; grep -B2 -A25 "Traceback" "$LOG" | head -200
  status=1
fi
exit $status
