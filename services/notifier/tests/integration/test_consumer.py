"""Over real Kafka: the same overdue fact delivered twice is one attempt and one message."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from lendkit.consumer import IdempotentConsumer, RetryPolicy
from lendkit.contracts import overdue
from lendkit.contracts.topics import OVERDUE_LOANS
from lendkit.events import new_event
from lendkit.testing import KAFKA, create_topics, unique
from notifier.adapters.providers import Failover, SandboxProvider
from notifier.bootstrap import create_runtime
from notifier.domain.policy import Channel, Jurisdiction
from notifier.entrypoints.consumers import CONSUMERS
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch
from notifier.settings import Settings


async def test_the_same_fact_twice_over_kafka_is_one_message(database_url: str) -> None:
    runtime = create_runtime(
        Settings(database_url=database_url, run_consumers=False, run_outbox_relay=False)
    )
    await runtime.start(background=False)
    topic = f"{unique('nt')}.{OVERDUE_LOANS}"
    await create_topics(topic, partitions=1)
    consumer = IdempotentConsumer(
        bootstrap_servers=KAFKA,
        group=unique("notifier-test"),
        topics=[topic],
        handlers=CONSUMERS.by_type,
        uow_factory=runtime.uow,
        producer=runtime.producer,
        batch_size=100,
        retry=RetryPolicy(max_attempts=2, backoff_ms=10, backoff_max_ms=50),
    )
    await create_topics(f"{consumer.group}.dlt", partitions=1)
    await consumer.start()
    borrower, loan = unique("B"), unique("L")
    CLOCK.pinned = datetime(2026, 5, 4, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    try:
        async with runtime.uow() as uow:
            await uow.profiles.put(
                borrower,
                "zh-CN",
                "Asia/Shanghai",
                Jurisdiction.CN,
                [(Channel.SMS, "+8613700000000", 1)],
            )
            await uow.commit()
        event = new_event(
            overdue.LoanBecameOverdue(
                loan_id=loan,
                borrower_id=borrower,
                business_date=date(2026, 5, 4),
                oldest_unpaid_due_date=date(2026, 5, 3),
                days_past_due=1,
                bucket="1-30",
                overdue_minor=100,
                currency="CNY",
            ),
            source="/tests/overdue",
        )
        for _ in range(2):
            await runtime.producer.send_and_wait(
                topic, value=event.data, key=event.key_bytes(), headers=event.headers(), partition=0
            )
        handled, deadline = 0, time.monotonic() + 30
        while handled < 2:
            assert time.monotonic() < deadline, f"handled {handled} of 2"
            handled += await consumer.poll_once(timeout_ms=300)
        sandbox = SandboxProvider()
        await dispatch(runtime.uow, {"sms": Failover([sandbox])}, CLOCK.pinned)
        async with runtime.uow() as uow:
            states = [r["state"] for r in await uow.attempts.history(loan_id=loan)]
        assert states == ["decided", "queued", "sent", "delivered"]
        assert len([m for m in sandbox.messages.values() if loan in m.body]) == 1
    finally:
        CLOCK.pinned = None
        await consumer.stop()
        await runtime.stop()
