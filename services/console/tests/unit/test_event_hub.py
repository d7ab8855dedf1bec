"""The live-event hub's fan-out, with no broker: lines reach the viewers whose filter
keeps them, a viewer who just arrived gets the newest kept lines, and a heartbeat timeout
(a cancelled wait) loses nothing and ends nothing."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from console.adapters.event_hub import EventHub
from lendkit.ops.tail import EventLine, TailFilter


def line(n: int, loan: str) -> EventLine:
    return EventLine("t", 0, n, "ledger.payment.received.v1", loan, datetime.now(UTC), str(n), "")


async def test_a_viewer_gets_the_recent_then_the_new_lines_of_its_loan_only() -> None:
    hub = EventHub("unused:9092", [], keep=2)
    for n, loan in enumerate(["L-1", "L-2", "L-1", "L-1"]):
        hub.publish(line(n, loan))
    watch = hub.watch(TailFilter(loan_id="L-1"))
    assert [(await watch.next()).offset for _ in range(2)] == [2, 3], "the newest two kept"
    hub.publish(line(4, "L-2"))
    hub.publish(line(5, "L-1"))
    assert (await watch.next()).offset == 5
    watch.close()


async def test_a_heartbeat_timeout_neither_loses_a_line_nor_ends_the_stream() -> None:
    hub = EventHub("unused:9092", [])
    watch = hub.watch(TailFilter())
    for _ in range(2):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch.next(), 0.01)
    hub.publish(line(7, "L-9"))
    assert (await asyncio.wait_for(watch.next(), 1)).offset == 7
    watch.close()
    hub.publish(line(8, "L-9"))
    assert watch.queue.empty(), "a closed viewer is sent nothing more"
