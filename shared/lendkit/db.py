"""Async SQLAlchemy 2 over asyncpg: engine, sessions and the unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self

from sqlalchemy import ARRAY, ColumnElement, Text, any_, bindparam, event, exc, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from lendkit.events.envelope import CloudEvent
from lendkit.outbox.writer import OUTBOX_CHANNEL, check_event_size, write_to_outbox
from lendkit.settings import ServiceSettings


def among(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """``column = ANY(:values)`` for a text column: one array parameter, whatever the count,
    where an ``IN`` list would render and bind one parameter per value on every call."""
    return column == any_(bindparam(None, sorted(set(values)), type_=ARRAY(Text)))  # type: ignore[no-any-return]


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain asyncpg DSN of a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def driver_connection(session_or_connection: AsyncSession | AsyncConnection) -> Any:
    """The asyncpg connection under a session or connection, inside its transaction (for
    set-based statements without ORM rows)."""
    if isinstance(session_or_connection, AsyncSession):
        connection = await session_or_connection.connection()
    else:
        connection = session_or_connection
    raw = await connection.get_raw_connection()
    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement: a raw
    # statement before any would run outside the transaction (autocommit), so a
    # transaction-scoped advisory lock or FOR UPDATE taken by it would end with the
    # statement (two outbox relays both published every row). Begin it now, as the
    # adapter itself would.
    adapted: Any = raw.dbapi_connection
    if connection.in_transaction() and getattr(adapted, "_transaction", False) is None:
        await adapted._start_transaction()
    return raw.driver_connection


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=settings.db_pool_pre_ping,
        connect_args={"server_settings": {"application_name": settings.service_name}},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Never hand out a pooled connection whose server session has ended (restart,
    failover, ``pg_terminate_backend``, ``DROP DATABASE ... WITH (FORCE)``).

    SQLAlchemy invalidates a connection when an error it sees says so, but statements sent
    on the asyncpg connection itself (:func:`driver_connection`: the relay's claim, the
    set-based handlers) raise asyncpg's own ``InterfaceError``, which it never sees: the
    dead connection went back to the pool and the outbox relay failed on it for good. The
    check costs no round trip (asyncpg marks the connection closed when the socket ends);
    ``DisconnectionError`` makes the pool discard it and check out another."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("the server ended this pooled connection")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


#: Headers allowed for when a deferred event's size is checked at emit (CloudEvents headers).
DEFERRED_HEADER_BYTES = 512


class UnitOfWork:
    """Owns one database transaction and the events it will publish.

    ``emit`` writes an event to the outbox inside the same transaction as the state
    change, so an event exists exactly when the change was committed. Leaving the
    block without ``commit`` rolls everything back, events included.
    """

    def __init__(self, session_factory: Callable[[], AsyncSession], source: str) -> None:
        self._session_factory = session_factory
        self.source = source
        self._emitted = 0
        self._deferred: list[CloudEvent] | None = None

    def sibling(self) -> Self:
        """A new unit of work on the same database, for work that commits on its own (a
        handler that runs a long job in chunks, each chunk its own transaction)."""
        return type(self)(self._session_factory, self.source)

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        self._emitted = 0
        self._deferred = None
        await self.session.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.session.in_transaction():
                await self.session.rollback()
        finally:
            await self.session.close()

    def defer_events(self) -> None:
        """From now on, keep emitted events and write them to the outbox at commit, all in
        one statement (a batch of use cases in one transaction: one outbox insert instead
        of one per use case). Only for work that writes no outbox rows by other means
        (set-based SQL) in the same transaction, which would then come before them."""
        if self._deferred is None:
            self._deferred = []

    async def emit(self, event: CloudEvent) -> None:
        await self.emit_all([event])

    async def emit_all(self, events: list[CloudEvent]) -> None:
        if self._deferred is not None:
            for event in events:  # refused now, as when written at once
                check_event_size(event.type, event.data, event.key, DEFERRED_HEADER_BYTES)
            self._deferred.extend(events)
            return
        await self.write_events(events)

    async def write_events(self, events: list[CloudEvent]) -> None:
        """Write ``events`` to the outbox now (a service's unit of work may stamp them)."""
        await write_to_outbox(self.session, *events)
        self._emitted += len(events)

    async def commit(self) -> None:
        if self._deferred:
            events, self._deferred = self._deferred, []
            await self.write_events(events)
        if self._emitted:
            # Delivered by PostgreSQL only when the transaction commits: wakes the relay.
            await self.session.execute(
                text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL}
            )
            self._emitted = 0
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()
