#!/usr/bin/env bash
# Apache Kafka 4.x in KRaft combined mode (broker + controller), one node on 127.0.0.1.
# Jars come from Maven Central through deploy/kafka/pom.xml into .cache/kafka/libs.
#   scripts/infra/kafka.sh install|start|stop|status
#   scripts/infra/kafka.sh tools                      resolve Kafka's performance tools
#   scripts/infra/kafka.sh perf <class> [args...]     run one (org.apache.kafka.tools.*)
source "$(dirname "$0")/common.sh"
LIBS="$CACHE/kafka/libs"
TOOLS="$CACHE/kafka/tools"
KDIR="$VAR/kafka"
CONF="$KDIR/server.properties"
PIDFILE="$RUN/kafka.pid"

install() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven is required to fetch the Kafka jars"; exit 1; }
  log "resolving Kafka jars from Maven Central"
  rm -rf "$LIBS"
  mvn -q -B -Dstyle.color=never -f "$ROOT/deploy/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIBS" -DincludeScope=runtime
  touch "$LIBS/.complete"
}

# The performance tools at the broker's version, in a directory of their own (deploy/kafka-tools).
tools() {
  local want; want=$(sha256sum "$ROOT/deploy/kafka-tools/pom.xml" | cut -c1-16)
  if [ "$(cat "$TOOLS/.complete" 2>/dev/null)" = "$want" ]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven is required to fetch the Kafka tools"; exit 1; }
  log "resolving Kafka's performance tools from Maven Central"
  rm -rf "$TOOLS"
  mvn -q -B -Dstyle.color=never -f "$ROOT/deploy/kafka-tools/pom.xml" \
    dependency:copy-dependencies -DoutputDirectory="$TOOLS" -DincludeScope=runtime
  echo "$want" >"$TOOLS/.complete"
}

perf() {
  tools >&2
  configure
  java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -cp "$TOOLS/*" "$@"
}

configure() {
  mkdir -p "$KDIR/data"
  cat >"$CONF" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KDIR/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=134217728
CONF
  cat >"$KDIR/log4j2.properties" <<CONF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOGS/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
CONF
}

java_cmd() {
  java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -cp "$LIBS/*" "$@"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  install
  configure
  if running; then log "Kafka already running on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  if [ ! -f "$KDIR/data/meta.properties" ]; then
    log "formatting KRaft storage"
    java_cmd kafka.tools.StorageTool format -t "$(java_cmd kafka.tools.StorageTool random-uuid)" \
      -c "$CONF" >"$LOGS/kafka-format.log"
  fi
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -cp "$LIBS/*" \
    kafka.Kafka "$CONF" >"$LOGS/kafka.out" 2>&1 &
  echo $! >"$PIDFILE"
  wait_for_port 127.0.0.1 "$KAFKA_PORT" 60 Kafka || { tail -n 40 "$LOGS/kafka.out" >&2; exit 1; }
  log "Kafka started on 127.0.0.1:$KAFKA_PORT"
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "Kafka stopped"
  fi
  rm -f "$PIDFILE"
}

status() { running && echo "Kafka running (pid $(cat "$PIDFILE"))" || { echo "Kafka stopped"; return 3; }; }

cmd="${1:-start}"
[ $# -gt 0 ] && shift
"$cmd" "$@"
