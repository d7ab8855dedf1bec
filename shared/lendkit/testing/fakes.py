"""In-memory stand-ins for a unit of work and its repositories: handler unit tests with no
server (after cosmicpython's ``FakeUnitOfWork``).

A service's fake unit of work subclasses :class:`FakeUnitOfWork` and adds its fake
repositories; the handler under test cannot tell it from the real one, because both
satisfy the service's unit-of-work protocol. Events emitted are kept until ``commit``
(``committed_events``); leaving the block without committing drops them, as a rollback
would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Generic, Self, TypeVar

from lendkit.events.catalogue import CATALOGUE, EventPayload
from lendkit.events.envelope import CloudEvent

K = TypeVar("K")
V = TypeVar("V")
P = TypeVar("P", bound=EventPayload)


class FakeUnitOfWork:
    """Collects emitted events; ``commits`` counts commits. ``sibling()`` shares the stores,
    so a job that commits in chunks sees its own earlier chunks."""

    source = "test"

    def __init__(self) -> None:
        self.commits = 0
        self.committed_events: list[CloudEvent] = []
        self._pending: list[CloudEvent] = []

    def sibling(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        self._pending = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pending = []

    def defer_events(self) -> None:
        """Events are kept until ``commit`` anyway."""

    async def emit(self, event: CloudEvent) -> None:
        self._pending.append(event)

    async def emit_all(self, events: list[CloudEvent]) -> None:
        self._pending.extend(events)

    async def commit(self) -> None:
        self.committed_events.extend(self._pending)
        self._pending = []
        self.commits += 1

    async def rollback(self) -> None:
        self._pending = []

    def published(self, model: type[P]) -> list[P]:
        """The committed events of ``model``'s type, as payloads, in emission order."""
        type_ = CATALOGUE.spec_for_model(model).type
        return [e.payload(model) for e in self.committed_events if e.type == type_]


class FakeRepository(Generic[K, V]):
    """A dict by key. Service fakes subclass it and add the repository's query methods."""

    def __init__(self, key: Callable[[V], K], items: list[V] | None = None) -> None:
        self._key = key
        self.rows: dict[K, V] = {}
        for item in items or []:
            self.add(item)

    def add(self, item: V) -> None:
        self.rows[self._key(item)] = item

    async def get(self, key: K) -> V | None:
        return self.rows.get(key)

    def __iter__(self) -> Iterator[V]:
        return iter(self.rows.values())

    def __len__(self) -> int:
        return len(self.rows)
