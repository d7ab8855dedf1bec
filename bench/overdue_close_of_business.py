"""Benchmark: the overdue service's close of business over a large portfolio.

    .venv/bin/python bench/overdue_close_of_business.py --loans 100000 --runs 3
    .venv/bin/python bench/overdue_close_of_business.py --loans 1000000 --runs 1

For each run: a fresh ``overdue_bench`` database is migrated and seeded *directly* with
set-based SQL into the overdue read model (``overdue_portfolio.py``, the same portfolio
as the chain benchmark: 8 % overdue on D with their state as of D-1, 3 % due on D, the
rest later). Seeding is not timed. Then the timer starts, close of business runs for D
(committed every 5,000 loans, as in the service) and the outbox relay publishes every
event to Kafka; the timer stops when the outbox has no unpublished row. Printed per run: COB time, publish time, total, loans examined, events;
then the median total of the runs and the peak RSS of this process
(``resource.getrusage``: the Python side only, PostgreSQL's memory is not included).

Honest scope: this measures the overdue side only (until every event is in the outbox
AND acknowledged by Kafka). The ledger service is not part of this run, so "booked by
the ledger" is not measured (see ``bench/close_of_business_chain.py`` for the whole chain). The relay
publishes under the ``bench.`` topic namespace (``bench.overdue.loans``, same partitions)
rather than the shared ``overdue.loans``, so the benchmark does not flood the topic that
tests and other services read.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from datetime import date

from overdue_portfolio import OVERDUE_SEED, bound
from sqlalchemy import text

from lendkit.contracts.topics import LOAN_PARTITIONS, OVERDUE_LOANS
from lendkit.migrations import upgrade
from lendkit.outbox.relay import OutboxRelay
from lendkit.testing import create_topics, fresh_database
from overdue.bootstrap import create_runtime
from overdue.service_layer.close_of_business import close_business_days_in_chunks
from overdue.settings import Settings

BUSINESS_DATE = date(2026, 3, 20)
BENCH_NAMESPACE = "bench."
BENCH_TOPIC = BENCH_NAMESPACE + OVERDUE_LOANS


async def one_run(loans: int) -> dict[str, float]:
    url = await fresh_database("overdue_bench")
    await asyncio.to_thread(upgrade, "overdue", url)
    settings = Settings(database_url=url, outbox_batch_size=10_000, development_mode=True)
    runtime = create_runtime(settings)
    try:
        seed_started = time.perf_counter()
        async with runtime.engine.begin() as conn:
            for statement in OVERDUE_SEED:
                await conn.execute(text(bound(statement, loans, BUSINESS_DATE)))
        seeded = time.perf_counter() - seed_started
        await runtime.start(background=False)
        relay = OutboxRelay(  # the kit's relay, into the bench namespace
            runtime.engine,
            runtime.producer,
            service="overdue-bench",
            database_url=url,
            batch_size=settings.outbox_batch_size,
            topic_namespace=BENCH_NAMESPACE,
        )

        started = time.perf_counter()
        [(_, result)] = await close_business_days_in_chunks(
            runtime.uow, BUSINESS_DATE, trigger="bench"
        )
        closed = time.perf_counter()
        published = await relay.publish_pending()
        assert await relay.backlog() == 0
        finished = time.perf_counter()
        assert result is not None
        return {
            "seed_s": seeded,
            "cob_s": closed - started,
            "publish_s": finished - closed,
            "total_s": finished - started,
            "examined": result.loans_examined,
            "events": result.events_emitted,
            "published": published,
        }
    finally:
        await runtime.stop()


async def main(loans: int, runs: int) -> None:
    await create_topics(BENCH_TOPIC, partitions=LOAN_PARTITIONS)
    totals = []
    for n in range(1, runs + 1):
        r = await one_run(loans)
        totals.append(r["total_s"])
        print(
            f"run {n}: loans={loans:,} examined={int(r['examined']):,} events={int(r['events']):,} "
            f"published={int(r['published']):,} | seed {r['seed_s']:.1f}s (untimed) | "
            f"COB {r['cob_s']:.2f}s + publish {r['publish_s']:.2f}s = {r['total_s']:.2f}s",
            flush=True,
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"loans={loans:,}: median total {statistics.median(totals):.2f}s over {runs} run(s); "
        f"peak RSS of the overdue process {peak_mb:.0f} MB (overdue side only; ledger booking "
        f"not measured)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.loans, args.runs))
