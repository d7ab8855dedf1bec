#!/usr/bin/env bash
# The platform's main job in one command: bring the platform up (scripts/up.sh), run the
# default portfolio simulation through it (10,000 borrowers and loans, 90 business days,
# seed 42: simulator/simulator/default.yaml), print where the report is, and leave the
# platform running for a look (scripts/down.sh stops it). Arguments go to
# `python -m simulator run`, e.g. `scripts/run.sh --loans 500 --days 30 --seed 7` or
# `--config my-model.yaml`. Exits 1 when an invariant fails (the list is printed).
source "$(dirname "$0")/infra/common.sh"
cd "$ROOT"
started=$(date +%s)
# A simulated day is over once its events have crossed every hop (ledger -> overdue ->
# notifier / restructure, each through an outbox the relay polls, 1 s by default) and the
# notifier has sent what it queued: poll every 50 ms, as the simulator's private platform
# does (simulator/simulator/local_platform.py FAST_POLLING; docs/simulator.md, timings).
for svc in LEDGER OVERDUE NOTIFIER RESTRUCTURE; do
  var="${svc}_OUTBOX_POLL_INTERVAL_MS"
  export "$var"="${!var:-50}"
done
export NOTIFIER_DISPATCH_INTERVAL_MS="${NOTIFIER_DISPATCH_INTERVAL_MS:-50}"
bash scripts/up.sh
status=0
"$PY" -m simulator run --out "$VAR/simulation" "$@" || status=$?
log "run.sh finished in $(( $(date +%s) - started ))s (platform start included) with status $status"
log "report: $VAR/simulation/report.html (and report.json); the platform is still running (scripts/down.sh stops it)"
exit "$status"
