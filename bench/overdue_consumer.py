"""Benchmark: the overdue service's consumer applying the ledger's penalty bookings.

    .venv/bin/python bench/overdue_consumer.py --loans 20000 --runs 3

After each close of business the ledger books every penalty the overdue service assessed
and publishes one ``ledger.charge.booked.v1`` per loan; the overdue consumer applies each
(balances replaced, cure reviewed). In the simulator this is most of what the platform
waits for between two days (docs/simulator.md: ``lag:overdue``).

Per run (untimed setup): a fresh ``overdue_consumer_bench`` database seeded with the
benchmark portfolio (``overdue_portfolio.py``: 8 % of the loans overdue), a fresh topic
namespace, and on its ``ledger.loans``:

- *floor*: one ``ledger.instalment.settled.v1`` per overdue loan, a type the overdue
  service reads but does not act on (Kafka fetch and decode only, no database);
- *bookings*: one ``ledger.charge.booked.v1`` per overdue loan (a penalty of 1.00 on its
  oldest open instalment, with the loan's balances after it).

Timed: the service's own consumer (``ServiceRuntime.consumer``, the service's settings)
from its first poll until it has handled every record of the phase. Printed: each run,
then the medians, events a second and the ratio of the bookings to the floor measured in
the same run (absolute times differ threefold between machines).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import date

from overdue_portfolio import OVERDUE_SEED, bound
from sqlalchemy import text

from lendkit.consumer import IdempotentConsumer
from lendkit.contracts import ledger
from lendkit.contracts.money import Component, InstalmentBalance
from lendkit.events import CloudEvent, new_event
from lendkit.migrations import upgrade
from lendkit.runtime import ServiceRuntime
from lendkit.testing import (
    create_platform_topics,
    delete_namespace_topics,
    drop_database,
    fresh_database,
    unique,
)
from overdue.bootstrap import create_runtime
from overdue.service_layer.unit_of_work import OverdueUnitOfWork
from overdue.settings import Settings

Runtime = ServiceRuntime[OverdueUnitOfWork]

BUSINESS_DATE = date(2026, 3, 20)
DATABASE = "overdue_consumer_bench"
SOURCE = "/bench/ledger"

_OPEN = """
SELECT i.loan_id, i.seq, i.due_date, i.principal_minor, i.interest_minor, i.penalty_minor,
       i.fee_minor
FROM instalments AS i JOIN loans AS l USING (loan_id)
WHERE l.oldest_unpaid_due_date < :d AND i.principal_minor + i.interest_minor > 0
ORDER BY i.loan_id, i.seq
"""


async def _bookings_and_floor(runtime: Runtime) -> tuple[list[CloudEvent], list[CloudEvent]]:
    """One penalty booking and one ignored event per overdue loan."""
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(text(_OPEN), {"d": BUSINESS_DATE})).all()
    balances: dict[str, list[InstalmentBalance]] = {}
    for r in rows:
        balances.setdefault(r.loan_id, []).append(
            InstalmentBalance(
                seq=r.seq,
                due_date=r.due_date,
                principal_minor=r.principal_minor,
                interest_minor=r.interest_minor,
                penalty_minor=r.penalty_minor,
                fee_minor=r.fee_minor,
            )
        )
    bookings, floor = [], []
    for loan_id, open_ in balances.items():
        oldest = open_[0]
        after = [oldest.model_copy(update={"penalty_minor": oldest.penalty_minor + 100})]
        booking = ledger.ChargeBooked(
            loan_id=loan_id,
            charge_id=unique("C"),
            source_event_id=unique("E"),
            seq=oldest.seq,
            component=Component.PENALTY,
            amount_minor=100,
            currency="CNY",
            business_date=BUSINESS_DATE,
            balances=after + open_[1:],
        )
        bookings.append(new_event(booking, source=SOURCE))
        settled = ledger.InstalmentSettled(
            loan_id=loan_id, seq=oldest.seq, due_date=oldest.due_date, settled_on=BUSINESS_DATE
        )
        floor.append(new_event(settled, source=SOURCE))
    return bookings, floor


async def _send(runtime: Runtime, namespace: str, events: list[CloudEvent]) -> None:
    sent = [
        await runtime.producer.send(
            namespace + e.topic, value=e.data, key=e.key_bytes(), headers=e.headers()
        )
        for e in events
    ]
    await asyncio.gather(*sent)


async def _drain(consumer: IdempotentConsumer[OverdueUnitOfWork], count: int) -> float:
    """Seconds from the first record handled to the last (the consumer was idle before)."""
    handled = 0
    started: float | None = None
    while handled < count:
        n = await consumer.poll_once(timeout_ms=500)
        if n and started is None:
            started = time.perf_counter()
        handled += n
    assert started is not None
    return time.perf_counter() - started


async def one_run(loans: int) -> dict[str, float]:
    url = await fresh_database(DATABASE)
    await asyncio.to_thread(upgrade, "overdue", url)
    namespace = unique("bench-oc") + "."
    await create_platform_topics(namespace)
    settings = Settings(
        database_url=url,
        topic_namespace=namespace,
        run_consumers=False,
        run_outbox_relay=False,
        development_mode=True,
    )
    runtime = create_runtime(settings)
    try:
        async with runtime.engine.begin() as conn:
            for statement in OVERDUE_SEED:
                await conn.execute(text(bound(statement, loans, BUSINESS_DATE)))
        await runtime.start(background=False)
        bookings, floor = await _bookings_and_floor(runtime)
        consumer = runtime.consumer()
        await consumer.start()
        try:
            await consumer.poll_once(timeout_ms=2_000)  # joined, partitions assigned
            await _send(runtime, namespace, floor)
            floor_s = await _drain(consumer, len(floor))
            await _send(runtime, namespace, bookings)
            bookings_s = await _drain(consumer, len(bookings))
        finally:
            await consumer.stop()
        async with runtime.engine.connect() as conn:
            applied = await conn.scalar(
                text("SELECT count(*) FROM processed_events WHERE event_type = :t"),
                {"t": "ledger.charge.booked.v1"},
            )
        assert applied == len(bookings), f"{applied} of {len(bookings)} bookings applied"
    finally:
        await runtime.stop()
        await delete_namespace_topics(namespace)
        await drop_database(DATABASE)
    return {
        "events": len(bookings),
        "floor_s": floor_s,
        "bookings_s": bookings_s,
        "floor_per_s": len(floor) / floor_s,
        "bookings_per_s": len(bookings) / bookings_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=20_000, help="portfolio (8 %% overdue)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    print("| run | bookings | floor s | bookings s | floor /s | bookings /s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for n in range(args.runs):
        r = asyncio.run(one_run(args.loans))
        runs.append(r)
        print(
            f"| {n + 1} | {r['events']:,} | {r['floor_s']:.2f} | {r['bookings_s']:.2f} | "
            f"{r['floor_per_s']:,.0f} | {r['bookings_per_s']:,.0f} | "
            f"x{r['bookings_s'] / r['floor_s']:.1f} |"
        )
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    ratio = statistics.median(r["bookings_s"] / r["floor_s"] for r in runs)
    print(
        f"| median | {med['events']:,.0f} | {med['floor_s']:.2f} | {med['bookings_s']:.2f} | "
        f"{med['floor_per_s']:,.0f} | {med['bookings_per_s']:,.0f} | x{ratio:.1f} |"
    )


if __name__ == "__main__":
    main()
