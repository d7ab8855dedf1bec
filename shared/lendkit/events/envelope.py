"""CloudEvents 1.0 in Kafka binary content mode.

Attributes travel as ``ce_*`` headers, the payload is the message value (JSON), and the
message key is the loan id, so one loan's events stay in order on one partition.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import ValidationError

from lendkit.events.catalogue import CATALOGUE, EventPayload
from lendkit.failures import MisroutedEvent

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
_REQUIRED = ("ce_id", "ce_type", "ce_source", "ce_specversion")

P = TypeVar("P", bound=EventPayload)
V = TypeVar("V")


def header_pairs(
    *,
    specversion: V,
    id: V,
    type: V,
    source: V,
    time: V,
    datacontenttype: V,
    subject: V | None,
    extensions: Iterable[tuple[str, V]] = (),
) -> list[tuple[str, V]]:
    """THE CloudEvents headers of an event, in order, with the values given: Python strings
    (:meth:`CloudEvent.headers`) or SQL expressions (:func:`headers_sql`, the outbox's
    set-based writers). Every header list the kit writes is built here, so the three ways
    of writing an event cannot drift apart. A ``None`` subject is left out."""
    pairs = [
        ("ce_specversion", specversion),
        ("ce_id", id),
        ("ce_type", type),
        ("ce_source", source),
        ("ce_time", time),
        ("content-type", datacontenttype),
    ]
    if subject is not None:
        pairs.append(("ce_subject", subject))
    pairs.extend((f"ce_{name}", value) for name, value in extensions)
    return pairs


def sql_literal(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def headers_sql(*, id: str, type: str, source: str, time: str, subject: str) -> str:
    """The outbox ``headers`` column (jsonb ``[[name, value], ...]``) as a SQL expression,
    from SQL expressions of the attributes (specversion and content type are the kit's)."""
    pairs = header_pairs(
        specversion=sql_literal(SPECVERSION),
        id=id,
        type=type,
        source=source,
        time=time,
        datacontenttype=sql_literal(CONTENT_TYPE),
        subject=subject,
    )
    items = ",\n".join(f"    jsonb_build_array({sql_literal(k)}, {v})" for k, v in pairs)
    return f"jsonb_build_array(\n{items}\n)"


class MalformedEvent(ValueError):
    """A Kafka record that is not a valid CloudEvent of a known shape: a poison message."""


@dataclass(frozen=True)
class CloudEvent:
    id: str
    type: str
    source: str
    time: datetime
    data: bytes
    topic: str
    key: str | None = None
    subject: str | None = None
    partition: int | None = None
    datacontenttype: str = CONTENT_TYPE
    extensions: dict[str, str] = field(default_factory=dict)

    def headers(self) -> list[tuple[str, bytes]]:
        h = header_pairs(
            specversion=SPECVERSION,
            id=self.id,
            type=self.type,
            source=self.source,
            time=self.time.isoformat(),
            datacontenttype=self.datacontenttype,
            subject=self.subject,
            extensions=sorted(self.extensions.items()),
        )
        return [(k, v.encode()) for k, v in h]

    def key_bytes(self) -> bytes | None:
        return self.key.encode() if self.key is not None else None

    def payload(self, model: builtins.type[P]) -> P:
        """Parse the data as ``model``; a payload that does not fit is a poison message."""
        try:
            parsed = model.model_validate_json(self.data)
        except ValidationError as exc:
            raise MalformedEvent(
                f"{self.type} payload invalid: {exc.errors(include_url=False, include_input=False)}"
            ) from exc
        self._check_key(parsed)
        return parsed

    def _check_key(self, payload: EventPayload) -> None:
        """The record's key is the payload's key field (the loan id for loan events), or
        the record travelled on another key's partition: ``MisroutedEvent``."""
        try:
            key_field = CATALOGUE.spec_for_model(type(payload)).key_field
        except LookupError:
            return  # a model outside the catalogue (a test's) has no key rule
        if key_field is None:
            return
        expected = str(getattr(payload, key_field))
        if self.key != expected:
            raise MisroutedEvent(
                f"{self.type} record key {self.key!r} is not the payload's {key_field} "
                f"{expected!r}: the event travelled on another key's partition"
            )

    @classmethod
    def from_kafka(
        cls,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        partition: int | None = None,
    ) -> CloudEvent:
        attrs: dict[str, str] = {}
        try:
            for name, raw in headers:
                attrs[name.lower()] = raw.decode()
        except (UnicodeDecodeError, AttributeError) as exc:
            raise MalformedEvent("headers are not UTF-8") from exc
        missing = [h for h in _REQUIRED if h not in attrs]
        if missing:
            raise MalformedEvent(f"missing CloudEvents headers: {', '.join(missing)}")
        if attrs["ce_specversion"] != SPECVERSION:
            raise MalformedEvent(f"unsupported specversion {attrs['ce_specversion']}")
        if value is None:
            raise MalformedEvent("empty value")
        try:
            time = (
                datetime.fromisoformat(attrs["ce_time"])
                if "ce_time" in attrs
                else datetime.now(UTC)
            )
        except ValueError as exc:
            raise MalformedEvent(f"bad ce_time {attrs['ce_time']!r}") from exc
        known = {"ce_id", "ce_type", "ce_source", "ce_specversion", "ce_time", "ce_subject"}
        extensions = {
            k.removeprefix("ce_"): v
            for k, v in attrs.items()
            if k.startswith("ce_") and k not in known
        }
        try:
            decoded_key = key.decode() if key is not None else None
        except UnicodeDecodeError as exc:
            raise MalformedEvent("key is not UTF-8") from exc
        return cls(
            id=attrs["ce_id"],
            type=attrs["ce_type"],
            source=attrs["ce_source"],
            time=time,
            data=value,
            topic=topic,
            key=decoded_key,
            subject=attrs.get("ce_subject"),
            partition=partition,
            datacontenttype=attrs.get("content-type", CONTENT_TYPE),
            extensions=extensions,
        )


def new_event(
    payload: EventPayload,
    *,
    source: str,
    key: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
    partition: int | None = None,
    extensions: dict[str, str] | None = None,
) -> CloudEvent:
    """Build the CloudEvent for ``payload``; its type and topic come from the catalogue.

    The key defaults to the payload's key field (the loan id for loan events).
    """
    spec = CATALOGUE.spec_for_model(type(payload))
    if key is None and spec.key_field is not None:
        key = str(getattr(payload, spec.key_field))
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        type=spec.type,
        source=source,
        time=time or datetime.now(UTC),
        data=payload.model_dump_json().encode(),
        topic=spec.topic,
        key=key,
        subject=key,
        partition=partition,
        extensions=extensions or {},
    )
