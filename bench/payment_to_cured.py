"""Benchmark: a payment's way to ``overdue.loan.cured`` as a subscriber sees it, at a sustained
rate, beside the raw broker round trip measured in the same run (issue 12).

    .venv/bin/python bench/payment_to_cured.py              # 200/s and 'held', 10 s each, 3 runs
    .venv/bin/python bench/payment_to_cured.py --rates 200,100,held --seconds 20 --runs 3

The platform is the real one, as the simulator starts it (``simulator.local_platform``: the
four services as processes on fresh databases and a topic namespace of their own, ports
``--base-port`` .. +3, default 8730), on the shared PostgreSQL and Kafka. Untimed setup: one
annuity product (CNY, 12 months, arrears grace 3 days), as many loans as the runs need
disbursed on 2026-01-15, every business day closed up to 2026-02-20 (the first instalment,
due 2026-02-15, is 5 days past due: every loan is announced overdue), the platform settled
(every consumer lag 0), and each loan's arrears read from the ledger.

Rates: ``--rates``, payments per second, and ``held``: the most the machine holds, found in the
same run before the timed legs: 300 payments with 16 in flight (closed loop), and 70 % of
that rate sent open loop (at the closed-loop rate itself the answers queue without bound).

Timed, per rate and run, on loans of their own:

* **payment -> cured**: ``POST /loans/{id}/payments`` of the loan's arrears (service role, as a
  payment gateway), sent open loop at the rate (each at its moment, whatever the latency of
  the answers before it); a subscriber on the instance's ``overdue.loans`` (assigned every
  partition at its end before the first send) notes when it sees the loan's
  ``overdue.loan.cured.v1``. Latency = seen - sent. The path: the ledger's transaction
  (allocation, journal, outbox), its relay (woken by NOTIFY), the broker, the overdue
  service's idempotent consumer (read model, cure review, outbox), its relay, the broker, the
  subscriber.
* **broker round trip**: the same number of records at the same rate, produced with the
  relays' producer settings (acks=all, idempotent, linger 5 ms) to a topic of the run's own
  and seen by a consumer like the subscriber: the floor under two of the path's hops.

Printed: a row per rate and run and the medians per rate: payments sent and answered per
second, POST p50/p99, payment -> cured p50/p99, broker round trip p50/p99, and the ratio of
the two p50s. When the answered rate falls short of the rate, the machine did not hold it:
the row says so (the goal is 200/s, or the most the machine holds, stated).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from bench_results import write_results
from rich.console import Console
from rich.table import Table

from lendkit.auth import Role
from lendkit.contracts.topics import OVERDUE_LOANS
from lendkit.ops.metadata import topic_partitions
from simulator import local_platform as lp
from simulator.client import Platform
from simulator.settle import Settler
from simulator.target import PlatformTarget

ROOT = Path(__file__).resolve().parents[1]

DISBURSED_ON = date(2026, 1, 15)
LAST_CLOSED = date(2026, 2, 20)  # the first instalment (2026-02-15) is 5 days past due
PAID_ON = LAST_CLOSED + timedelta(days=1)
CURED = "overdue.loan.cured.v1"
#: The closed-loop probe behind the rate ``held``: payments with this many in flight ...
IN_FLIGHT, PROBE_PAYMENTS = 16, 300
#: ... and the share of its rate sent open loop (below the closed-loop rate, the queue of
#: answers stays short: the latency is the path's, not the backlog's).
HELD_SHARE = 0.7
console = Console(stderr=True)
app = typer.Typer(add_completion=False, help=__doc__)


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (``q`` in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Leg:
    """One timed leg: send moments and what was seen, by key."""

    sent: dict[str, float] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)
    first: float = 0.0
    last_answer: float = 0.0

    def latencies_ms(self) -> list[float]:
        return [(self.seen[k] - s) * 1000 for k, s in self.sent.items() if k in self.seen]

    def answer_ms(self) -> list[float]:
        return [(self.answered[k] - s) * 1000 for k, s in self.sent.items() if k in self.answered]


async def _watch(
    consumer: AIOKafkaConsumer, wanted: Any, leg: Leg, keys: set[str], all_seen: asyncio.Event
) -> None:
    """Note the first time each record of ``keys`` is seen, until all are (a cure of a loan
    paid before this leg, arriving late, is not this leg's)."""
    while len(leg.seen) < len(keys):
        batches = await consumer.getmany(timeout_ms=50, max_records=1000)
        now = time.perf_counter()
        for records in batches.values():
            for r in records:
                key = wanted(r)
                if key in keys and key not in leg.seen:
                    leg.seen[key] = now
    all_seen.set()


async def _subscriber(kafka: str, topic: str) -> AIOKafkaConsumer:
    """A consumer assigned every partition of ``topic``, at its end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    partitions = (await topic_partitions(kafka, [topic])).get(topic)
    if not partitions:
        await consumer.stop()
        raise RuntimeError(f"no topic {topic}")
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:
        await consumer.position(tp)  # resolve the end now, before the first send
    return consumer


async def _until_seen(watcher: asyncio.Task[None], all_seen: asyncio.Event, timeout: float) -> None:
    """Wait for the watcher to see everything, at most ``timeout`` s; then stop it."""
    try:
        await asyncio.wait_for(all_seen.wait(), timeout)
    except TimeoutError:
        pass
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


# -- setup ------------------------------------------------------------------------------------


async def setup(target: PlatformTarget, loans: int) -> dict[str, int]:
    """``loans`` loans announced overdue, settled; loan id -> arrears to pay on PAID_ON."""
    platform = Platform(target, concurrency=16)
    tag = target.namespace.rstrip(".").replace(".", "-")
    code = f"CURE-{tag}"
    try:
        await platform.call(
            "ledger",
            "POST",
            "/close-of-business",
            json={"business_date": (DISBURSED_ON - timedelta(days=1)).isoformat()},
            idempotency_key=f"cob-{tag}-start",
        )
        await platform.call(
            "ledger",
            "POST",
            "/products",
            role=Role.ADMIN,
            json={
                "code": code,
                "currency": "CNY",
                "annual_rate": "0.18",
                "term": 12,
                "overdue_policy": {"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"},
            },
            idempotency_key=f"product-{code}",
        )
        ids = [f"CURE-{tag}-{i:06d}" for i in range(loans)]

        async def disburse(loan_id: str, i: int) -> None:
            await platform.call(
                "ledger",
                "POST",
                "/loans",
                json={
                    "loan_id": loan_id,
                    "borrower_id": f"B-{loan_id}",
                    "product_code": code,
                    "principal_minor": 1_000_000 + 100 * (i % 50),
                    "disbursed_on": DISBURSED_ON.isoformat(),
                },
                idempotency_key=f"loan-{loan_id}",
            )

        await asyncio.gather(*(disburse(loan_id, i) for i, loan_id in enumerate(ids)))
        day = DISBURSED_ON
        while day <= LAST_CLOSED:
            await platform.call(
                "ledger",
                "POST",
                "/close-of-business",
                json={"business_date": day.isoformat()},
                idempotency_key=f"cob-{tag}-{day}",
            )
            day += timedelta(days=1)
        settler = Settler(target)
        await settler.start()
        try:
            await settler.wait(timeout=900)
        finally:
            await settler.close()

        async def arrears(loan_id: str) -> tuple[str, int]:
            # What the mobile app shows: paying it leaves the loan current (once not settling).
            owed = await platform.call(
                "ledger", "GET", f"/loans/{loan_id}/owed", params={"as_of": PAID_ON.isoformat()}
            )
            assert not owed["settling"], f"{loan_id}: the last close's penalty not booked"
            return loan_id, int(owed["total_minor"])

        owed = dict(await asyncio.gather(*(arrears(loan_id) for loan_id in ids)))
        assert all(v > 0 for v in owed.values()), "a loan without arrears after the closes"
        return owed
    finally:
        await platform.close()


# -- the timed legs ---------------------------------------------------------------------------


async def payments_to_cured(
    target: PlatformTarget, owed: dict[str, int], rate: float, timeout: float
) -> Leg:
    leg = Leg()
    consumer = await _subscriber(target.kafka, target.topic(OVERDUE_LOANS))
    all_seen = asyncio.Event()

    def cured(r: Any) -> str | None:
        headers = dict(r.headers or ())
        if headers.get("ce_type") == CURED.encode() and r.key is not None:
            return str(r.key.decode())
        return None

    watcher = asyncio.create_task(_watch(consumer, cured, leg, set(owed), all_seen))
    client = Platform(target, concurrency=512)
    loans = sorted(owed)
    t0 = time.perf_counter() + 0.2
    leg.first = t0

    async def pay(i: int, loan_id: str) -> None:
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        leg.sent[loan_id] = time.perf_counter()
        await pay_arrears(client, loan_id, owed[loan_id])
        leg.answered[loan_id] = time.perf_counter()

    try:
        await asyncio.gather(*(pay(i, loan) for i, loan in enumerate(loans)))
        leg.last_answer = max(leg.answered.values())
        await _until_seen(watcher, all_seen, timeout)
    finally:
        watcher.cancel()
        await consumer.stop()
        await client.close()
    return leg


async def pay_arrears(client: Platform, loan_id: str, amount: int) -> None:
    """The payment gateway's POST of the loan's arrears (service role, idempotent)."""
    ref = f"cure-{loan_id}"
    await client.call(
        "ledger",
        "POST",
        f"/loans/{loan_id}/payments",
        role=Role.SERVICE,
        json={"external_reference": ref, "amount_minor": amount, "value_date": PAID_ON.isoformat()},
        idempotency_key=ref,
    )


async def closed_loop_rate(target: PlatformTarget, owed: dict[str, int], in_flight: int) -> float:
    """Payments a second with ``in_flight`` POSTs outstanding at every moment."""
    client = Platform(target, concurrency=in_flight)
    queue = list(owed.items())

    async def worker() -> None:
        while queue:
            loan_id, amount = queue.pop()
            await pay_arrears(client, loan_id, amount)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(in_flight)))
    finally:
        await client.close()
    return len(owed) / (time.perf_counter() - started)


async def broker_round_trip(kafka: str, count: int, rate: float, timeout: float) -> Leg:
    from lendkit.testing import create_topics

    topic = f"bench.roundtrip.{uuid.uuid4().hex[:8]}"
    await create_topics(topic, partitions=6)
    leg = Leg()
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    consumer = await _subscriber(kafka, topic)
    all_seen = asyncio.Event()
    watcher = asyncio.create_task(
        _watch(
            consumer,
            lambda r: r.key.decode() if r.key else None,
            leg,
            {f"k{i:06d}" for i in range(count)},
            all_seen,
        )
    )
    payload = b"x" * 600  # about a payment.allocated event
    t0 = time.perf_counter() + 0.2
    leg.first = t0

    async def send(i: int) -> None:
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        key = f"k{i:06d}"
        leg.sent[key] = time.perf_counter()
        await producer.send_and_wait(topic, payload, key=key.encode())
        leg.answered[key] = time.perf_counter()

    try:
        await asyncio.gather(*(send(i) for i in range(count)))
        leg.last_answer = max(leg.answered.values())
        await _until_seen(watcher, all_seen, timeout)
    finally:
        watcher.cancel()
        await consumer.stop()
        await producer.stop()
    return leg


# -- the run ----------------------------------------------------------------------------------


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f}"


def summarise(rate: float, payments: Leg, broker: Leg) -> dict[str, Any]:
    n = len(payments.sent)
    span = payments.last_answer - payments.first
    cured_ms, broker_ms = payments.latencies_ms(), broker.latencies_ms()
    answered_rate = round(n / span, 1) if span > 0 else None
    p50, b50 = percentile(cured_ms, 0.5), percentile(broker_ms, 0.5)
    return {
        "rate": rate,
        "payments": n,
        "answered_per_s": answered_rate,
        "held": answered_rate is not None and answered_rate >= 0.95 * rate,
        "post_p50_ms": percentile(payments.answer_ms(), 0.5),
        "post_p99_ms": percentile(payments.answer_ms(), 0.99),
        "cured_seen": len(cured_ms),
        "cured_p50_ms": p50,
        "cured_p99_ms": percentile(cured_ms, 0.99),
        "broker_p50_ms": b50,
        "broker_p99_ms": percentile(broker_ms, 0.99),
        "ratio_p50": round(p50 / b50, 1) if p50 and b50 else None,
    }


COLUMNS = (
    ("rate/s", "rate", lambda v: f"{v:g}"),
    ("payments", "payments", str),
    ("answered/s", "answered_per_s", lambda v: "-" if v is None else f"{v:,.1f}"),
    ("held", "held", lambda v: "yes" if v else "no"),
    ("POST p50 ms", "post_p50_ms", _ms),
    ("POST p99 ms", "post_p99_ms", _ms),
    ("cured seen", "cured_seen", str),
    ("cured p50 ms", "cured_p50_ms", _ms),
    ("cured p99 ms", "cured_p99_ms", _ms),
    ("broker p50 ms", "broker_p50_ms", _ms),
    ("broker p99 ms", "broker_p99_ms", _ms),
    ("x broker p50", "ratio_p50", lambda v: "-" if v is None else f"{v:g}"),
)


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"rate": rows[0]["rate"], "payments": rows[0]["payments"]}
    for _, key, _fmt in COLUMNS:
        if key in out:
            continue
        values = [r[key] for r in rows if r[key] is not None]
        if key == "held":
            out[key] = all(r["held"] for r in rows)
        elif key == "cured_seen":
            out[key] = min(r[key] for r in rows)
        else:
            out[key] = round(statistics.median(values), 1) if values else None
    return out


@app.command()
def main(
    rates: Annotated[
        str,
        typer.Option(
            help="payments per second, comma separated; 'held': the most the machine holds "
            f"({HELD_SHARE:.0%} of the closed-loop rate measured first, same run)"
        ),
    ] = "200,held",
    seconds: Annotated[float, typer.Option(help="how long each rate is sent")] = 10.0,
    runs: Annotated[int, typer.Option(help="runs per rate (medians)")] = 3,
    base_port: Annotated[int, typer.Option(help="the four services' first port")] = 8730,
    prefix: Annotated[
        str, typer.Option(help="the instance's databases and topics")
    ] = "bench_cured",
    timeout: Annotated[float, typer.Option(help="wait for the last cure, s")] = 120.0,
    json_path: Annotated[
        str | None, typer.Option("--json", help="write the medians there (bench/all.py)")
    ] = None,
) -> None:
    labels = [r.strip() for r in rates.split(",") if r.strip()]
    fixed = [float(r) for r in labels if r != "held"]
    most = max(fixed, default=200.0)
    # "held" gets room for the highest fixed rate: it is at most that when that is not held.
    sizes = {r: max(1, int((most if r == "held" else float(r)) * seconds)) for r in labels}
    probe = PROBE_PAYMENTS if "held" in labels else 0
    total = sum(sizes.values()) * runs + probe
    target = lp.prepare(prefix, base_port)
    console.print(f"platform {target.namespace} on ports {base_port}-{base_port + 3}")
    rows: dict[str, list[dict[str, Any]]] = {r: [] for r in labels}
    try:
        with lp.running(target, ROOT / ".var" / "bench" / prefix / "logs"):
            started = time.perf_counter()
            owed = asyncio.run(setup(target, total))
            console.print(
                f"{total:,} overdue loans set up in {time.perf_counter() - started:.0f} s"
            )
            loans = iter(sorted(owed))

            def take(n: int) -> dict[str, int]:
                return {k: owed[k] for k in (next(loans) for _ in range(n))}

            rate_of = {r: float(r) for r in labels if r != "held"}
            if probe:
                closed = asyncio.run(closed_loop_rate(target, take(probe), IN_FLIGHT))
                rate_of["held"] = max(1.0, float(int(HELD_SHARE * closed)))
                console.print(
                    f"closed loop, {IN_FLIGHT} in flight: {closed:.1f} payments/s; "
                    f"'held' = {rate_of['held']:g}/s"
                )
            for run in range(1, runs + 1):
                for label in labels:
                    rate = rate_of[label]
                    chunk = take(sizes[label])
                    if label == "held":
                        chunk = dict(list(chunk.items())[: max(1, int(rate * seconds))])
                    paid = asyncio.run(payments_to_cured(target, chunk, rate, timeout))
                    broker = asyncio.run(broker_round_trip(target.kafka, len(chunk), rate, timeout))
                    row = summarise(rate, paid, broker)
                    rows[label].append(row)
                    console.print(f"run {run} rate {label} ({rate:g}/s): {row}")
    finally:
        asyncio.run(lp.delete_topics(target))
    table = Table(title=f"payment -> overdue.loan.cured, medians of {runs} run(s)")
    for name, _key, _fmt in COLUMNS:
        table.add_column(name, justify="right")
    for label in labels:
        for r in rows[label]:
            table.add_row(*(fmt(r[key]) for _n, key, fmt in COLUMNS), style="dim")
        m = median_row(rows[label])
        table.add_row(*(fmt(m[key]) for _n, key, fmt in COLUMNS))
    Console(width=200).print(table)
    write_results(
        json_path,
        "payment_to_cured",
        {label: median_row(rows[label]) | {"runs": len(rows[label])} for label in labels},
    )
    Console().print(
        "cured: from the payment's send to the subscriber seeing its overdue.loan.cured.v1 "
        "(goals p50 <= 20 ms, p99 <= 100 ms at 200/s); broker: the same count at the same rate "
        "produced (acks=all) and consumed, same run. held: answered at >= 95 % of the rate."
    )


if __name__ == "__main__":
    app()
