"""Benchmark: the platform's event pipeline against the broker's own limit, same run (issue 12).

    .venv/bin/python bench/pipeline_floor.py --loans 50000 --runs 3

The raw limit: Kafka's own performance tools from the broker's jars at its version
(``org.apache.kafka.tools.ProducerPerformance`` and ``ConsumerPerformance``, resolved by
``scripts/infra/kafka.sh tools`` from ``deploy/kafka-tools/pom.xml``), on a topic with the
platform's partition count, 200,000 records (or as many as the pipeline carries, if more: a
few thousand mostly time the JVM warming up) of the size of the pipeline's events, the producer with the relays' settings (acks=all, idempotent, linger 5 ms).
The limit of a producer feeding a consumer is the slower of the two rates.

The pipeline: outbox -> relay -> broker -> idempotent consumer -> effect, the ledger's and the
overdue service's own pieces. Per run (untimed setup): a fresh ledger database (its relay
running: ``ledger.bootstrap.create_runtime``, consumers off), a fresh overdue database
seeded with the benchmark portfolio (``overdue_portfolio.py``, 8 % of the loans overdue) and
a fresh topic namespace; the overdue service's consumer joined and idle. Timed, from the
commit that writes the events into the ledger's outbox (one transaction, NOTIFY: what a close
of business does) until the overdue consumer has handled every record:

* *bookings*: one ``ledger.charge.booked.v1`` per overdue loan (the penalty bookings after a
  close of business; the effect: balances replaced, cure reviewed, processed id recorded);
* *no effect*: one ``ledger.instalment.settled.v1`` per overdue loan, which the overdue
  service reads and does not act on: the pipeline without the effect.

Printed: per run and the medians, events a second of each and their ratio to the raw limit
measured in the same run (goal: the pipeline >= 30 % of the raw limit).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from bench_results import write_results
from overdue_consumer import BUSINESS_DATE, _bookings_and_floor
from overdue_portfolio import OVERDUE_SEED, bound
from sqlalchemy import text

from lendkit.consumer import IdempotentConsumer
from lendkit.contracts.topics import LOAN_PARTITIONS
from lendkit.events import CloudEvent
from lendkit.migrations import upgrade
from lendkit.outbox.writer import OUTBOX_CHANNEL, write_to_outbox
from lendkit.runtime import ServiceRuntime
from lendkit.testing import (
    create_platform_topics,
    create_topics,
    delete_namespace_topics,
    drop_database,
    fresh_database,
    unique,
)
from lendkit.testing.servers import KAFKA as KAFKA_BOOTSTRAP
from overdue.service_layer.unit_of_work import OverdueUnitOfWork

ROOT = Path(__file__).resolve().parents[1]
LEDGER_DB, OVERDUE_DB = "pipeline_bench_ledger", "pipeline_bench_overdue"
#: Records for Kafka's tools: enough for their steady rate (a few thousand mostly time the
#: JVM warming up), whatever the pipeline's count.
RAW_RECORDS = 200_000


# -- the raw limit: Kafka's own tools -----------------------------------------------------------


def _perf(*args: str) -> str:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "infra" / "kafka.sh"), "perf", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def raw_limit(records: int, size: int) -> dict[str, float]:
    """Records a second of ProducerPerformance and ConsumerPerformance on a fresh topic."""
    topic = f"bench.pipeline-floor.{uuid.uuid4().hex[:8]}"
    asyncio.run(create_topics(topic, partitions=LOAN_PARTITIONS))
    produced = _perf(
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topic,
        "--num-records", str(records),
        "--record-size", str(size),
        "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={KAFKA_BOOTSTRAP}", "acks=all",
        "enable.idempotence=true", "linger.ms=5",
    )  # fmt: skip
    summary = [line for line in produced.splitlines() if f"{records} records sent" in line]
    producer = float(re.search(r"([\d.]+) records/sec", summary[-1]).group(1))  # type: ignore[union-attr]
    consumed = _perf(
        "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server", KAFKA_BOOTSTRAP,
        "--topic", topic,
        "--messages", str(records),
    )  # fmt: skip
    header, row = consumed.strip().splitlines()[-2:]
    fields = dict(zip([h.strip() for h in header.split(",")], row.split(","), strict=True))
    consumer = float(fields["fetch.nMsg.sec"])  # without the group join (rebalance.time.ms)
    return {
        "producer_per_s": producer,
        "consumer_per_s": consumer,
        "raw_per_s": min(producer, consumer),
    }


# -- the pipeline -------------------------------------------------------------------------------


async def _carry(
    ledger: ServiceRuntime[Any],
    consumer: IdempotentConsumer[OverdueUnitOfWork],
    events: list[CloudEvent],
) -> float:
    """Seconds from the outbox commit of ``events`` until the consumer handled them all."""
    async with ledger.session_factory() as session:
        await write_to_outbox(session, *events)
        await session.execute(text("SELECT pg_notify(:c, '')"), {"c": OUTBOX_CHANNEL})
        await session.commit()
    started = time.perf_counter()
    handled = 0
    while handled < len(events):
        handled += await consumer.poll_once(timeout_ms=500)
    return time.perf_counter() - started


async def pipeline_run(loans: int) -> dict[str, float]:
    from ledger.bootstrap import create_runtime as ledger_runtime
    from ledger.settings import Settings as LedgerSettings
    from overdue.bootstrap import create_runtime as overdue_runtime
    from overdue.settings import Settings as OverdueSettings

    namespace = unique("bench-pf") + "."
    await create_platform_topics(namespace)
    ledger_url, overdue_url = await fresh_database(LEDGER_DB), await fresh_database(OVERDUE_DB)
    await asyncio.to_thread(upgrade, "ledger", ledger_url)
    await asyncio.to_thread(upgrade, "overdue", overdue_url)
    common: dict[str, Any] = {
        "topic_namespace": namespace,
        "development_mode": True,
        "run_consumers": False,
        "log_level": "WARNING",
    }
    overdue = overdue_runtime(
        OverdueSettings(database_url=overdue_url, run_outbox_relay=False, **common)
    )
    ledger = ledger_runtime(LedgerSettings(database_url=ledger_url, **common))
    try:
        async with overdue.engine.begin() as conn:
            for statement in OVERDUE_SEED:
                await conn.execute(text(bound(statement, loans, BUSINESS_DATE)))
        await overdue.start(background=False)
        await ledger.start(background=True)  # its outbox relay, idle
        bookings, no_effect = await _bookings_and_floor(overdue)
        consumer = overdue.consumer()
        await consumer.start()
        try:
            await consumer.poll_once(timeout_ms=2_000)  # joined, partitions assigned
            no_effect_s = await _carry(ledger, consumer, no_effect)
            bookings_s = await _carry(ledger, consumer, bookings)
        finally:
            await consumer.stop()
        size = round(
            statistics.mean(
                len(e.data) + sum(len(k) + len(v) for k, v in e.headers()) for e in bookings
            )
        )
    finally:
        await ledger.stop()
        await overdue.stop()
        await delete_namespace_topics(namespace)
        await drop_database(LEDGER_DB)
        await drop_database(OVERDUE_DB)
    return {
        "events": len(bookings),
        "size": size,
        "no_effect_per_s": len(no_effect) / no_effect_s,
        "bookings_per_s": len(bookings) / bookings_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=50_000, help="portfolio (8 %% overdue)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="write the medians there (bench/all.py)")
    args = parser.parse_args()
    rows = []
    print(
        "| run | events | bytes | Kafka producer /s | Kafka consumer /s | raw limit /s | "
        "pipeline, no effect /s | pipeline, bookings /s | no effect / raw | bookings / raw |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")

    def line(name: str, r: dict[str, float]) -> None:
        print(
            f"| {name} | {r['events']:,.0f} | {r['size']:,.0f} | {r['producer_per_s']:,.0f} | "
            f"{r['consumer_per_s']:,.0f} | {r['raw_per_s']:,.0f} | {r['no_effect_per_s']:,.0f} | "
            f"{r['bookings_per_s']:,.0f} | {100 * r['no_effect_share']:.1f} % | "
            f"{100 * r['bookings_share']:.1f} % |",
            flush=True,
        )

    for n in range(args.runs):
        ours = asyncio.run(pipeline_run(args.loans))
        raw = raw_limit(max(RAW_RECORDS, int(ours["events"])), int(ours["size"]))
        r = {
            **ours,
            **raw,
            "no_effect_share": ours["no_effect_per_s"] / raw["raw_per_s"],
            "bookings_share": ours["bookings_per_s"] / raw["raw_per_s"],
        }
        rows.append(r)
        line(str(n + 1), r)
    medians = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    line("median", medians)
    write_results(args.json, "pipeline_floor", medians | {"runs": len(rows)})
    print(
        "raw limit: the slower of Kafka's ProducerPerformance (acks=all, idempotent, linger 5 ms) "
        "and ConsumerPerformance (fetch rate) over the same records; pipeline: ledger outbox "
        "commit -> relay -> broker -> overdue idempotent consumer -> effect (goal >= 30 %)."
    )


if __name__ == "__main__":
    main()
