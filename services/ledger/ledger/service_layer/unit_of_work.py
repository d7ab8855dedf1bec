"""The ledger's unit of work: the kit's transaction + outbox, with the ledger's repositories."""

from __future__ import annotations

from typing import Self

from ledger.adapters.repository import LoanRepository, ProductRepository
from lendkit.db import UnitOfWork


class LedgerUnitOfWork(UnitOfWork):
    loans: LoanRepository
    products: ProductRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.loans = LoanRepository(self.session)
        self.products = ProductRepository(self.session)
        return self
