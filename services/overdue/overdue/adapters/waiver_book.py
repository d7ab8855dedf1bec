"""Penalty waivers: the audit rows, what each instalment was assessed and waived, and the
ledger's confirmation of what it booked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from overdue.adapters.tables import instalments, penalty_days, penalty_waivers
from overdue.domain.waiver import AssessedDay, InstalmentPenalty, by_instalment


async def penalties_by_instalment(
    session: AsyncSession, loan_id: str
) -> dict[int, InstalmentPenalty]:
    """Penalty assessed per instalment and day, and waivers (the ledger's booked amount
    once it confirmed one, the amount asked until then)."""
    assessed = await session.execute(
        select(penalty_days.c.seq, penalty_days.c.business_date, penalty_days.c.booked_minor).where(
            penalty_days.c.loan_id == loan_id, penalty_days.c.booked_minor > 0
        )
    )
    waived = await session.execute(
        select(
            penalty_waivers.c.seq,
            penalty_waivers.c.business_date,
            func.coalesce(penalty_waivers.c.booked_minor, penalty_waivers.c.amount_minor),
        ).where(penalty_waivers.c.loan_id == loan_id)
    )
    return by_instalment(
        [(r[0], r[1], int(r[2])) for r in assessed], [(r[0], r[1], int(r[2])) for r in waived]
    )


async def penalty_days_since(session: AsyncSession, loan_id: str, since: date) -> list[AssessedDay]:
    rows = await session.execute(
        select(
            penalty_days.c.business_date,
            penalty_days.c.seq,
            penalty_days.c.base_minor,
            penalty_days.c.booked_minor,
        )
        .where(penalty_days.c.loan_id == loan_id, penalty_days.c.business_date >= since)
        .order_by(penalty_days.c.business_date)
    )
    return [AssessedDay(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


async def waived_days(session: AsyncSession, loan_id: str, waived_by: str) -> set[tuple[int, date]]:
    """``(seq, business date)`` of the loan's waivers by ``waived_by``."""
    rows = await session.execute(
        select(penalty_waivers.c.seq, penalty_waivers.c.business_date).where(
            penalty_waivers.c.loan_id == loan_id, penalty_waivers.c.waived_by == waived_by
        )
    )
    return {(seq, on) for seq, on in rows}


async def due_dates(session: AsyncSession, loan_id: str) -> dict[int, date]:
    rows = await session.execute(
        select(instalments.c.seq, instalments.c.due_date).where(instalments.c.loan_id == loan_id)
    )
    return {seq: due for seq, due in rows}


async def add_waivers(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await session.execute(insert(penalty_waivers), list(rows))


async def confirm_waiver(session: AsyncSession, event_id: str, booked_minor: int) -> int | None:
    """Record what the ledger booked for the waiver sent as ``event_id``; returns the
    amount that was asked (None: not a waiver of ours, or already confirmed)."""
    asked: int | None = await session.scalar(
        update(penalty_waivers)
        .where(penalty_waivers.c.event_id == event_id, penalty_waivers.c.booked_minor.is_(None))
        .values(booked_minor=booked_minor)
        .returning(penalty_waivers.c.amount_minor)
    )
    return asked


__all__ = ["add_waivers", "confirm_waiver", "penalties_by_instalment"]
