#!/usr/bin/env bash
# PostgreSQL from the Debian package, data directory in .var/postgres, bound to 127.0.0.1.
#   scripts/infra/postgres.sh install|start|stop|status
source "$(dirname "$0")/common.sh"
PGDATA="$VAR/postgres"
resolve_pgdata() {
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$VAR" 2>/dev/null; then
    # The server runs as user postgres, which cannot reach this checkout (e.g. under /root):
    # keep the data beside the system's temporary files instead, one folder per checkout.
    PGDATA="/var/tmp/overdue-platform-pg-$(echo "${INFRA_VAR:+$VAR}${INFRA_VAR:-$ROOT}" | sha256sum | cut -c1-12)"
  fi
}
SERVICES=(ledger overdue notifier restructure)

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || return 1
  echo "$dir"
}

install() {
  if pg_bin >/dev/null && [ -x "$(pg_bin)/initdb" ] && id postgres >/dev/null 2>&1; then return 0; fi
  log "installing PostgreSQL from the Debian package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  # The package may start a system cluster on 5432; ours runs apart on $PG_PORT.
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The workload's settings (deploy/postgres/platform.conf), copied on every start so that
# existing clusters get them too; postgresql.conf includes the file, a reload applies it.
write_tuning() {
  cp "$ROOT/deploy/postgres/platform.conf" "$PGDATA/platform.conf"
  chmod 644 "$PGDATA/platform.conf"
  grep -qx "include_if_exists = 'platform.conf'" "$PGDATA/postgresql.conf" ||
    echo "include_if_exists = 'platform.conf'" >>"$PGDATA/postgresql.conf"
}

start() {
  install
  resolve_pgdata
  local bin; bin=$(pg_bin)
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster in $PGDATA"
    mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA"
    local pw; pw=$(mktemp); echo "$PG_PASSWORD" >"$pw"; chmod 644 "$pw"
    as_postgres "$bin/initdb" -D "$PGDATA" -U postgres --auth=scram-sha-256 --pwfile="$pw" \
      -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log"
    rm -f "$pw"
    cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 300
shared_buffers = 512MB
synchronous_commit = on
fsync = on
log_min_messages = warning
CONF
  fi
  write_tuning
  if as_postgres "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$PGDATA" reload >/dev/null
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    as_postgres "$bin/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start >/dev/null
    log "PostgreSQL started on 127.0.0.1:$PG_PORT"
  fi
  local svc
  for svc in "${SERVICES[@]}" "${EXTRA_DATABASES[@]:-}"; do
    [ -n "$svc" ] || continue
    PGPASSWORD="$PG_PASSWORD" "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='$svc'" | grep -q 1 ||
      PGPASSWORD="$PG_PASSWORD" "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$svc"
  done
}

# PG_STOP_MODE=immediate: stop without a checkpoint (crash recovery on the next start).
stop() {
  local bin; bin=$(pg_bin) || return 0
  resolve_pgdata
  if [ -s "$PGDATA/PG_VERSION" ] && as_postgres "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$PGDATA" -m "${PG_STOP_MODE:-fast}" -w stop >/dev/null
    log "PostgreSQL stopped"
  fi
}

status() { resolve_pgdata; as_postgres "$(pg_bin)/pg_ctl" -D "$PGDATA" status; }

"${1:-start}"
