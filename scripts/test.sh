#!/usr/bin/env bash
# One command for the whole test suite on a fresh machine: install, start Kafka and
# PostgreSQL, lint, type-check, then every test (unit, integration, e2e).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m unit`.
source "$(dirname "$0")/infra/common.sh"
cd "$ROOT"
started=$(date +%s)
bash scripts/setup.sh
bash scripts/infra/start.sh
log "setup and infrastructure ready in $(( $(date +%s) - started ))s"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
set +e
.venv/bin/pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  log "pytest collected no tests: that is a failure"
  exit 1
fi
log "tests finished in $(( $(date +%s) - started ))s with status $status"
exit "$status"
