"""Has the platform consumed what was published? The simulator moves the business clock only
once every consumer group's lag is 0 (``lendkit.ops.lag``), every service's outbox is
published and the notifier has nothing queued to send (a queued send publishes more).

The outbox and the notifier's queue are read from the services' databases, read only (no
service exposes them over REST; ``/metrics`` has the outbox backlog only as often as the
relay refreshes it)."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from lendkit.ops.lag import LagReader
from simulator.target import SERVICES, PlatformTarget

OUTBOX_BACKLOG = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
NOTIFIER_QUEUED = """
SELECT (SELECT count(*) FROM contact_attempts a
        JOIN (SELECT max(id) AS id FROM contact_attempts GROUP BY attempt_id) l ON l.id = a.id
        WHERE a.state = 'queued')
     + (SELECT count(*) FROM deferred_sends WHERE due_at <= now())
"""


def subscriptions() -> dict[str, list[str]]:
    """Each service's topics (its ``entrypoints.consumers.CONSUMERS``), production names."""
    found: dict[str, list[str]] = {}
    for s in SERVICES:
        try:
            spec = importlib.import_module(f"{s}.entrypoints.consumers").CONSUMERS
        except (ImportError, AttributeError):
            continue
        found[s] = list(spec.topics)
    return found


@dataclass
class Settled:
    waited_seconds: float
    checks: int
    lag_by_group: dict[str, int]


class Settler:
    def __init__(self, target: PlatformTarget) -> None:
        self.target = target
        subs = subscriptions()
        self.groups = {s: target.groups[s] for s in subs}
        self.topics: dict[str, Sequence[str]] = {
            target.groups[s]: [target.topic(t) for t in ts] for s, ts in subs.items()
        }
        self._pools: dict[str, asyncpg.Pool] = {}
        self.last_lags: dict[str, int] = {}
        self._reader = LagReader(target.kafka)

    async def start(self) -> None:
        await self._reader.start()
        for s in SERVICES:
            self._pools[s] = await asyncpg.create_pool(
                self.target.databases[s], min_size=1, max_size=2
            )

    async def close(self) -> None:
        await self._reader.close()
        for pool in self._pools.values():
            await pool.close()

    async def lags(self) -> dict[str, int]:
        parts = await self._reader.lags(self.groups.values(), self.topics)
        by_group = dict.fromkeys(self.groups.values(), 0)
        for p in parts:
            by_group[p.group] = by_group.get(p.group, 0) + p.lag
        self.last_lags = by_group
        return by_group

    async def pending_work(self) -> int:
        total = 0
        for pool in self._pools.values():
            total += int(await pool.fetchval(OUTBOX_BACKLOG) or 0)
        total += int(await self._pools["notifier"].fetchval(NOTIFIER_QUEUED) or 0)
        return total

    async def wait(self, timeout: float = 600.0) -> Settled:
        """Until lag is 0, then nothing is pending (outboxes published, no send queued),
        then lag is 0 again: whatever was published meanwhile would show as lag."""
        started = time.perf_counter()
        checks = 0
        while True:
            checks += 1
            if (
                sum((await self.lags()).values()) == 0
                and await self.pending_work() == 0
                and sum((await self.lags()).values()) == 0
            ):
                return Settled(time.perf_counter() - started, checks, dict(self.last_lags))
            if time.perf_counter() - started > timeout:
                raise TimeoutError(
                    f"platform not settled after {timeout:.0f}s: lags {self.last_lags}"
                )
            await asyncio.sleep(0.05)
