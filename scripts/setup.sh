#!/usr/bin/env bash
# Installs everything the platform needs on a fresh Debian machine, idempotently:
# the Python virtualenv with pinned packages, PostgreSQL (Debian package), Kafka jars
# (Maven Central). Safe to run again; it skips what is already there.
source "$(dirname "$0")/infra/common.sh"
cd "$ROOT"

if [ ! -x "$PY" ]; then
  log "creating virtualenv .venv"
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(cat shared/pyproject.toml services/*/pyproject.toml simulator/pyproject.toml requirements-dev.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  log "installing Python packages (pinned)"
  "$PY" -m pip install -q --disable-pip-version-check -r requirements-dev.txt \
    -e shared -e services/ledger -e services/overdue -e services/notifier -e services/restructure \
    -e 'simulator[browser]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# Headless Chromium for the report's browser test (Debian's package; Playwright drives it).
if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
bash scripts/infra/postgres.sh install
bash scripts/infra/kafka.sh install
