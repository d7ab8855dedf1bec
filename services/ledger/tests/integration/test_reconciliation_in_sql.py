"""Reconciliation is counted in the database: on a seeded book it equals a Python
reference computed from every journal line and instalment, mismatches included, and it
lists a bounded number of mismatching loans while counting them all."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

from ledger import views

if TYPE_CHECKING:
    from conftest import Ledger

_ACCOUNTS = {
    "LOAN_PRINCIPAL": "principal",
    "INTEREST_RECEIVABLE": "interest",
    "PENALTY_RECEIVABLE": "penalty",
    "FEE_RECEIVABLE": "fee",
}


@pytest.fixture
def ledger(clock_ledger: Ledger) -> Ledger:
    """This module damages balances on purpose: a ledger database of its own."""
    return clock_ledger


async def _reference(ledger: Ledger) -> dict[str, Any]:
    """Loan by loan in Python, from every row (what the database must agree with)."""
    async with ledger.runtime.engine.connect() as conn:
        lines = (
            await conn.execute(text("SELECT loan_id, account, debit, credit FROM journal_lines"))
        ).all()
        held = (
            await conn.execute(
                text(
                    "SELECT i.loan_id, i.interest, i.interest_recognised, i.outstanding_principal, "
                    "i.outstanding_interest, i.outstanding_penalty, i.outstanding_fee, "
                    "l.credit_balance FROM loans l JOIN instalments i "
                    "ON i.loan_id = l.loan_id AND i.version = l.schedule_version"
                )
            )
        ).all()
    journal: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for loan_id, account, debit, credit in lines:
        j = journal[loan_id]
        j["debits"] += debit
        j["credits"] += credit
        if account in _ACCOUNTS:
            j[_ACCOUNTS[account]] += debit - credit
        if account == "BORROWER_CREDIT":
            j["credit"] -= debit - credit
    tables: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for loan_id, interest, recognised, p, i, pen, fee, credit in held:
        t = tables[loan_id]
        t["principal"] += p
        t["interest"] += i - (0 if recognised else interest)
        t["penalty"] += pen
        t["fee"] += fee
        t["credit"] = credit
    mismatches = []
    for loan_id in sorted(tables):
        j, t = journal[loan_id], tables[loan_id]
        for name in ("principal", "interest", "penalty", "fee", "credit"):
            if j[name] != t[name]:
                mismatches.append(
                    {
                        "loan_id": loan_id,
                        "balance": name,
                        "journal_minor": j[name],
                        "tables_minor": t[name],
                    }
                )
        if j["debits"] != j["credits"]:
            mismatches.append(
                {
                    "loan_id": loan_id,
                    "balance": "trial",
                    "journal_minor": j["debits"],
                    "tables_minor": j["credits"],
                }
            )
    debits = sum(journal[x]["debits"] for x in tables)
    credits = sum(journal[x]["credits"] for x in tables)
    return {
        "ok": debits == credits and not mismatches,
        "loans": len(tables),
        "debits_minor": debits,
        "credits_minor": credits,
        "mismatched_loans": len({m["loan_id"] for m in mismatches}),
        "mismatches": mismatches,
    }


async def test_reconciliation_counted_in_sql_equals_the_python_reference(ledger: Ledger) -> None:
    rng = random.Random(7)
    product = await ledger.product()
    loans = [
        await ledger.loan(product, principal=rng.randrange(10_000, 500_000)) for _ in range(30)
    ]
    for loan_id in loans[:20]:
        r = await ledger.pay(
            loan_id, rng.randrange(1_000, 200_000), date(2026, 2, rng.randrange(1, 28))
        )
        assert r.status_code == 201, r.text
    async with ledger.runtime.session_factory() as session:
        clean = await views.reconciliation(session)
    assert clean == await _reference(ledger)
    assert clean["ok"] and clean["loans"] >= 30

    damaged = sorted(loans[25:28])
    async with ledger.runtime.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE instalments SET outstanding_principal = outstanding_principal + 1 "
                "WHERE loan_id = ANY(:l) AND seq = 1"
            ),
            {"l": damaged},
        )
    async with ledger.runtime.session_factory() as session:
        found = await views.reconciliation(session)
        bounded = await views.reconciliation(session, limit=1)
    reference = await _reference(ledger)
    assert found == reference
    assert not found["ok"] and found["mismatched_loans"] == 3
    assert bounded["mismatched_loans"] == 3
    assert {m["loan_id"] for m in bounded["mismatches"]} == {reference["mismatches"][0]["loan_id"]}
    api = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert api == reference
