"""The overdue service's unit of work: the kit's transaction + outbox, with this service's
repositories (``loans``, ``products``, ``waivers``, ``history``, ``days``), the set-based
close-of-business statements (``close_of_business``) and the settings its processes read."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Self

from lendkit.db import UnitOfWork
from overdue.adapters.close_of_business import CloseOfBusinessBatch
from overdue.adapters.repository import (
    BusinessDayRepository,
    HistoryRepository,
    LoanRepository,
    ProductRepository,
    WaiverRepository,
)
from overdue.settings import Settings


@functools.cache
def _default_settings() -> Settings:
    return Settings()


class OverdueUnitOfWork(UnitOfWork):
    loans: LoanRepository
    products: ProductRepository
    waivers: WaiverRepository
    history: HistoryRepository
    days: BusinessDayRepository
    close_of_business: CloseOfBusinessBatch

    def __init__(self, *args: Any, settings: Settings | None = None, **kwargs: Any) -> None:
        """The kit's ``(session_factory, source)``, and the settings (the environment's
        unless given)."""
        super().__init__(*args, **kwargs)
        self.settings = settings or _default_settings()

    @classmethod
    def factory(cls, settings: Settings) -> Callable[..., OverdueUnitOfWork]:
        """``ServiceRuntime``'s ``uow_class``: units of work that read ``settings``."""
        return functools.partial(cls, settings=settings)

    def sibling(self) -> Self:
        return type(self)(self._session_factory, self.source, settings=self.settings)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        session = self.session
        self.loans = LoanRepository(session)
        self.products = ProductRepository(session)
        self.waivers = WaiverRepository(session)
        self.history = HistoryRepository(session)
        self.days = BusinessDayRepository(session)
        self.close_of_business = CloseOfBusinessBatch(session)
        return self
