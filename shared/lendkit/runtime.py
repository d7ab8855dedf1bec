"""A service's running parts: database engine, Kafka producer, token codec, background loops.

The FastAPI lifespan and the command-line entry points (close of business, replay) both
build one of these, so every process wires the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from lendkit.auth import TokenCodec
from lendkit.consumer import Handler, IdempotentConsumer, RetryPolicy
from lendkit.db import UnitOfWork, asyncpg_dsn, create_engine, create_session_factory
from lendkit.events.catalogue import CATALOGUE, EventPayload
from lendkit.logging import configure_logging, get_logger
from lendkit.outbox.relay import OutboxRelay
from lendkit.retention import run_retention
from lendkit.settings import ServiceSettings

log = get_logger(__name__)

U = TypeVar("U", bound=UnitOfWork)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The read pool's reset on release: nothing beyond asyncpg's own (an open transaction
    rolled back, listeners dropped). Its reads are single autocommit statements that set
    nothing, listen to nothing and take no advisory lock, so the default reset query
    (``RESET ALL; UNLISTEN *; ...``) would only cost every read a second round trip."""


@dataclass
class ConsumerSpec(Generic[U]):
    """Which topics a service reads and which handler applies each event type.

    ``handlers`` is keyed by contract class (``{PaymentAllocated: handlers.on_payment_allocated}``),
    so a handler table names no type string and cannot drift from the catalogue; the spec
    keeps the table by catalogue type.
    """

    topics: list[str]
    handlers: Mapping[type[EventPayload], Handler[U]]
    by_type: dict[str, Handler[U]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_type = {CATALOGUE.spec_for_model(m).type: h for m, h in self.handlers.items()}


def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.kafka_client_id or settings.service_name,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=1_048_576,
        request_timeout_ms=30_000,
    )


@dataclass
class ServiceRuntime(Generic[U]):
    settings: ServiceSettings
    uow_class: Callable[[Callable[[], AsyncSession], str], U]
    consumer_spec: ConsumerSpec[U] | None = None
    engine: AsyncEngine = field(init=False)
    session_factory: async_sessionmaker[AsyncSession] = field(init=False)
    producer: AIOKafkaProducer = field(init=False)
    tokens: TokenCodec = field(init=False)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list, init=False)
    _read_pool: asyncpg.Pool | None = field(default=None, init=False)
    _read_pool_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self.engine = create_engine(self.settings)
        self.session_factory = create_session_factory(self.engine)
        self.tokens = TokenCodec(self.settings)

    async def reads(self) -> asyncpg.Pool:
        """A plain asyncpg pool for hot read endpoints (one round trip, no ORM, JSON built by
        PostgreSQL). Made on first use, so a service starts even while the database is away.
        Only for single autocommit reads: a released connection is not reset (no ``SET``,
        ``LISTEN`` or advisory lock belongs here; an open transaction is still rolled back)."""
        if self._read_pool is None:
            async with self._read_pool_lock:
                if self._read_pool is None:
                    self._read_pool = await asyncpg.create_pool(
                        asyncpg_dsn(self.settings.database_url),
                        min_size=1,
                        max_size=self.settings.db_pool_size,
                        server_settings={"application_name": self.settings.service_name},
                        reset=_keep_session,
                    )
        return self._read_pool

    def uow(self) -> U:
        return self.uow_class(self.session_factory, self.settings.service_name)

    def relay(self) -> OutboxRelay:
        s = self.settings
        return OutboxRelay(
            self.engine,
            self.producer,
            service=s.service_name,
            database_url=s.database_url,
            batch_size=s.outbox_batch_size,
            poll_interval=s.outbox_poll_interval_ms / 1000,
            retention_hours=s.outbox_retention_hours,
            topic_namespace=s.topic_namespace,
        )

    def consumer(self) -> IdempotentConsumer[U]:
        assert self.consumer_spec is not None
        s = self.settings
        return IdempotentConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group=s.group_id,
            topics=self.consumer_spec.topics,
            handlers=self.consumer_spec.by_type,
            uow_factory=self.uow,
            producer=self.producer,
            batch_size=s.consumer_batch_size,
            retry=RetryPolicy(
                s.consumer_max_attempts,
                s.consumer_retry_backoff_ms,
                s.consumer_retry_backoff_max_ms,
                s.consumer_key_retry_budget_ms,
            ),
            topic_namespace=s.topic_namespace,
        )

    async def start(self, *, background: bool = True) -> None:
        configure_logging(self.settings.service_name, self.settings.log_level)
        tune_gc()
        await self._start_producer()
        if not background:
            return
        if self.settings.run_outbox_relay:
            self.spawn(lambda: self.relay().run(self._stop), "outbox-relay")
        if self.settings.run_consumers and self.consumer_spec is not None:
            self.spawn(lambda: self.consumer().run(self._stop), "consumer")
        if self.settings.run_kit_retention:
            self.spawn(self._retention, "kit-retention")

    async def _retention(self) -> None:
        await run_retention(
            self.engine,
            self._stop,
            processed_events_days=self.settings.processed_events_retention_days,
            idempotency_keys_hours=self.settings.idempotency_keys_retention_hours,
        )

    async def _start_producer(self, attempts: int = 60) -> None:
        """The producer is made here, inside the running loop (aiokafka binds to it)."""
        for attempt in range(1, attempts + 1):
            self.producer = new_producer(self.settings)
            try:
                await self.producer.start()
                return
            except Exception as exc:
                if attempt == attempts:
                    raise
                log.warning("Kafka not reachable yet", error=repr(exc), attempt=attempt)
                await self.producer.stop()
                await asyncio.sleep(1.0)

    def spawn(self, loop: Callable[[], Awaitable[None]], name: str) -> None:
        """Run ``loop`` until stop; if it crashes, log and start it again."""

        async def guarded() -> None:
            while not self._stop.is_set():
                try:
                    await loop()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background loop crashed; restarting", loop=name)
                    await asyncio.sleep(1.0)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    @property
    def stopping(self) -> asyncio.Event:
        """Set when the runtime stops: a service's own background loop (``spawn``) ends then."""
        return self._stop

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        self._tasks.clear()
        if hasattr(self, "producer"):
            await self.producer.stop()
        if self._read_pool is not None:
            await self._read_pool.close()
        await self.engine.dispose()


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session for a route's reads (no unit of work, no outbox), closed
    after the response. ``views`` functions take it (``session: ReadSession``)."""
    async with runtime_of(request).session_factory() as session:
        yield session


#: A route's read session: ``session: ReadSession``.
ReadSession = Annotated[AsyncSession, Depends(read_session)]


def runtime_of(request: Request) -> ServiceRuntime[Any]:
    """The running service behind a request (set by ``lendkit.app.create_service_app``)."""
    runtime: ServiceRuntime[Any] = request.app.state.runtime
    return runtime


def tune_gc() -> None:
    """Fewer cyclic garbage collections for batch work.

    CPython's default (a young collection every 700 allocations) makes every large batch
    (thousands of rows, events and records alive at once) pay for repeated traversals of
    its own live objects: measured, close of business over 110,000 loans spent a third of
    its CPU in the collector. The objects loaded at start-up are moved to the permanent
    generation (``gc.freeze``) and young collections run every 20,000 allocations; memory
    stays bounded (cycles are still collected) and reference counting is unaffected.
    """
    gc.freeze()
    gc.set_threshold(20_000, 50, 1000)
