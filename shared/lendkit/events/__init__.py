"""CloudEvents 1.0 envelope (Kafka binary mode) and the catalogue of event types."""

from lendkit.events.catalogue import CATALOGUE, EventPayload, EventSpec, event_type
from lendkit.events.envelope import CloudEvent, MalformedEvent, new_event

__all__ = [
    "CATALOGUE",
    "CloudEvent",
    "EventPayload",
    "EventSpec",
    "MalformedEvent",
    "event_type",
    "new_event",
]
