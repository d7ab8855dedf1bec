"""The set-based balance writes of a run of ledger facts (``LoanRepository``): many loans'
open instalments and ledger versions in three statements, the same rows as one loan at a
time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from lendkit.migrations import upgrade
from lendkit.testing import fresh_database, unique
from restructure.adapters.records import OpenInstalment
from restructure.adapters.repository import LoanRepository


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    url = await fresh_database("restructure_balances")
    await asyncio.to_thread(upgrade, "restructure", url)
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()


def _instalments(penalty: int, seqs: range) -> list[OpenInstalment]:
    return [
        OpenInstalment(seq, date(2026, seq, 1), 100_00, 10_00, penalty if seq == seqs[0] else 0, 5)
        for seq in seqs
    ]


async def test_many_loans_balances_replaced_at_once_equal_one_at_a_time(
    engine: AsyncEngine,
) -> None:
    loans = [unique("L") for _ in range(3)]
    async with AsyncSession(engine) as session, session.begin():
        repo = LoanRepository(session)
        for loan in loans:
            await repo.add(
                loan_id=loan,
                borrower_id="B",
                product_code="P",
                currency="CNY",
                annual_rate="0.12",
                disbursed_on=date(2026, 1, 1),
                terms=None,
                ledger_version=1,
            )
            await repo.replace_instalments(loan, _instalments(0, range(1, 5)), loan_version=1)
    async with AsyncSession(engine) as session, session.begin():
        repo = LoanRepository(session)
        assert await repo.ledger_versions([*loans, "L-unknown"]) == dict.fromkeys(loans, 1)
        await repo.replace_many_instalments(
            {
                loans[0]: (_instalments(700, range(2, 5)), 5),
                loans[1]: ([], 2),  # every instalment paid
            }
        )
    async with AsyncSession(engine) as session, session.begin():
        repo = LoanRepository(session)
        first, second, third = [await repo.get(loan) for loan in loans]
        assert first is not None and second is not None and third is not None
        assert first.instalments == tuple(_instalments(700, range(2, 5)))
        assert (first.ledger_version, second.instalments, second.ledger_version) == (5, (), 2)
        assert third.instalments == tuple(_instalments(0, range(1, 5)))  # not in the run
        assert third.ledger_version == 1
