"""The one outbox writer: one header list for Python and SQL, payload SQL from a contract."""

from __future__ import annotations

import re

import pytest

from lendkit.events import EventPayload, event_type, new_event
from lendkit.events.envelope import header_pairs, headers_sql
from lendkit.outbox.writer import OUTBOX_COLUMNS, outbox_insert_select, outbox_row, payload_sql


@event_type("kittest.loan.written.v1", topic="kittest.loans", description="test only")
class Written(EventPayload):
    loan_id: str
    seq: int
    amount_minor: int


def sql_header_names(sql: str) -> list[str]:
    return re.findall(r"jsonb_build_array\('([^']+)',", sql)


def test_python_and_sql_headers_come_from_one_list() -> None:
    event = new_event(Written(loan_id="L-1", seq=1, amount_minor=5), source="kit-test")
    python_names = [name for name, _ in event.headers()]
    sql = headers_sql(id="a", type="b", source="c", time="d", subject="e")
    assert sql_header_names(sql) == python_names
    assert python_names == [
        "ce_specversion",
        "ce_id",
        "ce_type",
        "ce_source",
        "ce_time",
        "content-type",
        "ce_subject",
    ]


def test_header_pairs_leave_out_a_missing_subject_and_append_extensions() -> None:
    pairs = header_pairs(
        specversion="1.0",
        id="i",
        type="t",
        source="s",
        time="x",
        datacontenttype="application/json",
        subject=None,
        extensions=[("traceparent", "tp")],
    )
    assert [n for n, _ in pairs][-2:] == ["content-type", "ce_traceparent"]


def test_every_writer_fills_the_same_columns() -> None:
    event = new_event(Written(loan_id="L-1", seq=1, amount_minor=5), source="kit-test")
    assert tuple(outbox_row(event)) == OUTBOX_COLUMNS
    statement = outbox_insert_select(Written, "SELECT 1")
    assert f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)})" in statement
    assert sql_header_names(statement) == [name for name, _ in event.headers()]


def test_payload_sql_names_every_field_in_the_contract_order() -> None:
    sql = payload_sql(Written, {"seq": "l.seq", "amount_minor": "l.amount", "loan_id": "l.id"})
    assert sql == "jsonb_build_object('loan_id', l.id, 'seq', l.seq, 'amount_minor', l.amount)"


def test_payload_sql_refuses_a_missing_field() -> None:
    with pytest.raises(ValueError, match="missing amount_minor"):
        payload_sql(Written, {"loan_id": "l.id", "seq": "l.seq"})


def test_payload_sql_refuses_a_field_not_in_the_contract() -> None:
    fields = {"loan_id": "l.id", "seq": "l.seq", "amount_minor": "1", "amount": "2"}
    with pytest.raises(ValueError, match="not in the contract amount"):
        payload_sql(Written, fields)


def test_payload_sql_splits_wide_contracts_under_the_100_argument_limit() -> None:
    wide = type(
        "Wide",
        (EventPayload,),
        {"__annotations__": {f"f{i}": int for i in range(60)}},
    )
    sql = payload_sql(wide, {f"f{i}": str(i) for i in range(60)})
    calls = sql.split(" || ")
    assert len(calls) == 2
    assert all(call.count(",") < 100 for call in calls)
    assert "'f59', 59" in calls[1]
