"""Who may see what, and bad input: 4xx problem+json that changes nothing."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Ledger


from lendkit.auth import Role
from lendkit.testing import unique


async def test_borrower_cannot_see_another_borrowers_loan(ledger: Ledger) -> None:
    product = await ledger.product()
    mine = await ledger.loan(product, borrower_id="B-alice-" + unique("x"))
    theirs = await ledger.loan(product)
    alice = (await ledger.client.get(f"/loans/{mine}", headers=ledger.auth())).json()["borrower_id"]
    me = ledger.auth(Role.BORROWER, borrower_id=alice)

    assert (await ledger.client.get(f"/loans/{mine}", headers=me)).status_code == 200
    other = await ledger.client.get(f"/loans/{theirs}", headers=me)
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    assert (await ledger.client.get(f"/loans/{theirs}/owed", headers=me)).status_code == 404
    listed = (await ledger.client.get("/loans", headers=me)).json()
    assert [loan["loan_id"] for loan in listed["items"]] == [mine]


async def test_bad_input_is_a_problem_and_changes_nothing(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product())
    headers = {**ledger.auth(Role.SERVICE), "Idempotency-Key": unique("k")}

    cases = [
        ({"external_reference": "r", "amount_minor": -5, "value_date": "2026-02-10"}, 422),
        ({"external_reference": "r", "amount_minor": 5, "value_date": "not-a-date"}, 422),
        ({"external_reference": "r", "amount_minor": 5, "value_date": "2025-01-01"}, 422),
        ({"external_reference": "r", "amount_minor": 5}, 422),
    ]
    for body, status in cases:
        r = await ledger.client.post(f"/loans/{loan_id}/payments", json=body, headers=headers)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    no_key = await ledger.client.post(
        f"/loans/{loan_id}/payments",
        json={"external_reference": "r", "amount_minor": 5, "value_date": "2026-02-10"},
        headers=ledger.auth(Role.SERVICE),
    )
    assert no_key.status_code == 400
    unknown = await ledger.pay("no-such-loan", 5, date(2026, 2, 10))
    assert unknown.status_code == 404
    forbidden = await ledger.client.post(
        "/close-of-business",
        json={"business_date": "2026-02-10"},
        headers=ledger.auth(Role.BORROWER, borrower_id="b"),
    )
    assert forbidden.status_code == 403
    no_token = await ledger.client.get(f"/loans/{loan_id}")
    assert no_token.status_code == 401

    payments = await ledger.client.get(f"/loans/{loan_id}/payments", headers=ledger.auth())
    assert payments.json()["items"] == []
    journal = await ledger.client.get(f"/loans/{loan_id}/journal", headers=ledger.auth())
    assert [e["memo"] for e in journal.json()["items"]] == ["disbursement"]


async def test_duplicate_external_reference_is_a_conflict(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product())
    assert (await ledger.pay(loan_id, 1_000, date(2026, 2, 1), "bank-1")).status_code == 201

    again = await ledger.pay(loan_id, 1_000, date(2026, 2, 1), "bank-1")

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


async def test_ops_search_pages_with_a_cursor(ledger: Ledger) -> None:
    product = await ledger.product()
    borrower = unique("B")
    ids = sorted([await ledger.loan(product, borrower_id=borrower) for _ in range(3)])

    first = (
        await ledger.client.get(
            "/loans", params={"borrower_id": borrower, "limit": 2}, headers=ledger.auth()
        )
    ).json()
    second = (
        await ledger.client.get(
            "/loans",
            params={"borrower_id": borrower, "limit": 2, "cursor": first["next_cursor"]},
            headers=ledger.auth(),
        )
    ).json()

    assert [x["loan_id"] for x in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None
