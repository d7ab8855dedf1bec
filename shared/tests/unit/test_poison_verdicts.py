"""What a consumer makes of bad input (regressions of the poison-event run, docs/faults.md):

- a record keyed by another key than its payload's key field is misrouted (dead letter with
  the reason, the record's key goes on);
- a type no contract defines is refused with the reason; a catalogued type the consumer
  does not handle is ignored (tolerant reader);
- an unknown version of a handled type parks its key (it may yet apply, in order);
- a payload's validation errors in the reason leave its input out (a huge or personal
  payload is not copied into a header);
- a dead letter the broker refuses for its size is sent without its value (the partition
  does not wait behind it for ever).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import ConsumerRecord

from lendkit.consumer.dead_lettering import DeadLetterer
from lendkit.consumer.decoding import HandlerTable
from lendkit.dead_letters import H_OFFSET, H_REASON, H_VALUE_DROPPED, header_value
from lendkit.events import EventPayload, MalformedEvent, event_type, new_event
from lendkit.failures import MisroutedEvent, RejectedEvent, RetryPolicy, UnknownEventVersion


@event_type("kittest.loan.poisoned.v1", topic="kittest.loans", description="test only")
class Poisoned(EventPayload):
    loan_id: str
    amount_minor: int


@event_type(
    "kittest.day.poisoned.v1", topic="kittest.days", description="test only", key_field=None
)
class DayPoisoned(EventPayload):
    business_date: str


async def _noop(uow: object, event: object) -> None:
    return None


def test_a_record_keyed_by_another_loan_is_misrouted() -> None:
    event = replace(new_event(Poisoned(loan_id="L-1", amount_minor=1), source="s"), key="L-2")
    with pytest.raises(MisroutedEvent, match="record key 'L-2' is not the payload's loan_id"):
        event.payload(Poisoned)
    assert issubclass(MisroutedEvent, RejectedEvent), "the record's key is not parked"


def test_a_record_without_a_key_is_misrouted_and_one_keyed_by_its_loan_is_not() -> None:
    event = new_event(Poisoned(loan_id="L-1", amount_minor=1), source="s")
    assert event.payload(Poisoned).loan_id == "L-1"
    with pytest.raises(MisroutedEvent):
        replace(event, key=None).payload(Poisoned)


def test_a_type_without_a_key_field_takes_any_key() -> None:
    event = replace(new_event(DayPoisoned(business_date="2026-01-01"), source="s"), key="p3")
    assert event.payload(DayPoisoned).business_date == "2026-01-01"


def test_a_type_outside_the_catalogue_is_refused_and_a_catalogued_one_ignored() -> None:
    table = HandlerTable({"kittest.loan.poisoned.v1": _noop})
    assert table.ignores("kittest.day.poisoned.v1"), "catalogued, not handled: tolerant"
    assert table.unknown_type("kittest.day.poisoned.v1") is None
    reason = table.unknown_type("nobody.never.defined.v1")
    assert reason is not None and "nobody.never.defined.v1" in reason
    assert not table.ignores("nobody.never.defined.v1")
    assert table.unknown_type("kittest.loan.poisoned.v1") is None, "handled"


def test_an_unknown_version_of_a_handled_type_parks_its_key() -> None:
    table = HandlerTable({"kittest.loan.poisoned.v1": _noop})
    reason = table.unknown_version("kittest.loan.poisoned.v2")
    assert reason is not None and "unknown version kittest.loan.poisoned.v2" in reason
    assert not table.ignores("kittest.loan.poisoned.v2")
    # the dead letterer parks the key of every refusal that is not a RejectedEvent
    assert not issubclass(UnknownEventVersion, RejectedEvent)


def test_a_huge_invalid_payload_is_not_copied_into_the_reason() -> None:
    event = new_event(Poisoned(loan_id="L-1", amount_minor=1), source="s")
    huge = replace(
        event, data=json.dumps({"loan_id": "L-1", "amount_minor": "x" * 100_000}).encode()
    )
    with pytest.raises(MalformedEvent) as caught:
        huge.payload(Poisoned)
    assert "amount_minor" in str(caught.value)
    assert len(str(caught.value)) < 1_000


class _SizeLimitedProducer:
    """Refuses records over ``limit`` bytes of value, as aiokafka does over max_request_size."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sent: list[tuple[bytes, list[tuple[str, bytes]]]] = []

    async def send(
        self, topic: str, *, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[None]:
        if len(value) > self.limit:
            raise MessageSizeTooLargeError("The message is too large")
        self.sent.append((value, headers))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_a_dead_letter_the_broker_refuses_for_its_size_goes_without_its_value() -> None:
    producer = _SizeLimitedProducer(limit=1_000)
    letterer = DeadLetterer(
        "g",
        "g.dlt",
        producer,  # type: ignore[arg-type]
        uow_factory=lambda: None,  # type: ignore[arg-type,return-value]
        policy=RetryPolicy(),
    )
    record = ConsumerRecord(
        topic="t",
        partition=0,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=b"L-1",
        value=b"x" * 5_000,
        checksum=None,
        serialized_key_size=3,
        serialized_value_size=5_000,
        headers=[("ce_id", b"e-1")],
    )
    await asyncio.wait_for(letterer.send(record, MalformedEvent("too big to parse"), 1), 5)

    [(value, headers)] = producer.sent
    assert value == b""
    assert header_value(headers, H_VALUE_DROPPED).startswith("5000 bytes")  # type: ignore[union-attr]
    assert header_value(headers, H_REASON) == "too big to parse"
    assert header_value(headers, H_OFFSET) == "7", "where the original still is"
