"""CloudEvents 1.0 binary mode: attributes in ce_ headers, key = loan id, tolerant reading."""

from __future__ import annotations

import pytest

from lendkit.events import CloudEvent, EventPayload, MalformedEvent, event_type, new_event


@event_type("kittest.loan.enveloped.v1", topic="kittest.loans", description="test only")
class Enveloped(EventPayload):
    loan_id: str
    amount_minor: int


def test_binary_mode_headers_carry_the_required_attributes() -> None:
    e = new_event(Enveloped(loan_id="L-1", amount_minor=100), source="ledger")
    headers = dict(e.headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"kittest.loan.enveloped.v1"
    assert headers["ce_source"] == b"ledger"
    assert headers["ce_id"] == e.id.encode()
    assert headers["content-type"] == b"application/json"
    assert b"ce_time" in {k.encode() for k in headers}
    assert e.key_bytes() == b"L-1", "key = loan id keeps one loan's events in order"


def test_round_trip_through_kafka_shape() -> None:
    e = new_event(
        Enveloped(loan_id="L-2", amount_minor=5),
        source="ledger",
        extensions={"traceparent": "00-x"},
    )
    back = CloudEvent.from_kafka(e.topic, e.key_bytes(), e.data, e.headers(), partition=3)
    assert back.id == e.id and back.type == e.type and back.key == "L-2"
    assert back.time == e.time
    assert back.extensions == {"traceparent": "00-x"}
    assert back.payload(Enveloped) == Enveloped(loan_id="L-2", amount_minor=5)


def test_tolerant_reader_ignores_unknown_fields() -> None:
    e = new_event(Enveloped(loan_id="L-3", amount_minor=5), source="ledger")
    newer = CloudEvent(
        **{**e.__dict__, "data": b'{"loan_id":"L-3","amount_minor":5,"added_later":true}'}
    )
    assert newer.payload(Enveloped).amount_minor == 5


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ([], b"{}", "missing CloudEvents headers"),
        (
            [
                ("ce_id", b"1"),
                ("ce_type", b"t.a.b.v1"),
                ("ce_source", b"s"),
                ("ce_specversion", b"0.3"),
            ],
            b"{}",
            "specversion",
        ),
        (
            [
                ("ce_id", b"1"),
                ("ce_type", b"t.a.b.v1"),
                ("ce_source", b"s"),
                ("ce_specversion", b"1.0"),
            ],
            None,
            "empty value",
        ),
        (
            [
                ("ce_id", b"\xff"),
                ("ce_type", b"t"),
                ("ce_source", b"s"),
                ("ce_specversion", b"1.0"),
            ],
            b"{}",
            "UTF-8",
        ),
    ],
)
def test_malformed_records_are_rejected_with_a_reason(
    headers: list[tuple[str, bytes]], value: bytes | None, reason: str
) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        CloudEvent.from_kafka("t", b"k", value, headers)


def test_payload_that_does_not_fit_its_type_is_malformed() -> None:
    e = new_event(Enveloped(loan_id="L-4", amount_minor=5), source="ledger")
    bad = CloudEvent(**{**e.__dict__, "data": b'{"loan_id":"L-4","amount_minor":"lots"}'})
    with pytest.raises(MalformedEvent, match="amount_minor"):
        bad.payload(Enveloped)


def test_unversioned_type_names_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\.vN"):
        event_type("ledger.loan.disbursed", topic="x", description="x")(Enveloped)
