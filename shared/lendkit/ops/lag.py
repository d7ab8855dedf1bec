"""Consumer lag per group and partition, read from the broker.

Lag is the distance between a partition's end offset and the offset the group committed
there (a partition the group never committed counts from the partition's start). It is the
number the simulator waits on before it moves the clock, the console shows and the ops CLI
prints: 0 everywhere means every consumer has applied everything published so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CoordinatorNotAvailableError, NotCoordinatorError
from aiokafka.structs import TopicPartition
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from lendkit.ops.metadata import described_partitions


@dataclass(frozen=True, slots=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        start = self.committed if self.committed is not None and self.committed >= 0 else 0
        return max(self.end - start, 0)


class LagReader:
    """Broker clients kept open for repeated lag reads (a simulator polls lag between
    business days; opening the clients costs more than the read). ``consumer_lags`` is the
    one-shot form. A topic's partitions are read once per reader (a repeated read then
    costs the group offsets and end offsets only)."""

    def __init__(self, bootstrap: str) -> None:
        self._partitions: dict[tuple[str, ...], dict[str, list[int]]] = {}
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def start(self) -> None:
        await self._admin.start()
        await self._reader.start()

    async def close(self) -> None:
        await self._reader.stop()
        await self._admin.close()

    async def __aenter__(self) -> LagReader:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def lags(
        self, groups: Iterable[str], topics: Mapping[str, Sequence[str]] | None = None
    ) -> list[PartitionLag]:
        """Lag of every partition of the topics each group reads (see ``consumer_lags``)."""
        admin, reader = self._admin, self._reader
        wanted: dict[str, dict[TopicPartition, int | None]] = {}
        for group in groups:
            # A fresh cluster creates its offsets topic on the first coordinator lookup.
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type((CoordinatorNotAvailableError, NotCoordinatorError)),
                wait=wait_exponential(min=0.05, max=1),
                stop=stop_after_delay(30),
                reraise=True,
            ):
                with attempt:
                    committed = await admin.list_consumer_group_offsets(group)
            by_tp: dict[TopicPartition, int | None] = {
                tp: meta.offset for tp, meta in committed.items()
            }
            named = tuple((topics or {}).get(group, ()))
            found = self._partitions.get(named)
            if found is None:
                found = await described_partitions(admin, named)
                if len(found) == len(set(named)):  # kept once every topic exists
                    self._partitions[named] = found
            for topic, numbers in found.items():
                for partition in numbers:
                    by_tp.setdefault(TopicPartition(topic, partition), None)
            wanted[group] = by_tp
        every = sorted({tp for by_tp in wanted.values() for tp in by_tp})
        ends = await reader.end_offsets(every) if every else {}
        return [
            PartitionLag(group, tp.topic, tp.partition, by_tp[tp], ends.get(tp, 0))
            for group, by_tp in wanted.items()
            for tp in sorted(by_tp)
        ]


async def consumer_lags(
    bootstrap: str, groups: Iterable[str], topics: Mapping[str, Sequence[str]] | None = None
) -> list[PartitionLag]:
    """Lag of every partition of the topics each group reads.

    ``topics`` maps a group to the topics it subscribes to; without it, a group's topics
    are those it has committed offsets on (a group that never committed shows nothing).
    """
    async with LagReader(bootstrap) as reader:
        return await reader.lags(groups, topics)


async def total_lag(
    bootstrap: str, groups: Iterable[str], topics: Mapping[str, Sequence[str]] | None = None
) -> int:
    return sum(p.lag for p in await consumer_lags(bootstrap, groups, topics))
