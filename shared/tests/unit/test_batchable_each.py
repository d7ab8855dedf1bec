"""``Batchable.each``: a one-event handler over a run, in order, in the run's transaction."""

from __future__ import annotations

from typing import Any

import pytest

from lendkit.consumer import Batchable, RejectedEvent
from lendkit.consumer.batch import run_of
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


async def test_a_run_of_several_batchable_types_goes_stretch_by_stretch_in_order() -> None:
    """A loan's facts of one day alternate between types (an overdue notice, then a stage
    change): the run is one transaction still, each handler getting its consecutive
    events together, in the run's order."""
    calls: list[tuple[str, list[int]]] = []

    def handler(name: str) -> Batchable[Any]:
        async def many(uow: Any, events: list[CloudEvent]) -> None:
            calls.append((name, [e.payload(Noted).seq for e in events]))

        return Batchable(many)

    a, b = handler("a"), handler("b")
    events = [new_event(Noted(loan_id="L", seq=n), source="/t") for n in range(5)]
    items: list[Any] = [(None, e, h) for e, h in zip(events, (a, a, b, a, b), strict=True)]
    await run_of(items).many(Uow(), events)
    assert calls == [("a", [0, 1]), ("b", [2]), ("a", [3]), ("b", [4])]
    calls.clear()
    await run_of(items).many(Uow(), [events[1], events[3]])  # the first-seen ones only
    assert calls == [("a", [1, 3])]
    assert run_of(items[:2]) is a  # one handler: the handler itself
