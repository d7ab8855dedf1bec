"""Benchmark: the overdue service's close of business over a large portfolio.

    .venv/bin/python bench/overdue_close_of_business.py --loans 100000 --runs 3
    .venv/bin/python bench/overdue_close_of_business.py --loans 1000000 --runs 1

For each run: a fresh ``overdue_bench`` database is migrated and seeded *directly* with
set-based SQL (``generate_series``) into the overdue read model: N active loans with 4
instalments each; 8 % are overdue on D (DPD 1..60, bucket and stage as of D-1, arrears
flag set after the 3-day grace), 3 % fall due on D, the rest are due later. Seeding is
not timed. Then the timer starts, close of business runs for D (one transaction) and the
outbox relay publishes every event to Kafka; the timer stops when the outbox has no
unpublished row. Printed per run: COB time, publish time, total, loans examined, events;
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

from sqlalchemy import text

from lendkit.contracts.topics import LOAN_PARTITIONS, OVERDUE_LOANS
from lendkit.migrations import upgrade
from lendkit.outbox.relay import OutboxRelay
from lendkit.testing import create_topics, fresh_database
from overdue.bootstrap import create_runtime
from overdue.service_layer.close_of_business import close_business_day
from overdue.settings import Settings

BUSINESS_DATE = date(2026, 3, 20)
BENCH_NAMESPACE = "bench."
BENCH_TOPIC = BENCH_NAMESPACE + OVERDUE_LOANS

_SEED = [
    """
    INSERT INTO products (code, currency, overdue_policy)
    VALUES ('BENCH', 'CNY', '{"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"}')
    """,
    # i % 100 < 8: overdue (DPD on D 1..60); 8..10: due on D; the rest due 1..28 days later
    """
    INSERT INTO loans (loan_id, borrower_id, product_code, currency, principal_minor,
                       disbursed_on, timezone, oldest_unpaid_due_date, bucket, stage,
                       in_arrears, last_accrued_on)
    SELECT 'L' || lpad(i::text, 8, '0'), 'B' || i, 'BENCH', 'CNY', 1000000,
           DATE '2025-09-20', 'Asia/Shanghai', s.due,
           CASE WHEN s.dpd_before <= 0 THEN 'current' WHEN s.dpd_before <= 30 THEN '1-30'
                ELSE '31-60' END,
           CASE WHEN s.dpd_before <= 0 THEN 'current' WHEN s.dpd_before < 4 THEN 'reminder'
                WHEN s.dpd_before < 31 THEN 'early' ELSE 'mid' END,
           s.dpd_before > 3,
           CASE WHEN s.dpd_before > 0 THEN CAST(:d AS date) - 1 END
    FROM generate_series(1, CAST(:n AS int)) AS i
    CROSS JOIN LATERAL (
        SELECT due, (CAST(:d AS date) - 1) - due AS dpd_before FROM (
            SELECT CASE
                WHEN i % 100 < 8 THEN CAST(:d AS date) - (1 + i % 60)
                WHEN i % 100 < 11 THEN CAST(:d AS date)
                ELSE CAST(:d AS date) + (1 + i % 28)
            END AS due
        ) x
    ) s
    """,
    """
    INSERT INTO instalments (loan_id, seq, due_date, scheduled_interest_minor,
                             principal_minor, interest_minor)
    SELECT l.loan_id, k, (l.oldest_unpaid_due_date + make_interval(months => k - 1))::date,
           12000, 80000, 12000
    FROM loans l CROSS JOIN generate_series(1, 4) AS k
    """,
    "ANALYZE loans",
    "ANALYZE instalments",
]


async def one_run(loans: int) -> dict[str, float]:
    url = await fresh_database("overdue_bench")
    await asyncio.to_thread(upgrade, "overdue", url)
    settings = Settings(database_url=url, outbox_batch_size=10_000)
    runtime = create_runtime(settings)
    try:
        seed_started = time.perf_counter()
        async with runtime.engine.begin() as conn:
            for statement in _SEED:
                await conn.execute(text(statement), {"n": loans, "d": BUSINESS_DATE})
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
        async with runtime.uow() as uow:
            result = await close_business_day(uow, BUSINESS_DATE, trigger="bench")
            await uow.commit()
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
