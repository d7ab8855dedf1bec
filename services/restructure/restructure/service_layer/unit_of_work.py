"""The restructure service's unit of work: the kit's transaction + outbox, with this
service's repositories and the business clock it answers "today" with."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Self

from lendkit.db import UnitOfWork
from restructure.adapters.repository import (
    AuditRepository,
    BusinessDayRepository,
    ForbearanceRepository,
    LoanRepository,
    OfferRepository,
    PlanRepository,
    ProductRepository,
    PromiseRepository,
    QuoteRepository,
    RequestRepository,
)
from restructure.domain.clock import business_today
from restructure.settings import Settings


@functools.cache
def _default_settings() -> Settings:
    return Settings()


class RestructureUnitOfWork(UnitOfWork):
    products: ProductRepository
    loans: LoanRepository
    requests: RequestRepository
    quotes: QuoteRepository
    offers: OfferRepository
    plans: PlanRepository
    audit: AuditRepository
    promises: PromiseRepository
    forbearance: ForbearanceRepository
    days: BusinessDayRepository

    def __init__(self, *args: Any, settings: Settings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings or _default_settings()

    @classmethod
    def factory(cls, settings: Settings) -> Callable[..., RestructureUnitOfWork]:
        return functools.partial(cls, settings=settings)

    def sibling(self) -> Self:
        return type(self)(self._session_factory, self.source, settings=self.settings)

    async def today(self) -> date:
        """Today on the business clock."""
        return business_today(
            await self.days.last_closed(), self.settings.business_timezone, datetime.now(UTC)
        )

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        session = self.session
        self.products = ProductRepository(session)
        self.loans = LoanRepository(session)
        self.requests = RequestRepository(session)
        self.quotes = QuoteRepository(session)
        self.offers = OfferRepository(session)
        self.plans = PlanRepository(session)
        self.audit = AuditRepository(session)
        self.promises = PromiseRepository(session)
        self.forbearance = ForbearanceRepository(session)
        self.days = BusinessDayRepository(session)
        return self
