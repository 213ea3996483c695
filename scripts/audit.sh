#!/usr/bin/env bash
# Known vulnerabilities in the pinned requirements (pip-audit) and high-severity bandit findings.
#
# Exit status: 0 nothing found; 1 vulnerabilities (or a package pip-audit could not check, or a
# bandit finding); 2 the advisory service could not be reached, so nothing was audited: that is
# not a pass, and it says so instead of pip-audit's stack trace or its "No known vulnerabilities
# found" above a table of skipped packages.
#
# PIP_AUDIT_SERVICE=pypi (default: PyPI's JSON API, one request per release,
# https://pypi.org/pypi/NAME/VERSION/json) or osv (https://api.osv.dev). docs/deployment.md §7.
set -uo pipefail
VENV=${VENV:-.venv}
SERVICE=${PIP_AUDIT_SERVICE:-pypi}
REQUIREMENTS=${AUDIT_REQUIREMENTS:-requirements-dev.txt}
DJANGO_VERSION=$(sed -n 's/^Django==//p' requirements.txt)

# One question the audit will ask, about a release that certainly exists (the pinned Django).
probe_error=$("$VENV/bin/python" - "$SERVICE" "$DJANGO_VERSION" <<'PY'
import json
import sys
import urllib.request

service, version = sys.argv[1], sys.argv[2]
if service == "osv":
    body = json.dumps({"package": {"name": "django", "ecosystem": "PyPI"}, "version": version}).encode()
    request = urllib.request.Request("https://api.osv.dev/v1/query", data=body, method="POST")
else:
    request = urllib.request.Request(f"https://pypi.org/pypi/Django/{version}/json")
try:
    urllib.request.urlopen(request, timeout=30).close()  # noqa: S310 (fixed https URLs)
except Exception as exc:  # noqa: BLE001 (any failure means: cannot audit)
    print(f"{request.full_url}: {exc}")
PY
)

status=0
if [ -n "$probe_error" ]; then
  echo "pip-audit: CANNOT REACH THE ADVISORY SERVICE ($SERVICE): $probe_error"
  echo "pip-audit: nothing was audited. This is not a pass: run 'make audit' where the network reaches it (docs/deployment.md, section 7)."
  # What can still be said offline from the advisory service: are the runtime pins the newest
  # patch release of their series (where security fixes ship)? Information only; still exit 2.
  "$VENV/bin/python" scripts/pin_freshness.py requirements.txt
  status=2
elif ! "$VENV/bin/pip-audit" --strict --requirement "$REQUIREMENTS" --vulnerability-service "$SERVICE" --progress-spinner off; then
  echo "pip-audit: VULNERABILITIES FOUND (or a package could not be checked): see above."
  status=1
fi

if ! "$VENV/bin/bandit" --quiet --recursive accounts obligations tracker notifications reports dashboard \
    -lll --exclude '*/migrations/*'; then
  echo "bandit: HIGH-SEVERITY FINDINGS: see above."
  status=1
fi
exit $status
