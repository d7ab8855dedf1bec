"""Discounted settlements the ledger holds (``uow.settlements``): one pending per loan
(a partial unique index), resolved once, completed, lapsed or ``cancelled`` (its plan
cancelled); a completed one is voided (``reversed``) when the payment that completed it is
reversed. Lapsing is set-based: one
statement for every pending settlement whose deadline is the day being closed or earlier."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.adapters.records import SettlementOffer
from ledger.adapters.tables import settlements

_LAPSE = text(
    """
    UPDATE settlements s SET status = 'lapsed', resolved_on = :business_date
    WHERE s.status = 'pending' AND s.deadline <= :business_date
    RETURNING s.plan_id, s.loan_id, s.amount, s.deadline, s.accepted_on,
              (SELECT coalesce(sum(p.amount), 0) FROM payments p
               WHERE p.loan_id = s.loan_id AND NOT p.reversed
                 AND p.value_date BETWEEN s.accepted_on AND s.deadline) AS paid
    """
)


def _offer(row: Row[Any]) -> SettlementOffer:
    m = row._mapping
    return SettlementOffer(
        plan_id=m["plan_id"],
        loan_id=m["loan_id"],
        amount=m["amount"],
        deadline=m["deadline"],
        accepted_on=m["accepted_on"],
        plan=m["plan"],
        status=m["status"],
        resolved_on=m["resolved_on"],
    )


class SettlementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, offer: SettlementOffer) -> bool:
        """Hold ``offer``; False when the plan is held already or the loan has a pending
        settlement."""
        inserted = await self.session.scalar(
            insert(settlements)
            .values(
                plan_id=offer.plan_id,
                loan_id=offer.loan_id,
                amount=offer.amount,
                deadline=offer.deadline,
                accepted_on=offer.accepted_on,
                plan=dict(offer.plan),
            )
            .on_conflict_do_nothing()
            .returning(settlements.c.plan_id)
        )
        return inserted is not None

    async def pending_for(self, loan_id: str) -> SettlementOffer | None:
        """The loan's pending settlement (the caller holds the loan's row lock)."""
        row = (
            await self.session.execute(
                select(settlements).where(
                    settlements.c.loan_id == loan_id, settlements.c.status == "pending"
                )
            )
        ).first()
        return None if row is None else _offer(row)

    async def complete(self, plan_id: str, on: date) -> None:
        await self.session.execute(
            update(settlements)
            .where(settlements.c.plan_id == plan_id, settlements.c.status == "pending")
            .values(status="completed", resolved_on=on)
        )

    async def latest_completed(self, loan_id: str) -> SettlementOffer | None:
        """The loan's most recently completed settlement (the caller holds the loan's row
        lock)."""
        row = (
            await self.session.execute(
                select(settlements)
                .where(settlements.c.loan_id == loan_id, settlements.c.status == "completed")
                .order_by(settlements.c.resolved_on.desc(), settlements.c.plan_id.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else _offer(row)

    async def void(self, plan_id: str, on: date) -> None:
        """A completed settlement whose payment was reversed: ``reversed`` on ``on``."""
        await self.session.execute(
            update(settlements)
            .where(settlements.c.plan_id == plan_id, settlements.c.status == "completed")
            .values(status="reversed", resolved_on=on)
        )

    async def withdraw(self, plan_id: str, on: date) -> None:
        """A pending settlement whose plan was cancelled: ``cancelled`` on ``on``."""
        await self.session.execute(
            update(settlements)
            .where(settlements.c.plan_id == plan_id, settlements.c.status == "pending")
            .values(status="cancelled", resolved_on=on)
        )

    async def lapse_due(self, business_date: date) -> list[tuple[SettlementOffer, int]]:
        """Lapse every pending settlement whose deadline is ``business_date`` or earlier
        (the close of its deadline day): each with what was paid in its window."""
        rows = (await self.session.execute(_LAPSE, {"business_date": business_date})).all()
        return [
            (
                SettlementOffer(
                    plan_id=r.plan_id,
                    loan_id=r.loan_id,
                    amount=int(r.amount),
                    deadline=r.deadline,
                    accepted_on=r.accepted_on,
                    status="lapsed",
                    resolved_on=business_date,
                ),
                int(r.paid),
            )
            for r in rows
        ]
