#!/usr/bin/env bash
# One command on a fresh machine: install, start Kafka and PostgreSQL, migrate, create topics,
# start the four services and wait until each reports ready. `scripts/down.sh` stops it all.
source "$(dirname "$0")/infra/common.sh"
cd "$ROOT"
started=$(date +%s)
bash scripts/setup.sh
bash scripts/infra/start.sh

# A development machine: the services accept the kit's development JWT secret (outside
# development mode they refuse to start with it). Set *_JWT_SECRET to use your own.
for prefix in LEDGER OVERDUE NOTIFIER RESTRUCTURE CONSOLE; do
  export "${prefix}_DEVELOPMENT_MODE=true"
done
# A simulated business clock: any day may be closed, today follows the closes (the README's
# first five minutes and simulations). LEDGER_SIMULATED_CLOCK=false for the wall clock.
export LEDGER_SIMULATED_CLOCK="${LEDGER_SIMULATED_CLOCK:-true}"
# uvicorn workers per service (HTTP_WORKERS, or <SERVICE>_HTTP_WORKERS for one service);
# 0: one per core. The relays elect one publisher, the consumers share their group.
for prefix in LEDGER OVERDUE NOTIFIER RESTRUCTURE; do
  var="${prefix}_HTTP_WORKERS"
  export "$var=${!var:-${HTTP_WORKERS:-0}}"
done

declare -A PORTS=([ledger]=8001 [overdue]=8002 [notifier]=8003 [restructure]=8004 [console]=8005)
for svc in ledger overdue notifier restructure console; do
  pidfile="$RUN/$svc.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "$svc already running"
    continue
  fi
  nohup "$PY" -m "$svc" >"$LOGS/$svc.log" 2>&1 &
  echo $! >"$pidfile"
done

for svc in ledger overdue notifier restructure console; do
  port=${PORTS[$svc]}
  for _ in $(seq 1 600); do
    if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$(cat "$RUN/$svc.pid")" 2>/dev/null; then
      log "$svc exited; last log lines:"; tail -n 30 "$LOGS/$svc.log" >&2; exit 1
    fi
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { log "$svc not ready"; exit 1; }
  log "$svc ready on http://127.0.0.1:$port (OpenAPI: /docs)"
done
log "operations console: http://127.0.0.1:${PORTS[console]}/ (a sign-in token:" \
  "CONSOLE_DEVELOPMENT_MODE=true $PY -m lendkit.dev_tokens console --role ops --role admin)"
log "platform up in $(( $(date +%s) - started ))s; logs in .var/log; stop with scripts/down.sh"
