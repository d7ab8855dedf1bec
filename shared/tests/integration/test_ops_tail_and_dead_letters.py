"""The ops module and CLI against the real Kafka: tail readable events with filters, list
dead letters with their reasons, replay them."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from lendkit.cli import app
from lendkit.contracts.ledger import PaymentReceived
from lendkit.dead_letters import dead_letter_headers, dead_letter_topic, replay
from lendkit.events import new_event
from lendkit.ops.dead_letters import list_dead_letters
from lendkit.ops.tail import TailFilter, read_lines, summarise, tail
from lendkit.testing import KAFKA, create_topics, unique

pytestmark = pytest.mark.integration


def payment(loan_id: str, amount: int) -> PaymentReceived:
    return PaymentReceived(
        loan_id=loan_id,
        payment_id=unique("P"),
        amount_minor=amount,
        currency="CNY",
        value_date=date(2026, 12, 1),
        external_reference=unique("EXT"),
        received_at=datetime.now(UTC),
    )


async def send(topic: str, *events: object, headers_of=None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
    await producer.start()
    try:
        for e in events:
            ev = new_event(e, source="/tests/ops")  # type: ignore[arg-type]
            headers = ev.headers() if headers_of is None else headers_of(ev)
            await producer.send_and_wait(topic, ev.data, key=ev.key_bytes(), headers=headers)
    finally:
        await producer.stop()


async def test_tail_reads_recent_events_readably_and_filters_by_loan_and_type() -> None:
    topic = unique("ops-tail")
    await create_topics(topic, partitions=2)
    await send(topic, payment("L-A", 1200), payment("L-B", 3400), payment("L-A", 5600))
    await send_raw_poison(topic)

    lines = await read_lines(KAFKA, [topic], last=10)
    assert len(lines) == 4
    good = [line for line in lines if line.malformed is None]
    assert {line.type for line in good} == {"ledger.payment.received.v1"}
    assert "amount_minor=1200" in next(line.summary for line in good if line.key == "L-A")
    assert "currency=CNY" in good[0].summary
    assert [line for line in lines if line.malformed], "a poison record is shown, marked"

    only_a = await read_lines(KAFKA, [topic], last=10, where=TailFilter(loan_id="L-A"))
    assert sorted(line.payload["amount_minor"] for line in only_a) == [1200, 5600]  # type: ignore[index]
    none = await read_lines(KAFKA, [topic], last=10, where=TailFilter(types=("overdue.",)))
    assert none == []
    prefixed = await read_lines(KAFKA, [topic], last=10, where=TailFilter(types=("ledger.*",)))
    assert len(prefixed) == 3
    future = datetime.now(UTC) + timedelta(hours=1)
    assert await read_lines(KAFKA, [topic], where=TailFilter(since=future)) == []
    past = datetime.now(UTC) - timedelta(hours=1)
    assert len(await read_lines(KAFKA, [topic], where=TailFilter(since=past))) == 4


async def send_raw_poison(topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{not json", key=b"L-P")
    finally:
        await producer.stop()


async def test_tail_from_the_end_sees_only_what_arrives_after_it_started() -> None:
    topic = unique("ops-follow")
    await create_topics(topic, partitions=2)
    await send(topic, payment("L-OLD", 100))
    seen = []

    async def follow() -> None:
        async for line in tail(KAFKA, [topic], limit=1, idle_ms=100):
            seen.append(line)

    task = asyncio.create_task(follow())
    await asyncio.sleep(1.5)  # the reader is positioned at the end before the next send
    await send(topic, payment("L-NEW", 200))
    await asyncio.wait_for(task, 20)
    assert [line.key for line in seen] == ["L-NEW"]


def test_a_summary_leads_with_the_telling_fields_and_never_shows_an_address() -> None:
    text = summarise(
        {"loan_id": "L-1", "phone": "+8613800000000", "currency": "CNY", "amount_minor": 5}
    )
    assert text == "amount_minor=5 currency=CNY"


async def test_dead_letters_are_listed_with_reasons_and_replayed_once() -> None:
    namespace = unique("opsdl") + "."
    group = "ledger"
    original = namespace + "ledger.loans"
    dlt = namespace + dead_letter_topic(group)
    await create_topics(original, partitions=2)
    await create_topics(dlt, partitions=1)

    def parked_headers(ev):  # type: ignore[no-untyped-def]
        return dead_letter_headers(
            ev.headers(),
            reason="loan L-DL unknown to the ledger",
            error_type="NotFound",
            topic=original,
            partition=1,
            offset=42,
            group=group,
            attempts=5,
        )

    await send(dlt, payment("L-DL", 700), headers_of=parked_headers)

    found = await list_dead_letters(KAFKA, group, namespace=namespace)
    assert len(found) == 1
    d = found[0]
    assert (d.reason, d.error_type, d.attempts) == (
        "loan L-DL unknown to the ledger",
        "NotFound",
        5,
    )
    assert (d.original_topic, d.original_partition, d.original_offset) == (original, 1, 42)
    assert (d.key, d.type, d.parked, d.replayed) == (
        "L-DL",
        "ledger.payment.received.v1",
        False,
        False,
    )

    runner = CliRunner()
    listed = await asyncio.to_thread(
        runner.invoke, app, ["dead-letters", "list", "--group", group, "--namespace", namespace]
    )
    assert listed.exit_code == 0, listed.output
    assert "1 dead letter(s)" in listed.output

    result = await asyncio.to_thread(
        runner.invoke,
        app,
        ["dead-letters", "replay", "--group", group, "--namespace", namespace],
    )
    assert result.exit_code == 0, result.output
    assert "replayed 1 unparked" in result.output
    back = await read_lines(KAFKA, [original], last=5)
    assert [(line.key, line.partition) for line in back] == [("L-DL", 1)]
    assert (await list_dead_letters(KAFKA, group, namespace=namespace))[0].replayed
    again = await replay(KAFKA, namespace + group)
    assert again.replayed == 0, "a dead letter is replayed once"


def test_cli_tail_and_lag_print_readable_tables() -> None:
    topic = unique("ops-cli")
    asyncio.run(create_topics(topic, partitions=1))
    asyncio.run(send(topic, payment("L-CLI", 4242)))
    runner = CliRunner()
    tailed = runner.invoke(app, ["tail", topic, "--last", "5", "--no-follow", "--loan", "L-CLI"])
    assert tailed.exit_code == 0, tailed.output
    assert "ledger.payment.received.v1" in tailed.output and "amount_minor=4242" in tailed.output
    lag = runner.invoke(app, ["lag", "--group", unique("nobody")])
    assert lag.exit_code == 0, lag.output
    assert "total lag: 0" in lag.output
