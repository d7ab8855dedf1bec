"""Dead letters: an event that failed for good goes to the group's dead-letter topic, with
the reason, and (unless the handler rejected it) parks its key behind it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from lendkit.consumer.transactions import in_own_transaction
from lendkit.db import UnitOfWork
from lendkit.dead_letters import H_VALUE_DROPPED, dead_letter_headers
from lendkit.events.envelope import CloudEvent
from lendkit.failures import RejectedEvent, RetryPolicy, is_refused_by_broker
from lendkit.logging import get_logger
from lendkit.metrics import DEAD_LETTERS, PARKED_KEYS
from lendkit.parked_keys import park, park_behind

log = get_logger(__name__)

#: A dead letter that cannot be sent is sent again after this long, until it is (the
#: offset is not committed before).
SEND_RETRY_SECONDS = 1.0


@dataclass
class DeadLetterer:
    group: str
    topic: str
    producer: AIOKafkaProducer
    uow_factory: Callable[[], UnitOfWork]
    policy: RetryPolicy

    async def reject(
        self,
        record: ConsumerRecord,
        event: CloudEvent,
        exc: BaseException,
        attempts: int,
        replayed: bool,
    ) -> None:
        """Dead-letter an event that failed for good and park its key behind it.

        A handler's ``RejectedEvent`` does not park its key: it is the handler's decision
        that the event has no effect, ever (a waiver that cannot apply, a refused policy),
        so the key's later events lose no order by being applied. What may yet apply (an
        unknown version, a payload a fixed producer will send again, an event out of
        retries) parks the key, so nothing of that key overtakes it.
        """
        key = event.key
        if key is not None and not isinstance(exc, RejectedEvent):
            reason = str(exc) or repr(exc)
            await in_own_transaction(
                self.uow_factory,
                self.policy,
                partial(
                    park,
                    group=self.group,
                    key=key,
                    event_id=event.id,
                    reason=reason,
                    replayed=replayed,
                ),
            )
            PARKED_KEYS.labels(self.group).inc()
        await self.send(record, exc, attempts=attempts)

    async def behind_parked_key(
        self,
        record: ConsumerRecord,
        event: CloudEvent,
        key: str,
        exc: BaseException,
        attempts: int,
        replayed: bool,
    ) -> None:
        """Dead-letter an event whose key is parked, recorded behind the key's others (a
        replayed one is already)."""
        if not replayed:
            await in_own_transaction(
                self.uow_factory,
                self.policy,
                partial(park_behind, group=self.group, key=key, event_id=event.id),
            )
        await self.send(record, exc, attempts=attempts)

    async def send(self, record: ConsumerRecord, exc: BaseException, attempts: int) -> None:
        headers = dead_letter_headers(
            list(record.headers),
            reason=str(exc) or repr(exc),
            error_type=type(exc).__name__,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group=self.group,
            attempts=attempts,
        )
        value = record.value
        while True:
            try:
                await (
                    await self.producer.send(
                        self.topic, value=value, key=record.key, headers=headers
                    )
                )
                break
            except Exception as send_exc:
                if value and is_refused_by_broker(send_exc):
                    # Sending it again cannot succeed: without its value it can (the
                    # partition would otherwise wait behind it for ever).
                    log.error(
                        "dead letter refused with its value; sent without", error=repr(send_exc)
                    )
                    note = f"{len(value)} bytes: {send_exc!r}"[:500]
                    headers = [*headers, (H_VALUE_DROPPED, note.encode())]
                    value = b""
                    continue
                log.warning("dead-letter send failed; retrying", error=repr(send_exc))
                await asyncio.sleep(SEND_RETRY_SECONDS)
        DEAD_LETTERS.labels(self.group, record.topic, type(exc).__name__).inc()
        log.warning(
            "message dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=str(exc)[:500],
        )
