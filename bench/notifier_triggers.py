"""Benchmark: the notifier drains the triggers of a close of business, against the COB's time.

    .venv/bin/python bench/notifier_triggers.py --loans 1000000 --runs 3

A book of N loans (the portfolio of ``overdue_portfolio.py``: 8 % overdue on D, 3 % due on D)
gives about 0.11 N triggers: a due reminder per loan due on D and an overdue notice per
overdue loan (110,000 for 1,000,000 loans).

Each run, in the same process and on the same PostgreSQL and Kafka:

1. **Close of business** (``overdue_close_of_business.one_run``): the overdue service's COB
   for D over N loans, until every event it emitted is published to Kafka (seeding untimed).
2. **Notifier**: a fresh notifier database, seeded with set-based SQL (untimed): the product
   (notification policy on), loan -> borrower, a contact profile per triggered borrower (SMS
   then email; zh-CN or en; Asia/Shanghai, CN rules; 5 % opted out of SMS, so their notice
   goes by email; 1 % with no profile: suppressed or undeliverable). The trigger facts are
   generated directly, as the ledger and overdue services would publish them
   (``ledger.repayment.due.v1`` for the loans due on D, ``overdue.loan.became_overdue.v1``
   for the overdue ones), NOT taken from the COB's output: the COB's real mix (penalty,
   bucket, stage events) has fewer notifier triggers than this estimate. Timed:

   - **decide + record**: the events through the consumer's batch path exactly as the
     consumer applies them (``lendkit.consumer.batch.apply_many``: processed-event ids and
     the effect in one transaction, 500 events a transaction, the consumer's default batch
     size is 200), every policy check on (quiet hours in the borrower's zone, opt-outs,
     mandatory fallback, call caps, per-product rules); the notifier's clock is pinned to
     09:30 Shanghai time on D (the morning after the close), so messages are allowed now;
   - **send**: the service's dispatcher (``dispatch_until_stopped``, rounds of 500, the
     default 1 s pause after a round that emptied the queue) runs beside the decisions, as
     the notifier's runtime runs it beside its consumer; it hands every queued message to the
     sandbox provider and records its outcome (sent + delivered rows and events). The
     ``decide`` column is the time until the last trigger is recorded (sends going on beside
     it), ``send`` the tail after it.

   The notifier's outbox (its events) is written but not published in this benchmark.

   ``--workers N`` (default 1) runs the decide + send part in N processes, as the notifier
   runs by default with one uvicorn worker per core: the consumer group's partitions are
   shared among the workers (here: each loan's triggers go to one worker, by a hash of the
   loan id, as a partition would), and each worker runs its own dispatcher beside its
   consumer (they claim queued messages with ``FOR UPDATE SKIP LOCKED``). The clock starts
   when every worker has its share in memory and its runtime started; ``decide`` ends when
   the last worker has recorded its last trigger, ``send`` when the last dispatcher has
   emptied the queue.

Printed: a table per run and the medians of the runs: decisions/s (decide + record),
messages/s end to end, and the ratio notifier drain time / COB time (goal <= 1.0).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
import zlib
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_results import write_results
from overdue_close_of_business import BENCH_TOPIC
from overdue_close_of_business import BUSINESS_DATE as D
from overdue_close_of_business import one_run as close_of_business
from overdue_portfolio import bound

from lendkit.consumer import Batchable
from lendkit.consumer.batch import apply_many
from lendkit.contracts import ledger, overdue
from lendkit.contracts.money import InstalmentBalance
from lendkit.contracts.topics import LOAN_PARTITIONS
from lendkit.events import CloudEvent, new_event
from lendkit.migrations import upgrade
from lendkit.testing import create_topics, fresh_database
from notifier.adapters.providers import Failover, SandboxProvider
from notifier.adapters.tables import contact_attempts
from notifier.bootstrap import create_runtime
from notifier.entrypoints.consumers import CONSUMERS
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch, dispatch_until_stopped
from notifier.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVENTS_PER_TRANSACTION = 500
POLICY = (
    '{"quiet_hours": [{"jurisdiction": "CN", "start": "22:00", "end": "08:00"}],'
    ' "max_call_attempts_per_7_days": 7, "no_calls_days_after_conversation": 7,'
    ' "max_unanswered_attempts_per_day_per_number": 6, "max_connected_voice_calls_per_day": 3}'
)

# Loans triggered on D: i % 100 < 8 overdue, 8 <= i % 100 < 11 due on D (overdue_portfolio).
TRIGGERED = "FROM generate_series(1, CAST(:n AS int)) AS i WHERE i % 100 < 11"
NOTIFIER_SEED = [
    f"""INSERT INTO products (product_code, penalty_daily_rate, credit_report_notice_dpd,
                              notification_policy)
        VALUES ('BENCH', '0.0005', 30, '{POLICY}'::jsonb)""",
    f"""INSERT INTO loans (loan_id, borrower_id, product_code, currency, timezone)
        SELECT 'L' || lpad(i::text, 8, '0'), 'B' || i, 'BENCH', 'CNY', 'Asia/Shanghai' {TRIGGERED}""",
    f"""INSERT INTO contact_profiles (borrower_id, language, timezone, jurisdiction)
        SELECT 'B' || i, CASE WHEN i % 10 = 0 THEN 'en' ELSE 'zh-CN' END, 'Asia/Shanghai', 'CN'
        {TRIGGERED} AND i % 97 <> 0""",
    """INSERT INTO contact_channels (borrower_id, channel, address, address_id, priority,
                                     opted_out)
        SELECT p.borrower_id, c.channel,
               CASE c.channel WHEN 'sms' THEN '+86138' || lpad(substr(p.borrower_id, 2), 8, '0')
                    ELSE substr(p.borrower_id, 2) || '@example.cn' END,
               p.borrower_id || ':' || c.channel, c.priority,
               c.channel = 'sms' AND substr(p.borrower_id, 2)::int % 20 = 0
        FROM contact_profiles p
        CROSS JOIN (VALUES ('sms', 1), ('email', 2)) AS c(channel, priority)""",
    "ANALYZE",
]


def trigger_events(loans: int) -> list[CloudEvent]:
    """The facts the ledger and overdue services publish for the triggered loans of D."""
    events = []
    for i in range(1, loans + 1):
        kind = i % 100
        if kind >= 11:
            continue
        loan, borrower = f"L{i:08d}", f"B{i}"
        # Amounts differ from loan to loan, as in a real book (no message's text is
        # another's: nothing formatted once serves the whole day).
        principal, interest = 100_000 + (i * 7_919) % 400_000, 5_000 + (i * 104_729) % 20_000
        if kind < 8:
            dpd = 1 + i % 60
            payload: object = overdue.LoanBecameOverdue(
                loan_id=loan,
                borrower_id=borrower,
                business_date=D,
                oldest_unpaid_due_date=date.fromordinal(D.toordinal() - dpd),
                days_past_due=dpd,
                bucket="1-30" if dpd <= 30 else "31-60",
                overdue_minor=principal + interest,
                currency="CNY",
            )
            source = "/overdue"
        else:
            payload = ledger.RepaymentDue(
                loan_id=loan,
                borrower_id=borrower,
                seq=1,
                due_date=D,
                amount_due_minor=principal + interest,
                currency="CNY",
                balance=InstalmentBalance(
                    seq=1,
                    due_date=D,
                    principal_minor=principal,
                    interest_minor=interest,
                    penalty_minor=0,
                    fee_minor=0,
                ),
                business_date=D,
            )
            source = "/ledger"
        events.append(new_event(payload, source=source))  # type: ignore[arg-type]
    return events


async def _seeded_runtime(loans: int) -> tuple[str, Any]:
    """A fresh notifier database, migrated and seeded (untimed), with a started runtime."""
    url = await fresh_database("notifier_bench")
    await asyncio.to_thread(upgrade, "notifier", url)
    runtime = create_runtime(Settings(database_url=url, development_mode=True, run_consumers=False))
    await runtime.start(background=False)
    async with runtime.engine.begin() as conn:
        for statement in NOTIFIER_SEED:
            await conn.execute(text(bound(statement, loans, D)))
    return url, runtime


async def _drain(
    runtime: Any, events: list[CloudEvent], decided: Callable[[], Awaitable[None]]
) -> int:
    """The timed part: ``events`` decided and recorded through the consumer's batch path with
    the service's dispatcher beside it, as the runtime runs them; after ``decided()``, the
    dispatcher's rounds until the queue is empty. The number of messages sent."""
    handlers = CONSUMERS.by_type  # the notifier's real handler table
    pinned = datetime.combine(D, datetime.min.time(), SHANGHAI).replace(hour=9, minute=30)
    CLOCK.pinned = pinned
    sandbox = SandboxProvider()
    providers = {c: Failover([sandbox]) for c in ("sms", "email", "push")}

    async def now() -> datetime:
        return pinned

    stopping = asyncio.Event()
    dispatcher = asyncio.create_task(
        dispatch_until_stopped(
            runtime.uow,
            lambda: providers,
            now,
            stopping=stopping,
            interval_s=Settings().dispatch_interval_ms / 1000,
        )
    )
    for start in range(0, len(events), EVENTS_PER_TRANSACTION):
        runs: dict[str, list[CloudEvent]] = {}
        for e in events[start : start + EVENTS_PER_TRANSACTION]:
            runs.setdefault(e.type, []).append(e)
        for kind, run in runs.items():
            batch = handlers[kind]
            assert isinstance(batch, Batchable), kind
            await apply_many(runtime.uow, "notifier-bench", batch, run)
    await decided()
    stopping.set()  # the rest in the same rounds the dispatcher would go on with
    await dispatcher
    while (await dispatch(runtime.uow, providers, pinned)).full:
        pass
    return len(sandbox.messages)


async def _outcome(runtime: Any, sent: int) -> dict[str, int]:
    """Messages sent and triggers suppressed or undeliverable, from the attempt record."""
    async with runtime.session_factory() as session:
        states = dict(
            (
                await session.execute(
                    select(contact_attempts.c.state, func.count()).group_by(
                        contact_attempts.c.state
                    )
                )
            ).all()
        )
    assert states.get("sent", 0) == sent
    return {
        "sent": sent,
        "suppressed": states.get("suppressed", 0) + states.get("undeliverable", 0),
    }


async def notifier_run(loans: int) -> dict[str, float]:
    _, runtime = await _seeded_runtime(loans)
    try:
        events = trigger_events(loans)
        marks: list[float] = []

        async def decided() -> None:
            marks.append(time.perf_counter())

        started = time.perf_counter()
        sent = await _drain(runtime, events, decided)
        finished = time.perf_counter()
        return {
            "triggers": len(events),
            "decide_s": marks[0] - started,
            "send_s": finished - marks[0],
            "total_s": finished - started,
            **await _outcome(runtime, sent),
        }
    finally:
        CLOCK.pinned = None
        await runtime.stop()


def _share(event: CloudEvent, workers: int) -> int:
    """The worker whose partitions hold the event's loan (a stable hash of the key)."""
    return zlib.crc32(str(event.key).encode()) % workers


async def _worker_main(url: str, loans: int, workers: int, w: int, sync: dict[str, Any]) -> None:
    runtime = create_runtime(Settings(database_url=url, development_mode=True, run_consumers=False))
    await runtime.start(background=False)
    try:
        events = [e for e in trigger_events(loans) if _share(e, workers) == w]

        async def decided() -> None:
            sync["decided"].put((time.time(), len(events)))
            await asyncio.to_thread(sync["all_decided"].wait)

        await asyncio.to_thread(sync["ready"].wait)
        sent = await _drain(runtime, events, decided)
        sync["sent"].put((time.time(), sent))
    finally:
        CLOCK.pinned = None
        await runtime.stop()


def _worker(url: str, loans: int, workers: int, w: int, sync: dict[str, Any]) -> None:
    asyncio.run(_worker_main(url, loans, workers, w, sync))


async def notifier_run_workers(loans: int, workers: int) -> dict[str, float]:
    """``notifier_run`` with the decide + send part in ``workers`` processes."""
    url, runtime = await _seeded_runtime(loans)
    try:
        ctx = multiprocessing.get_context("spawn")
        sync: dict[str, Any] = {
            "ready": ctx.Barrier(workers + 1),
            "decided": ctx.Queue(),
            "all_decided": ctx.Event(),
            "sent": ctx.Queue(),
        }
        procs = [
            ctx.Process(target=_worker, args=(url, loans, workers, w, sync)) for w in range(workers)
        ]
        for proc in procs:
            proc.start()
        await asyncio.to_thread(sync["ready"].wait, 600)
        started = time.time()
        decided = [await asyncio.to_thread(sync["decided"].get, True, 600) for _ in procs]
        sync["all_decided"].set()
        sent = [await asyncio.to_thread(sync["sent"].get, True, 600) for _ in procs]
        for proc in procs:
            await asyncio.to_thread(proc.join, 60)
            assert proc.exitcode == 0, proc.exitcode
        decided_at = max(t for t, _ in decided)
        finished = max(t for t, _ in sent)
        return {
            "triggers": sum(n for _, n in decided),
            "decide_s": decided_at - started,
            "send_s": finished - decided_at,
            "total_s": finished - started,
            **await _outcome(runtime, sum(n for _, n in sent)),
        }
    finally:
        await runtime.stop()


async def main(loans: int, runs: int, json_path: str | None = None, workers: int = 1) -> None:
    await create_topics(BENCH_TOPIC, partitions=LOAN_PARTITIONS)
    rows = []
    print(
        f"{'run':>3} | {'COB s':>7} | {'triggers':>8} | {'decide s':>8} | {'send s':>7} | "
        f"{'drain s':>7} | {'decisions/s':>11} | {'msgs/s':>8} | {'sent':>7} | "
        f"{'suppr.':>6} | {'ratio':>5}"
    )
    for n in range(1, runs + 1):
        cob = await close_of_business(loans)
        note = await (notifier_run(loans) if workers == 1 else notifier_run_workers(loans, workers))
        row = {
            "cob_s": cob["total_s"],
            **note,
            "decisions_per_s": note["triggers"] / note["decide_s"],
            "messages_per_s": note["sent"] / note["total_s"],
            "ratio": note["total_s"] / cob["total_s"],
        }
        rows.append(row)
        print(
            f"{n:>3} | {row['cob_s']:>7.2f} | {int(row['triggers']):>8,} | "
            f"{row['decide_s']:>8.2f} | {row['send_s']:>7.2f} | {row['total_s']:>7.2f} | "
            f"{row['decisions_per_s']:>11,.0f} | {row['messages_per_s']:>8,.0f} | "
            f"{int(row['sent']):>7,} | {int(row['suppressed']):>6,} | "
            f"{row['ratio']:>5.2f}",
            flush=True,
        )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(
        f"med | {median('cob_s'):>7.2f} | {int(median('triggers')):>8,} | "
        f"{median('decide_s'):>8.2f} | {median('send_s'):>7.2f} | {median('total_s'):>7.2f} | "
        f"{median('decisions_per_s'):>11,.0f} | {median('messages_per_s'):>8,.0f} | "
        f"{'':>7} | {'':>6} | {median('ratio'):>5.2f}"
    )
    write_results(
        json_path,
        "notifier_triggers",
        {
            "loans": loans,
            "runs": runs,
            "workers": workers,
            **{
                k: median(k)
                for k in (
                    "cob_s",
                    "triggers",
                    "decide_s",
                    "send_s",
                    "total_s",
                    "decisions_per_s",
                    "messages_per_s",
                    "ratio",
                )
            },
        },
    )
    print(
        f"loans={loans:,}: medians of {runs} run(s). COB = overdue close of business + publish "
        f"(bench/overdue_close_of_business.py); drain = notifier decide + record + sandbox "
        f"send; ratio = drain / COB (goal <= 1.0)."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=1, help="notifier processes sharing the triggers"
    )
    parser.add_argument("--json", default=None, help="write the medians there (bench/all.py)")
    args = parser.parse_args()
    asyncio.run(main(args.loans, args.runs, args.json, args.workers))
