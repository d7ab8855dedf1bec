"""A world for the overdue service's integration tests: real PostgreSQL and real Kafka.

The database is created once (``overdue_test``) and emptied before each test. The ledger's
input topics are *private copies* per test (``<prefix>.ledger.loans`` ...): close-of-business
markers are not loan-keyed, so markers another test (or the ledger's own tests) publish on
the shared ``ledger.loans`` would close dates in this database at random. Loan ids are
unique per test anyway. What the service publishes goes through its outbox relay to the
real, shared ``overdue.loans`` topic and is read back filtered by loan id.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from lendkit.app import create_service_app
from lendkit.consumer import IdempotentConsumer, RetryPolicy
from lendkit.contracts import ledger
from lendkit.contracts.money import InstalmentBalance, InstalmentTerms
from lendkit.contracts.topics import (
    LEDGER_LOANS,
    LEDGER_PRODUCTS,
    LOAN_PARTITIONS,
    NOTIFIER_CONTACTS,
    OVERDUE_LOANS,
    RESTRUCTURE_PLANS,
)
from lendkit.events import CloudEvent, EventPayload, new_event
from lendkit.migrations import upgrade
from lendkit.runtime import ServiceRuntime
from lendkit.testing import KAFKA, create_topics, fresh_database, unique
from overdue.bootstrap import create_runtime
from overdue.entrypoints.api import router
from overdue.entrypoints.consumers import CONSUMERS
from overdue.service_layer.unit_of_work import OverdueUnitOfWork
from overdue.settings import Settings

REPO = Path(__file__).resolve().parents[4]
SCHEMAS = REPO / "docs" / "events" / "schemas"
SOURCE = "/tests/ledger"
_TABLES = (
    "outbox, processed_events, idempotency_keys, products, loans, instalments, penalty_days, "
    "penalty_waivers, bucket_history, stage_history, day_markers, cob_runs, blocked_loan_days, "
    "refused_products"
)


@pytest.fixture(scope="session")
async def database_url() -> str:
    url = await fresh_database("overdue_test")
    await asyncio.to_thread(upgrade, "overdue", url)
    return url


class World:
    """The overdue service with a consumer on private input topics."""

    def __init__(self, runtime: ServiceRuntime[OverdueUnitOfWork], prefix: str) -> None:
        self.runtime = runtime
        self.prefix = prefix
        self.topics = {
            name: f"{prefix}.{name}"
            for name in (LEDGER_LOANS, LEDGER_PRODUCTS, RESTRUCTURE_PLANS, NOTIFIER_CONTACTS)
        }
        self.consumer = IdempotentConsumer(
            bootstrap_servers=KAFKA,
            group=unique("overdue-test"),
            topics=list(self.topics.values()),
            handlers=CONSUMERS.by_type,
            uow_factory=runtime.uow,
            producer=runtime.producer,
            batch_size=500,
            retry=RetryPolicy(max_attempts=2, backoff_ms=10, backoff_max_ms=50),
        )
        self.published = 0
        self.handled = 0
        self.app = create_service_app(
            runtime, title="overdue (test)", description="", routers=[router]
        )

    async def send(self, event: CloudEvent, partition: int | None = None) -> None:
        await self.runtime.producer.send_and_wait(
            self.topics[event.topic],
            value=event.data,
            key=event.key_bytes(),
            headers=event.headers(),
            partition=partition,
        )
        self.published += 1

    async def publish(self, *payloads: EventPayload) -> list[CloudEvent]:
        events = [new_event(p, source=SOURCE) for p in payloads]
        for event in events:
            await self.send(event)
        return events

    async def drain(self, timeout: float = 60.0) -> None:
        """Consume until every record published so far was handled."""
        deadline = time.monotonic() + timeout
        while self.handled < self.published:
            assert time.monotonic() < deadline, f"handled {self.handled} of {self.published}"
            self.handled += await self.consumer.poll_once(timeout_ms=300)

    async def close_day(self, day: date, partitions: int = LOAN_PARTITIONS) -> None:
        """What the ledger does after a day's events: a marker on every partition."""
        for p in range(partitions):
            marker = ledger.BusinessDayClosed(business_date=day, partition=p, partitions=partitions)
            await self.send(new_event(marker, source=SOURCE, partition=p), partition=p)
        await self.drain()

    async def close_days(self, first: date, last: date) -> None:
        day = first
        while day <= last:
            await self.close_day(day)
            day += timedelta(days=1)

    async def publish_outbox(self) -> int:
        return await self.runtime.relay().publish_pending()

    async def sql(self, query: str, **params: Any) -> list[Any]:
        async with self.runtime.engine.connect() as conn:
            return list((await conn.execute(text(query), params)).all())

    def client(self, *, roles: list[str], borrower_id: str | None = None) -> httpx.AsyncClient:
        token = self.runtime.tokens.issue(borrower_id or "ops-1", roles, borrower_id=borrower_id)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://overdue",
            headers={"Authorization": f"Bearer {token}"},
        )


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    settings = Settings(database_url=database_url, run_consumers=False, run_outbox_relay=False)
    runtime = create_runtime(settings)
    async with runtime.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY"))
    await runtime.start(background=False)
    prefix = unique("ovt")
    world = World(runtime, prefix)
    await create_topics(*world.topics.values(), partitions=LOAN_PARTITIONS)
    await create_topics(f"{world.consumer.group}.dlt", partitions=1)  # refused events
    await world.consumer.start()
    try:
        yield world
    finally:
        await world.consumer.stop()
        await runtime.stop()


# Reading back what the service published ------------------------------------------------


@pytest.fixture(scope="session")
async def overdue_topic_start() -> dict[TopicPartition, int]:
    """End offsets of overdue.loans when the session started: read back only newer events."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
    await consumer.start()
    try:
        await create_topics(OVERDUE_LOANS, partitions=LOAN_PARTITIONS)
        parts = [TopicPartition(OVERDUE_LOANS, p) for p in range(LOAN_PARTITIONS)]
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(parts)
        return offsets
    finally:
        await consumer.stop()


async def read_overdue_events(
    start: dict[TopicPartition, int], loan_id: str, *, count: int, timeout: float = 30.0
) -> list[CloudEvent]:
    """The service's events for ``loan_id`` from Kafka, in order; waits for ``count``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
    await consumer.start()
    found: list[CloudEvent] = []
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for r in records:
                    if r.key == loan_id.encode():
                        found.append(
                            CloudEvent.from_kafka(
                                r.topic, r.key, r.value, list(r.headers), r.partition
                            )
                        )
            if len(found) >= count and not batch:
                break
    finally:
        await consumer.stop()
    return found


async def waivers_sent(world: World, loan_id: str) -> list[tuple[str, dict[str, Any]]]:
    """``(event id, payload)`` of the ``overdue.penalty.waived.v1`` the loan's waivers
    wrote to the outbox, in order."""
    rows = await world.sql(
        "SELECT event_id, payload FROM outbox WHERE message_key = :l "
        "AND event_type = 'overdue.penalty.waived.v1' ORDER BY id",
        l=loan_id,
    )
    return [(str(r[0]), json.loads(bytes(r[1]))) for r in rows]


def assert_matches_schema(event: CloudEvent) -> None:
    schema = json.loads((SCHEMAS / f"{event.type}.json").read_text())
    jsonschema.validate(json.loads(event.data), schema)


def payloads(events: list[CloudEvent], type_: str) -> list[dict[str, Any]]:
    return [json.loads(e.data) for e in events if e.type == type_]


# The worked example's loan ---------------------------------------------------------------

DISBURSED_ON = date(2026, 1, 15)


def worked_example_schedule() -> list[InstalmentTerms]:
    """10,000.00 CNY, 12 months, 18 % a year (1.5 % a month), annuity of 91_680 minor:
    instalment 1 due 2026-02-15: interest 15_000, principal 76_680;
    instalment 2 due 2026-03-15: interest round(923_320 * 0.015) = 13_850, principal 77_830.
    Later instalments follow the same rule (half-even), the last one taking the remainder."""
    remaining, terms = 1_000_000, []
    for seq in range(1, 13):
        interest = round(remaining * 15 / 1000)  # Python's round is half-even
        principal = remaining if seq == 12 else 91_680 - interest
        month = 1 + seq  # 2026-02 .. 2027-01
        due = date(2026 + (month - 1) // 12, (month - 1) % 12 + 1, 15)
        terms.append(
            InstalmentTerms(
                seq=seq, due_date=due, principal_minor=principal, interest_minor=interest
            )
        )
        remaining -= principal
    return terms


def balances_from(terms: list[InstalmentTerms], first_open: int) -> list[InstalmentBalance]:
    return [
        InstalmentBalance(
            seq=t.seq,
            due_date=t.due_date,
            principal_minor=t.principal_minor,
            interest_minor=t.interest_minor,
            penalty_minor=0,
            fee_minor=0,
        )
        for t in terms
        if t.seq >= first_open
    ]


def payment_allocated(
    loan_id: str, value_date: date, amount_minor: int, balances: list[InstalmentBalance]
) -> ledger.PaymentAllocated:
    """A CNY payment valued ``value_date`` that left ``balances`` open (lines not given)."""
    return ledger.PaymentAllocated(
        loan_id=loan_id,
        payment_id=unique("pay"),
        value_date=value_date,
        amount_minor=amount_minor,
        currency="CNY",
        lines=[],
        credit_minor=0,
        credit_balance_minor=0,
        balances=balances,
    )


WORKED_EXAMPLE_POLICY: dict[str, Any] = {
    "arrears_grace_days": 3,
    "penalty_grace_days": 0,
    "penalty_daily_rate": "0.0005",
    "penalty_base": "overdue_principal",
    "absolute_penalty_cap_minor": 1_000,
}


async def publish_worked_example_product(
    world: World, code: str, overdue_policy: dict[str, Any] | None = None
) -> None:
    await world.publish(
        ledger.ProductPublished(
            code=code,
            currency="CNY",
            annual_rate="0.18",
            day_count="30/360",
            term=12,
            frequency="monthly",
            schedule_type="annuity",
            rounding="half_even",
            allocation_strategy="oldest_first",
            allocation_components=["penalty", "fee", "interest", "principal"],
            reminder_days_before=[3, 1],
            overdue_policy=overdue_policy or WORKED_EXAMPLE_POLICY,
        )
    )
    await world.drain()


async def open_worked_example_loan(
    world: World,
    *,
    overdue_policy: dict[str, Any] | None = None,
    product_code: str | None = None,
) -> tuple[str, str, list[InstalmentTerms]]:
    """Publish the product, the disbursement, instalment 1 due and paid, instalment 2 due
    (and never paid). Returns (loan id, borrower id, schedule). With ``product_code`` the
    loan is of that product and no product is published (the test publishes it, or not)."""
    code, loan_id, borrower_id = product_code or unique("P"), unique("L"), unique("B")
    terms = worked_example_schedule()
    if product_code is None:
        # the product first (another topic: no ordering with the loan)
        await publish_worked_example_product(world, code, overdue_policy)
    await world.publish(
        ledger.LoanDisbursed(
            loan_id=loan_id,
            borrower_id=borrower_id,
            product_code=code,
            currency="CNY",
            principal_minor=1_000_000,
            annual_rate="0.18",
            disbursed_on=DISBURSED_ON,
            timezone="Asia/Shanghai",
            instalments=terms,
        ),
        payment_allocated(loan_id, date(2026, 2, 15), 91_680, balances_from(terms, first_open=2)),
        ledger.RepaymentDue(
            loan_id=loan_id,
            borrower_id=borrower_id,
            seq=2,
            due_date=date(2026, 3, 15),
            amount_due_minor=91_680,
            currency="CNY",
            balance=balances_from(terms, first_open=2)[0],
            business_date=date(2026, 3, 15),
        ),
    )
    await world.drain()
    return loan_id, borrower_id, terms
