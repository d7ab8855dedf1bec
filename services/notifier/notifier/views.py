"""The notifier's read side: contact profiles (without addresses) and the attempt record."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.errors import NotFound
from notifier.adapters import read_models
from notifier.adapters.read_models import AttemptRow
from notifier.adapters.repository import (
    ClockRepository,
    ClockState,
    ProfileRepository,
    StrategyRepository,
)
from notifier.domain.profile import ContactProfile
from notifier.domain.strategy import ContactStrategy


async def profile(session: AsyncSession, borrower_id: str) -> ContactProfile:
    found = await ProfileRepository(session).get(borrower_id)
    if found is None:
        raise NotFound(f"no contact profile for borrower {borrower_id}")
    return found


async def attempts(
    session: AsyncSession,
    *,
    loan_id: str | None = None,
    borrower_id: str | None = None,
    after: str | None,
    limit: int,
) -> list[AttemptRow]:
    start = int(after) if after and after.isdigit() else None
    return await read_models.attempts(
        session, loan_id=loan_id, borrower_id=borrower_id, after=start, limit=limit
    )


async def open_call_tasks(
    session: AsyncSession, *, after: str | None, limit: int
) -> list[read_models.CallTaskRow]:
    start = int(after) if after and after.isdigit() else None
    return await read_models.open_call_tasks(session, after=start, limit=limit)


async def strategy(session: AsyncSession) -> ContactStrategy:
    return await StrategyRepository(session).current()


async def clock(session: AsyncSession) -> ClockState | None:
    return await ClockRepository(session).get()
