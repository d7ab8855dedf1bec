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
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from lendkit.contracts.topics import kafka_group_id
from lendkit.ops.lag import LagReader
from simulator.target import SERVICES, PlatformTarget

OUTBOX_BACKLOG = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
# A deferred send is pending only once it is due on the notifier's own clock (the simulated
# business date and time of day the simulator set, in the notifier's zone), not on the wall
# clock: a send deferred to tomorrow 08:00 local waits for the simulator to move the clock.
NOTIFIER_QUEUED = """
WITH clock AS (
    SELECT CASE WHEN simulated AND business_date IS NOT NULL
                THEN (business_date + coalesce(time_of_day, time '00:00')) AT TIME ZONE timezone
                ELSE now() END AS at
    FROM notifier_clock ORDER BY id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM contact_attempts a
        JOIN (SELECT max(id) AS id FROM contact_attempts GROUP BY attempt_id) l ON l.id = a.id
        WHERE a.state = 'queued')
     + (SELECT count(*) FROM deferred_sends
        WHERE due_at <= coalesce((SELECT at FROM clock), now()))
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
    #: Where the wait went: each poll's interval charged to what still held the day
    #: (``lag:<service>`` a consumer group behind, ``outbox:<service>`` a relay not yet
    #: published, ``notifier:queued`` sends the dispatcher has not made, ``check`` the
    #: final confirming read).
    blocked_by: dict[str, float] = field(default_factory=dict)


POLL_SECONDS = 0.02


class Settler:
    def __init__(self, target: PlatformTarget) -> None:
        self.target = target
        subs = subscriptions()
        #: The group each service's consumers join on the broker (namespaced).
        self.groups = {s: kafka_group_id(target.namespace, target.groups[s]) for s in subs}
        self.service_of = {g: s for s, g in self.groups.items()}
        self.topics: dict[str, Sequence[str]] = {
            self.groups[s]: [target.topic(t) for t in ts] for s, ts in subs.items()
        }
        self._pools: dict[str, asyncpg.Pool] = {}
        self.last_lags: dict[str, int] = {}
        self._reader = LagReader(target.kafka)
        self.blocked_by: defaultdict[str, float] = defaultdict(float)  # seconds, the run

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

    async def pending(self) -> dict[str, int]:
        """Unpublished outbox rows per service and the notifier's queued sends."""
        names = list(self._pools)
        counts = await asyncio.gather(
            *(self._pools[s].fetchval(OUTBOX_BACKLOG) for s in names),
            self._pools["notifier"].fetchval(NOTIFIER_QUEUED),
        )
        found = {f"outbox:{s}": int(c or 0) for s, c in zip(names, counts, strict=False)}
        found["notifier:queued"] = int(counts[-1] or 0)
        return found

    async def pending_work(self) -> int:
        return sum((await self.pending()).values())

    async def _blocker(self) -> str | None:
        """What holds the day now, or None when everything is consumed and published."""
        lags = await self.lags()
        behind = [g for g, n in lags.items() if n]
        if behind:
            return "lag:" + self.service_of.get(behind[0], behind[0])
        pending = await self.pending()
        waiting = [k for k, n in pending.items() if n]
        return waiting[0] if waiting else None

    async def wait(self, timeout: float = 600.0) -> Settled:
        """Until lag is 0 and nothing is pending (outboxes published, no send queued),
        then lag is 0 again: whatever was published meanwhile would show as lag."""
        started = time.perf_counter()
        checks = 0
        day: defaultdict[str, float] = defaultdict(float)
        while True:
            checks += 1
            t = time.perf_counter()
            blocker = await self._blocker()
            if blocker is None:
                confirm = time.perf_counter()
                again = sum((await self.lags()).values())
                day["check"] += time.perf_counter() - confirm
                if again == 0:
                    day["check"] += confirm - t
                    for k, v in day.items():
                        self.blocked_by[k] += v
                    return Settled(
                        time.perf_counter() - started, checks, dict(self.last_lags), dict(day)
                    )
                blocker = "lag:after-check"
            if time.perf_counter() - started > timeout:
                raise TimeoutError(
                    f"platform not settled after {timeout:.0f}s: lags {self.last_lags}"
                )
            await asyncio.sleep(POLL_SECONDS)
            day[blocker] += time.perf_counter() - t
