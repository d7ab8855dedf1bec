"""``Batchable.each``: a one-event handler over a run, in order, in the run's transaction."""

from __future__ import annotations

from typing import Any

import pytest

from lendkit.consumer import Batchable, RejectedEvent
from lendkit.events import CloudEvent, EventPayload, event_type, new_event

pytestmark = pytest.mark.unit


@event_type("kittest.each.noted.v1", topic="kittest.each", description="test only")
class Noted(EventPayload):
    loan_id: str
    seq: int


class Uow:
    def __init__(self) -> None:
        self.written: list[int] = []


async def note(uow: Any, event: CloudEvent) -> None:
    """Refuses a sequence number that does not follow what the transaction wrote so far."""
    seq = event.payload(Noted).seq
    if uow.written and seq != uow.written[-1] + 1:
        raise RejectedEvent(f"{seq} does not follow {uow.written[-1]}")
    uow.written.append(seq)


def _events(*seqs: int) -> list[CloudEvent]:
    return [new_event(Noted(loan_id="L-1", seq=s), source="kit-test") for s in seqs]


async def test_each_event_of_the_run_sees_what_the_ones_before_it_wrote() -> None:
    uow = Uow()
    await Batchable.each(note).many(uow, _events(1, 2, 3))
    assert uow.written == [1, 2, 3]


async def test_a_failing_event_fails_the_run_so_the_consumer_applies_it_alone() -> None:
    uow = Uow()
    with pytest.raises(RejectedEvent, match="5 does not follow 2"):
        await Batchable.each(note).many(uow, _events(1, 2, 5))


async def test_it_is_still_a_one_event_handler() -> None:
    uow = Uow()
    await Batchable.each(note)(uow, _events(7)[0])
    assert uow.written == [7]
