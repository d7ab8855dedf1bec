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
    -e services/console -e 'simulator[browser]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# The console's browser tests and the simulator's report test drive Debian's chromium (Playwright's own browser download is
# not used: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD, executable_path=/usr/bin/chromium).
# fonts-noto-cjk: the console's zh-CN pages in its screenshots.
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then
  log "installing chromium and CJK fonts (Debian packages) for the console's browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
bash scripts/infra/postgres.sh install
bash scripts/infra/kafka.sh install
bash scripts/infra/kafka.sh tools  # Kafka's perf tools, for bench/pipeline_floor.py
