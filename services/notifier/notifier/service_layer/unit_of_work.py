"""The notifier's unit of work: the kit's transaction + outbox with this service's repositories."""

from __future__ import annotations

from typing import Self

from lendkit.db import UnitOfWork
from notifier.adapters.batch import BatchRecord
from notifier.adapters.delivery import DeliveryRepository
from notifier.adapters.repository import (
    AttemptRepository,
    ClockRepository,
    LoanRepository,
    ProductRepository,
    ProfileRepository,
    StageRepository,
    StrategyRepository,
)


class NotifierUnitOfWork(UnitOfWork):
    loans: LoanRepository
    profiles: ProfileRepository
    attempts: AttemptRepository
    products: ProductRepository
    delivery: DeliveryRepository
    batch: BatchRecord
    strategies: StrategyRepository
    stages: StageRepository
    clock: ClockRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.loans = LoanRepository(self.session)
        self.profiles = ProfileRepository(self.session)
        self.attempts = AttemptRepository(self.session)
        self.products = ProductRepository(self.session)
        self.delivery = DeliveryRepository(self.session)
        self.batch = BatchRecord(self.session)
        self.strategies = StrategyRepository(self.session)
        self.stages = StageRepository(self.session)
        self.clock = ClockRepository(self.session)
        return self
