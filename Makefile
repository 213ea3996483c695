# Two commands for a newcomer: `make run` and `make test`. Everything else is set-up they call.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Tests run against the real PostgreSQL and Redis on this machine unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tracker
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run-local-production run test setup services browser fonts reset-demo e2e bench bench-reminders report-bench bench-dashboard bench-notices drills lint clean fuzz schemathesis backup restore audit

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

run: setup fonts
	bash scripts/run.sh

# The production settings (DEBUG=0, gunicorn) on this machine over plain http: no TLS redirect,
# cookies without the Secure flag, a throw-away SECRET_KEY unless one is given. Never in production
# (docs/deployment.md).
run-local-production: setup fonts
	DEBUG=0 SECRET_KEY="$${SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')}" \
		ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost}" SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 \
		CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0 bash scripts/run.sh

# Start the demo over: removes the SQLite database and var/'s files, migrates and seeds again.
reset-demo: setup
	bash scripts/reset_demo.sh

test: setup services browser fonts
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m pytest $(PYTEST_ARGS)

services:
	bash scripts/services.sh

browser:
	bash scripts/browser.sh

# The PDF reports' CJK font (Debian's fonts-wqy-zenhei), embedded as a subset in every PDF.
fonts:
	bash scripts/fonts.sh

e2e: setup services browser
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

# Benchmarks are not tests: `make bench` (full scale) or `make bench SCALE=0.01`.
SCALE ?= 1
bench: setup services
	$(PY) -m bench.run --scale $(SCALE) $(BENCH_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) node_modules staticfiles var

# Decision to in-app notice through a real worker, idle and behind 1,000 queued deliveries
# (BROKER=redis for REDIS_URL; default: make run's filesystem broker).
BROKER ?= filesystem
bench-notices: setup services
	$(PY) -m bench.notice_bench --broker $(BROKER) $(BENCH_ARGS)

# Backups: pg_dump of DATABASE_URL plus a tar of EVIDENCE_ROOT into backups/<timestamp>/ (docs/deployment.md).
backup:
	bash scripts/backup.sh

# make restore BACKUP=backups/<timestamp> [FORCE=1]; refuses a non-empty database without FORCE=1.
restore:
	BACKUP="$(BACKUP)" FORCE="$(FORCE)" bash scripts/restore.sh

# Known vulnerabilities in the pinned requirements (pip-audit --strict) and high-severity bandit
# findings. Exit 1: something found; exit 2: the advisory service could not be reached, nothing
# was audited (not a pass). PIP_AUDIT_SERVICE=osv asks OSV instead of PyPI. docs/deployment.md §7.
audit: setup
	bash scripts/audit.sh

# The long fuzzing hunt: schemathesis over the whole OpenAPI schema as staff, lead, auditor and
# admin, in-process, with its coverage phase; fails on any 5xx or error the server logged.
# `make test` runs the short pass of the same test (tests/test_api_fuzz.py).
FUZZ_EXAMPLES ?= 100
fuzz schemathesis: setup services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_COVERAGE=1 $(PY) -m pytest tests/test_api_fuzz.py $(PYTEST_ARGS)

# Reminder sweep at scale (200,000 obligations, 20,000 due) in its own database (BENCH_DATABASE_URL).
bench-reminders: setup
	$(PY) bench/reminder_bench.py $(BENCH_ARGS)

# Peak memory of a large XLSX report (separate database tr_reports_bench by default; N=200000).
report-bench: setup
	$(PY) bench/report_bench.py --n $${N:-200000} $(BENCH_ARGS)

# The lead's dashboard only: every /api/dashboard/ endpoint and the page, on the `make bench` data set.
bench-dashboard: setup services
	$(PY) -m bench.run --scale $(SCALE) --skip-load --only dashboard $(BENCH_ARGS)

# Fault drills only (also part of `make test`): private Redis/PostgreSQL, real workers (tests/drills/README.md).
drills: setup services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m pytest tests/drills $(PYTEST_ARGS)
