"""A product and a loan of it arrive on different topics, and the consumer handles the two
partitions concurrently, each in its own transaction. Under READ COMMITTED neither sees the
other before it commits: the product's handler finds no loan to give its terms to, and the
loan's handler finds no product to take them from. The loan must still have its terms (a
hardship request on it would otherwise be refused as ``loan-terms-unknown`` for good)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest

from lendkit.contracts.ledger import LoanDisbursed, ProductPublished
from lendkit.contracts.money import InstalmentTerms
from lendkit.events import CloudEvent, new_event
from lendkit.migrations import upgrade
from lendkit.runtime import ServiceRuntime
from lendkit.testing import fresh_database
from restructure.bootstrap import create_runtime
from restructure.service_layer import handlers
from restructure.service_layer.unit_of_work import RestructureUnitOfWork
from restructure.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def runtime() -> AsyncIterator[ServiceRuntime[RestructureUnitOfWork]]:
    url = await fresh_database("restructure_product_loan_race")
    await asyncio.to_thread(upgrade, "restructure", url)
    settings = Settings(database_url=url, run_consumers=False, run_outbox_relay=False)
    rt = create_runtime(settings)
    await rt.start(background=False)
    yield rt
    await rt.stop()


def _product(code: str) -> CloudEvent:
    return new_event(
        ProductPublished(
            code=code,
            currency="CNY",
            annual_rate="0.12",
            day_count="30/360",
            term=3,
            frequency="monthly",
            schedule_type="annuity",
            rounding="half_even",
            allocation_strategy="oldest_first",
            allocation_components=["penalty", "fee", "interest", "principal"],
            reminder_days_before=[3],
            restructure_policy={},
        ),
        source="ledger",
        key=code,
    )


def _loan(loan_id: str, code: str) -> CloudEvent:
    return new_event(
        LoanDisbursed(
            loan_id=loan_id,
            borrower_id="b-race",
            product_code=code,
            currency="CNY",
            principal_minor=300_000,
            annual_rate="0.12",
            disbursed_on=date(2026, 6, 1),
            timezone="Asia/Shanghai",
            loan_version=1,
            instalments=[
                InstalmentTerms(
                    seq=1, due_date=date(2026, 7, 1), principal_minor=300_000, interest_minor=3_000
                )
            ],
        ),
        source="ledger",
        key=loan_id,
    )


@pytest.mark.parametrize("first_commit", ["product", "loan"])
async def test_a_loan_has_its_terms_whichever_of_it_and_its_product_commits_first(
    runtime: ServiceRuntime[RestructureUnitOfWork], first_commit: str
) -> None:
    code, loan_id = f"RACE-{first_commit}", f"L-race-{first_commit}"
    async with runtime.uow() as product_tx, runtime.uow() as loan_tx:
        # Both transactions have run their handler before either commits.
        await handlers.on_product_published(product_tx, _product(code))
        await handlers.on_loan_disbursed(loan_tx, _loan(loan_id, code))
        first, second = (
            (product_tx, loan_tx) if first_commit == "product" else (loan_tx, product_tx)
        )
        await first.commit()
        await second.commit()
    async with runtime.uow() as uow:
        loan = await uow.loans.get(loan_id)
    assert loan is not None
    assert loan.terms is not None, "the loan has its product's terms"
    assert loan.terms.frequency.value == "MONTHLY"
