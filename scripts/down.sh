#!/usr/bin/env bash
# Stops what scripts/up.sh started: the console, the four services, Kafka and PostgreSQL. Data is kept
# in .var/ (delete it for a clean slate).
source "$(dirname "$0")/infra/common.sh"
cd "$ROOT"
for svc in console ledger overdue notifier restructure; do
  pidfile="$RUN/$svc.pid"
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      log "$svc stopped"
    fi
    rm -f "$pidfile"
  fi
done
bash scripts/infra/kafka.sh stop
bash scripts/infra/postgres.sh stop
