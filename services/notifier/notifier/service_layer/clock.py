"""The notifier's "now": pinned (tests), else the simulated clock (the platform's business date
plus a time of day a simulator sets, ``POST /clock``), else the wall clock.

The simulated clock is persisted (``notifier_clock``) and loaded into ``CLOCK`` when the
runtime starts and on every dispatcher tick, so it survives restarts and a change written by
another process is seen within a tick."""

from __future__ import annotations

from datetime import UTC, datetime

from notifier.domain.clock import SimulatedTime
from notifier.service_layer.unit_of_work import NotifierUnitOfWork


class Clock:
    def __init__(self) -> None:
        self.pinned: datetime | None = None
        self.simulated: SimulatedTime | None = None

    def now(self) -> datetime:
        if self.pinned is not None:
            return self.pinned
        if self.simulated is not None:
            return self.simulated.instant()
        return datetime.now(UTC)


CLOCK = Clock()


async def refresh(uow: NotifierUnitOfWork) -> None:
    """Load the persisted simulated clock into ``CLOCK`` (None: the wall clock)."""
    state = await uow.clock.get()
    CLOCK.simulated = None if state is None else state.simulated_time()
