"""The ledger's unit of work: the kit's transaction + outbox, with the ledger's repositories.

Every event it emits that carries a loan's balances is stamped with the loan's next
``loan_version`` (``ledger.adapters.loan_versions``) on its way to the outbox.
"""

from __future__ import annotations

from typing import Self

from ledger.adapters.business_days import BusinessDays
from ledger.adapters.close_of_business import CloseOfBusinessJob
from ledger.adapters.loan_versions import stamp_versions
from ledger.adapters.penalty_batch import PenaltyBatch
from ledger.adapters.repository import LoanRepository, ProductRepository
from ledger.adapters.settlements import SettlementRepository
from lendkit.db import UnitOfWork
from lendkit.events import CloudEvent


class LedgerUnitOfWork(UnitOfWork):
    loans: LoanRepository
    products: ProductRepository
    business_days: BusinessDays
    #: Discounted settlements held until paid in time or lapsed.
    settlements: SettlementRepository
    #: Set-based SQL of the daily jobs, on this unit of work's connection.
    penalty_batch: PenaltyBatch
    close_of_business: CloseOfBusinessJob

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.loans = LoanRepository(self.session)
        self.products = ProductRepository(self.session)
        self.business_days = BusinessDays(self.session)
        self.settlements = SettlementRepository(self.session)
        self.penalty_batch = PenaltyBatch(self.session)
        self.close_of_business = CloseOfBusinessJob(self.session, self.source)
        return self

    async def write_events(self, events: list[CloudEvent]) -> None:
        await super().write_events(await stamp_versions(self.session, events))
