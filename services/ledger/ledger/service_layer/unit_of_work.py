"""The ledger's unit of work: the kit's transaction + outbox, with the ledger's repositories.

Every event it emits that carries a loan's balances is stamped with the loan's next
``loan_version`` (``ledger.adapters.loan_versions``) on its way to the outbox.
"""

from __future__ import annotations

from typing import Self

from ledger.adapters.loan_versions import stamp_versions
from ledger.adapters.repository import LoanRepository, ProductRepository
from lendkit.db import UnitOfWork
from lendkit.events import CloudEvent


class LedgerUnitOfWork(UnitOfWork):
    loans: LoanRepository
    products: ProductRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.loans = LoanRepository(self.session)
        self.products = ProductRepository(self.session)
        return self

    async def emit(self, event: CloudEvent) -> None:
        await self.emit_all([event])

    async def emit_all(self, events: list[CloudEvent]) -> None:
        await super().emit_all(await stamp_versions(self.session, events))
