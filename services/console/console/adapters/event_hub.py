"""Live events: one reader tails every event topic from the end and fans each readable
line out to the browsers watching (server-sent events), keeping the newest few for a
viewer who just arrived. It reads without a consumer group (``lendkit.ops.tail``), so it
never moves a service's offsets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from lendkit.ops.tail import EventLine, TailFilter, tail

log = logging.getLogger(__name__)
_QUEUE = 1_000


class EventHub:
    def __init__(self, bootstrap: str, topics: list[str], *, keep: int = 300) -> None:
        self._bootstrap = bootstrap
        self._topics = topics
        self.recent: deque[EventLine] = deque(maxlen=keep)
        self._watchers: set[asyncio.Queue[EventLine]] = set()
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.seen = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="console-event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async for line in tail(
                    self._bootstrap, self._topics, idle_ms=200, on_ready=self.ready.set
                ):
                    self.publish(line)
                await asyncio.sleep(2)  # no topic to read yet
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker went away: say so, try again shortly
                log.exception("event hub: tail failed; retrying")
                await asyncio.sleep(2)

    def publish(self, line: EventLine) -> None:
        self.seen += 1
        self.recent.append(line)
        for queue in list(self._watchers):
            if queue.full():
                queue.get_nowait()  # a slow viewer loses its oldest line, not the hub
            queue.put_nowait(line)

    def watch(self, where: TailFilter) -> Watch:
        """A viewer's stream: the newest lines kept, then every new line, that ``where``
        keeps. Close it when the viewer leaves."""
        watch = Watch(self, where)
        for line in list(self.recent):
            if where.keeps(line) and not watch.queue.full():
                watch.queue.put_nowait(line)
        self._watchers.add(watch.queue)
        return watch

    def forget(self, queue: asyncio.Queue[EventLine]) -> None:
        self._watchers.discard(queue)


class Watch:
    """What one viewer is sent. :meth:`next` may be cancelled (a heartbeat timeout) without
    losing a line: the queue keeps it for the next call."""

    def __init__(self, hub: EventHub, where: TailFilter) -> None:
        self._hub = hub
        self._where = where
        self.queue: asyncio.Queue[EventLine] = asyncio.Queue(_QUEUE)

    async def next(self) -> EventLine:
        while True:
            line = await self.queue.get()
            if self._where.keeps(line):
                return line

    def close(self) -> None:
        self._hub.forget(self.queue)
