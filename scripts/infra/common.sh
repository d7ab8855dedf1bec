# Shared paths and settings for the local infrastructure scripts. Sourced, not run.
# Everything lives under the repository: binaries cache in .cache/, data in .var/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT
# INFRA_VAR / INFRA_CACHE: another data directory and jar cache (a private PostgreSQL and Kafka
# beside the shared ones, e.g. for bench/faults.py, with PG_PORT / KAFKA_PORT overridden too).
VAR="${INFRA_VAR:-$ROOT/.var}"
CACHE="${INFRA_CACHE:-$ROOT/.cache}"
RUN="$VAR/run"
LOGS="$VAR/log"
mkdir -p "$VAR" "$CACHE" "$RUN" "$LOGS"

# Ports are loopback-only and away from the defaults so a system service never collides.
PG_PORT="${PG_PORT:-54329}"
PG_PASSWORD="${PG_PASSWORD:-platform}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
PY="$ROOT/.venv/bin/python"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

wait_for_port() {  # host port seconds what
  local host=$1 port=$2 seconds=$3 what=$4 i
  for ((i = 0; i < seconds * 10; i++)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "$what did not open $host:$port within ${seconds}s"
  return 1
}
