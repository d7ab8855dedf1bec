"""From a Kafka record to what the consumer does with it: decode, then look up a handler
or a verdict (ignored: a type this service does not act on; refused: an unknown version
of a type it does handle)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Generic

from aiokafka.structs import ConsumerRecord

from lendkit.consumer.handlers import Handler, U
from lendkit.events.catalogue import CATALOGUE
from lendkit.events.envelope import CloudEvent, MalformedEvent

_VERSION = re.compile(r"^(?P<base>.+)\.v(?P<n>\d+)$")


def decode(record: ConsumerRecord) -> CloudEvent | MalformedEvent:
    """The record's CloudEvent, or why it is not one."""
    try:
        return CloudEvent.from_kafka(
            record.topic, record.key, record.value, list(record.headers), record.partition
        )
    except MalformedEvent as exc:
        return exc


class HandlerTable(Generic[U]):
    """Handlers by event type, and the versions handled of each base type."""

    def __init__(self, handlers: Mapping[str, Handler[U]]) -> None:
        self.handlers = dict(handlers)
        self._versions: dict[str, list[str]] = {}  # base type -> the versions handled
        for event_type in self.handlers:
            if match := _VERSION.match(event_type):
                self._versions.setdefault(match["base"], []).append(event_type)

    def get(self, event_type: str) -> Handler[U] | None:
        return self.handlers.get(event_type)

    def unknown_version(self, event_type: str) -> str | None:
        """Why ``event_type`` is refused, if it is a version of a handled type not handled."""
        match = _VERSION.match(event_type)
        known = self._versions.get(match["base"]) if match else None
        if not known or event_type in self.handlers:
            return None
        return f"unknown version {event_type}: this consumer handles {', '.join(sorted(known))}"

    def unknown_type(self, event_type: str) -> str | None:
        """Why ``event_type`` is refused, if no contract of the catalogue defines it (and
        this consumer does not handle it either)."""
        if event_type in self.handlers or CATALOGUE.spec_for_type(event_type) is not None:
            return None
        return f"unknown event type {event_type!r}: no contract of the catalogue defines it"

    def ignores(self, event_type: str) -> bool:
        """A catalogued type this service does not act on (tolerant reader): no effect,
        committed. A type outside the catalogue, or an unknown version of a handled type,
        is refused instead (dead-lettered with the reason)."""
        return (
            event_type not in self.handlers
            and self.unknown_version(event_type) is None
            and self.unknown_type(event_type) is None
        )
