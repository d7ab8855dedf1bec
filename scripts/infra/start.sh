#!/usr/bin/env bash
# Starts PostgreSQL and Kafka, creates the topics and migrates every service database.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
bash scripts/infra/postgres.sh start
bash scripts/infra/kafka.sh start
"$PY" -m lendkit.topic_admin --bootstrap "127.0.0.1:$KAFKA_PORT"
"$PY" -m lendkit.migrations ledger overdue notifier restructure
