"""The catalogue: every event type, its topic and its payload model, registered once.

Payload models are tolerant readers (unknown fields are ignored) so a producer may add
optional fields without breaking consumers; anything else needs a new ``.vN`` type.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

TYPE_PATTERN = re.compile(r"^[a-z]+(\.[a-z_]+)+\.v[0-9]+$")


class EventPayload(BaseModel):
    """Base of every event payload: frozen, and tolerant of fields it does not know."""

    model_config = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True)
class EventSpec:
    type: str
    topic: str
    model: builtins.type[EventPayload]
    description: str
    key_field: str | None

    @property
    def schema_file(self) -> str:
        return f"{self.type}.json"

    def json_schema(self) -> dict[str, Any]:
        schema = self.model.model_json_schema(mode="serialization")
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:overdue-platform:event:{self.type}",
            "title": self.type,
            "description": self.description,
            **{k: v for k, v in schema.items() if k not in ("title", "description")},
        }


class Catalogue:
    def __init__(self) -> None:
        self._by_type: dict[str, EventSpec] = {}
        self._by_model: dict[type[EventPayload], EventSpec] = {}

    def register(self, spec: EventSpec) -> None:
        if not TYPE_PATTERN.match(spec.type):
            raise ValueError(f"event type {spec.type!r} must look like domain.entity.fact.vN")
        known = self._by_type.get(spec.type)
        if known is not None and known.model is not spec.model:
            raise ValueError(f"event type {spec.type} registered twice")
        self._by_type[spec.type] = spec
        self._by_model[spec.model] = spec

    def spec_for_type(self, type_: str) -> EventSpec | None:
        return self._by_type.get(type_)

    def spec_for_model(self, model: type[EventPayload]) -> EventSpec:
        try:
            return self._by_model[model]
        except KeyError:
            raise LookupError(f"{model.__name__} is not in the event catalogue") from None

    def __iter__(self) -> Iterator[EventSpec]:
        return iter(sorted(self._by_type.values(), key=lambda s: s.type))

    def topics(self) -> list[str]:
        return sorted({spec.topic for spec in self._by_type.values()})


CATALOGUE = Catalogue()

P = TypeVar("P", bound=type[EventPayload])


def event_type(
    type_: str, *, topic: str, description: str, key_field: str | None = "loan_id"
) -> Callable[[P], P]:
    """Register a payload model under a versioned CloudEvents type and a topic."""

    def register(model: P) -> P:
        CATALOGUE.register(EventSpec(type_, topic, model, description, key_field))
        return model

    return register
