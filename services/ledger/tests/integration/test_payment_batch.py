"""POST /payments/batch books what the single POST books: the same results, the same
journal, the same events; a refused payment gets its own problem and the others stand."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from lendkit.auth import Role
from lendkit.testing import unique

if TYPE_CHECKING:
    from conftest import Ledger

DISBURSED = date(2026, 1, 10)

#: Fields that differ between two loans booked alike: ids, clocks, the global version sequence.
_UNIQUE = {"payment_id", "loan_id", "received_at", "loan_version", "entry_id"}


def _same_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _same_shape(v) for k, v in value.items() if k not in _UNIQUE}
    if isinstance(value, list):
        return [_same_shape(v) for v in value]
    return value


async def _batch(ledger: Ledger, payments: list[dict[str, Any]]) -> dict[str, Any]:
    r = await ledger.client.post(
        "/payments/batch",
        json={"payments": payments},
        headers={**ledger.auth(Role.SERVICE), "Idempotency-Key": unique("batch")},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _single(ledger: Ledger, loan_id: str, p: dict[str, Any]) -> tuple[int, Any]:
    r = await ledger.client.post(
        f"/loans/{loan_id}/payments",
        json={k: p[k] for k in ("external_reference", "amount_minor", "value_date")},
        headers={**ledger.auth(Role.SERVICE), "Idempotency-Key": p["idempotency_key"]},
    )
    return r.status_code, r.json()


async def _booked(ledger: Ledger, loan_id: str) -> dict[str, Any]:
    """What the loan's books say: journal, payments with allocations, events in order."""
    journal = await ledger.client.get(f"/loans/{loan_id}/journal", headers=ledger.auth())
    listed = await ledger.client.get(f"/loans/{loan_id}/payments", headers=ledger.auth())
    async with ledger.runtime.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT event_type, payload FROM outbox WHERE message_key = :k"
                    " AND event_type NOT LIKE 'ledger.loan.disbursed%' ORDER BY id"
                ),
                {"k": loan_id},
            )
        ).all()
    events = [[r.event_type, orjson.loads(r.payload)] for r in rows]
    versions = [e["loan_version"] for _, e in events if "loan_version" in e]
    assert versions == sorted(versions)  # per loan, in publication order
    return {
        "journal": _same_shape(journal.json()["items"]),
        "payments": _same_shape(listed.json()["items"]),
        "events": _same_shape(events),
    }


payment_lists = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=350_000),  # amount: a part, an instalment, overpaid
        st.integers(min_value=0, max_value=110),  # value date: days after the disbursement
        st.sampled_from(["r1", "r2", "r3", "r4", "r5"]),  # a repeat is refused (409)
    ),
    min_size=1,
    max_size=7,
)


# A few examples, each two loans booked over HTTP; no shrinking (each step is a whole example).
@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=payment_lists)
async def test_batch_books_what_single_posts_book(
    ledger: Ledger, drawn: list[tuple[int, int, str]]
) -> None:
    product = await ledger.product()
    alone, batched = await ledger.loan(product), await ledger.loan(product)
    payments = [
        {
            "idempotency_key": unique("k"),
            "external_reference": ref,
            "amount_minor": amount,
            "value_date": (DISBURSED + timedelta(days=days)).isoformat(),
        }
        for amount, days, ref in drawn
    ]

    singles = [await _single(ledger, alone, p) for p in payments]
    answer = await _batch(ledger, [{**p, "loan_id": batched} for p in payments])

    assert [r["index"] for r in answer["results"]] == list(range(len(payments)))
    for (status, body), result in zip(singles, answer["results"], strict=True):
        assert result["status"] == status
        if status == 201:
            assert _same_shape(result["payment"]) == _same_shape(body)
        else:
            assert result["problem"]["title"] == body["title"]
            assert result["problem"]["detail"] == body["detail"]
    assert answer["accepted"] == sum(1 for s, _ in singles if s == 201)
    assert await _booked(ledger, batched) == await _booked(ledger, alone)


async def test_a_refused_payment_leaves_the_others_booked(ledger: Ledger) -> None:
    product = await ledger.product()
    a, b = await ledger.loan(product), await ledger.loan(product)
    pay = {"amount_minor": 10_000, "value_date": "2026-02-10"}
    answer = await _batch(
        ledger,
        [
            {"loan_id": a, "idempotency_key": "k1", "external_reference": "x1", **pay},
            {"loan_id": unique("L-missing"), "idempotency_key": "k2", "external_reference": "x2"}
            | pay,
            {"loan_id": b, "idempotency_key": "k3", "external_reference": "x3", **pay},
            {"loan_id": a, "idempotency_key": "k4", "external_reference": "x1", **pay},
            {"loan_id": b, "idempotency_key": "k5", "external_reference": "x5"}
            | {**pay, "value_date": "2025-12-31"},
        ],
    )

    assert [r["status"] for r in answer["results"]] == [201, 404, 201, 409, 422]
    assert (answer["accepted"], answer["refused"]) == (2, 3)
    assert answer["results"][1]["problem"]["title"] == "Not Found"
    assert answer["results"][1]["payment"] is None
    for loan_id in (a, b):
        listed = await ledger.client.get(f"/loans/{loan_id}/payments", headers=ledger.auth())
        assert len(listed.json()["items"]) == 1
    # the refused ones' keys were given up: a corrected retry books
    retry = await _batch(
        ledger,
        [{"loan_id": a, "idempotency_key": "k4", "external_reference": "x4", **pay}],
    )
    assert [r["status"] for r in retry["results"]] == [201]


async def test_each_payment_key_answers_its_stored_result_alone_or_batched(
    ledger: Ledger,
) -> None:
    loan_id = await ledger.loan(await ledger.product())
    p = {
        "loan_id": loan_id,
        "idempotency_key": unique("k"),
        "external_reference": "same",
        "amount_minor": 20_000,
        "value_date": "2026-02-10",
    }
    first = await _batch(ledger, [p, p])
    assert [r["status"] for r in first["results"]] == [201, 201]
    assert [r["replayed"] for r in first["results"]] == [False, True]
    assert first["results"][0]["payment"] == first["results"][1]["payment"]

    again = await _batch(ledger, [p, {**p, "amount_minor": 1}])
    assert again["results"][0]["replayed"] is True
    assert again["results"][0]["payment"] == first["results"][0]["payment"]
    assert again["results"][1]["status"] == 422  # the key, with another payment

    status, body = await _single(ledger, loan_id, p)
    assert (status, body) == (201, first["results"][0]["payment"])
    listed = await ledger.client.get(f"/loans/{loan_id}/payments", headers=ledger.auth())
    assert len(listed.json()["items"]) == 1


async def test_a_batch_sent_again_answers_the_same(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product())
    body = {
        "payments": [
            {
                "loan_id": loan_id,
                "idempotency_key": unique("k"),
                "external_reference": unique("ref"),
                "amount_minor": 5_000,
                "value_date": "2026-02-10",
            }
        ]
    }
    headers = {**ledger.auth(Role.SERVICE), "Idempotency-Key": unique("batch")}
    first = await ledger.client.post("/payments/batch", json=body, headers=headers)
    second = await ledger.client.post("/payments/batch", json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second.headers["Idempotent-Replayed"] == "true"


async def test_a_borrower_may_not_post_a_batch(ledger: Ledger) -> None:
    r = await ledger.client.post(
        "/payments/batch",
        json={"payments": []},
        headers={**ledger.auth(Role.BORROWER, borrower_id="B-1"), "Idempotency-Key": "k"},
    )
    assert r.status_code == 403
