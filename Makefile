# Two commands for a newcomer: `make run` and `make test`. Everything else is set-up they call.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Tests run against the real PostgreSQL and Redis on this machine unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tracker
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test setup services browser e2e bench bench-reminders report-bench bench-dashboard drills lint clean schemathesis backup restore audit

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

run: setup
	bash scripts/run.sh

test: setup services browser
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m pytest $(PYTEST_ARGS)

services:
	bash scripts/services.sh

browser:
	bash scripts/browser.sh

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

# Backups: pg_dump of DATABASE_URL plus a tar of EVIDENCE_ROOT into backups/<timestamp>/ (docs/deployment.md).
backup:
	bash scripts/backup.sh

# make restore BACKUP=backups/<timestamp> [FORCE=1]; refuses a non-empty database without FORCE=1.
restore:
	BACKUP="$(BACKUP)" FORCE="$(FORCE)" bash scripts/restore.sh

# Known vulnerabilities in the pinned requirements (pip-audit asks PyPI's JSON API per release;
# --strict fails rather than passing when a package could not be checked) and high-severity
# bandit findings. Both run; the target fails if either does.
audit: setup
	@status=0; \
	$(VENV)/bin/pip-audit --strict --requirement requirements-dev.txt --progress-spinner off || status=1; \
	$(VENV)/bin/bandit --quiet --recursive accounts obligations tracker -lll --exclude '*/migrations/*' || status=1; \
	exit $$status

# Fuzz the API as a staff user with schemathesis against a live dev server; fails on any 5xx.
schemathesis: setup services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		bash scripts/schemathesis.sh

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
