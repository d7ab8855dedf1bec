"""The read side's queries: listings and portfolio figures counted in the database (the
book never travels to Python).

A loan's bucket at the close of a date is its latest bucket transition on or before that
date, or the current bucket for a loan disbursed by then that never moved. Roll rates
and the cure rate need only how many loans went from each bucket at A to each bucket at
B (``None``: not in that snapshot), one row per pair of buckets.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from overdue.adapters.records import BlockedLoan, BucketFiguresRow, DayProgress, OverdueLoanRow
from overdue.adapters.tables import blocked_loan_days, instalments, loans, products
from overdue.domain.delinquency import days_past_due

_SNAPSHOT = """
    SELECT l.loan_id, coalesce(h.to_bucket, :current) AS bucket
    FROM loans l
    LEFT JOIN (
        SELECT DISTINCT ON (loan_id) loan_id, to_bucket
        FROM bucket_history WHERE business_date <= :{on}
        ORDER BY loan_id, business_date DESC, id DESC
    ) h ON h.loan_id = l.loan_id
    WHERE l.disbursed_on <= :{on}
"""

_MOVES = text(
    f"""
    WITH a AS ({_SNAPSHOT.format(on="start")}), b AS ({_SNAPSHOT.format(on="end")})
    SELECT a.bucket AS from_bucket, b.bucket AS to_bucket, count(*) AS loans
    FROM a FULL JOIN b ON b.loan_id = a.loan_id
    GROUP BY 1, 2
    """
)


_PROGRESS = text(
    """
    SELECT (SELECT min(business_date) FROM cob_runs WHERE finished_at IS NOT NULL) AS first_closed,
           (SELECT max(business_date) FROM cob_runs WHERE finished_at IS NOT NULL) AS last_closed,
           (SELECT max(finished_at) FROM cob_runs) AS last_closed_at,
           o.business_date AS open_day, o.markers, o.partitions, o.review_started
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (
        SELECT m.business_date, count(*) AS markers, max(m.partitions) AS partitions,
               bool_or(r.business_date IS NOT NULL) AS review_started
        FROM day_markers m
        LEFT JOIN cob_runs r ON r.business_date = m.business_date
        WHERE r.finished_at IS NULL
        GROUP BY m.business_date
        ORDER BY m.business_date
        LIMIT 1
    ) o ON true
    """
)


class OverdueReadModels:
    """Queries of the operations views, on a read session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def overdue_loans(
        self,
        *,
        as_of: date,
        bucket: str | None,
        stage: str | None,
        after: str | None,
        limit: int,
    ) -> list[OverdueLoanRow]:
        """Loans with something past due on ``as_of``, by loan id (keyset pagination)."""
        past_due = (
            select(
                func.coalesce(
                    func.sum(
                        instalments.c.principal_minor
                        + instalments.c.interest_minor
                        + instalments.c.penalty_minor
                        + instalments.c.fee_minor
                    ),
                    0,
                )
            )
            .where(instalments.c.loan_id == loans.c.loan_id, instalments.c.due_date < as_of)
            .scalar_subquery()
        )
        query: Select[Any] = select(loans, past_due.label("overdue_minor")).where(
            loans.c.oldest_unpaid_due_date < as_of
        )
        if bucket is not None:
            query = query.where(loans.c.bucket == bucket)
        if stage is not None:
            query = query.where(loans.c.stage == stage)
        if after is not None:
            query = query.where(loans.c.loan_id > after)
        rows = await self.session.execute(query.order_by(loans.c.loan_id).limit(limit))
        return [
            OverdueLoanRow(
                loan_id=r.loan_id,
                product_code=r.product_code,
                currency=r.currency,
                oldest_unpaid_due_date=r.oldest_unpaid_due_date,
                days_past_due=days_past_due(r.oldest_unpaid_due_date, as_of),
                bucket=r.bucket,
                stage=r.stage,
                in_arrears=r.in_arrears,
                paused=r.paused,
                overdue_minor=int(r.overdue_minor),
            )
            for r in rows
        ]

    async def portfolio_summary(self, as_of: date) -> list[BucketFiguresRow]:
        """Per bucket and currency: loans, past-due amount, outstanding principal."""
        per_loan = (
            select(
                instalments.c.loan_id,
                func.sum(
                    case(
                        (
                            instalments.c.due_date < as_of,
                            instalments.c.principal_minor
                            + instalments.c.interest_minor
                            + instalments.c.penalty_minor
                            + instalments.c.fee_minor,
                        ),
                        else_=0,
                    )
                ).label("past_due"),
                func.sum(instalments.c.principal_minor).label("principal"),
            )
            .group_by(instalments.c.loan_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(
                loans.c.bucket,
                loans.c.currency,
                func.count().label("loans"),
                func.coalesce(func.sum(per_loan.c.past_due), 0).label("past_due"),
                func.coalesce(func.sum(per_loan.c.principal), 0).label("principal"),
            )
            .select_from(loans.outerjoin(per_loan, per_loan.c.loan_id == loans.c.loan_id))
            .group_by(loans.c.bucket, loans.c.currency)
            .order_by(loans.c.currency, loans.c.bucket)
        )
        return [
            BucketFiguresRow(
                bucket=r.bucket,
                currency=r.currency,
                loans=int(r.loans),
                past_due_minor=int(r.past_due),
                outstanding_principal_minor=int(r.principal),
            )
            for r in rows
        ]

    async def blocked_loans_on(
        self, on: date, *, after: str | None, limit: int
    ) -> tuple[int, list[BlockedLoan]]:
        """How many loans were blocked on ``on``, and a page of them in ``loan_id`` order."""
        total = await self.session.scalar(
            select(func.count()).where(blocked_loan_days.c.business_date == on)
        )
        query = select(
            blocked_loan_days.c.loan_id,
            blocked_loan_days.c.product_code,
            blocked_loan_days.c.reason,
        ).where(blocked_loan_days.c.business_date == on)
        if after is not None:
            query = query.where(blocked_loan_days.c.loan_id > after)
        rows = await self.session.execute(query.order_by(blocked_loan_days.c.loan_id).limit(limit))
        return int(total or 0), [BlockedLoan(r.loan_id, r.product_code, r.reason) for r in rows]

    async def bucket_moves(
        self, start: date, end: date, current: str
    ) -> dict[tuple[str | None, str | None], int]:
        """Loans per (bucket at the close of ``start``, bucket at the close of ``end``)."""
        rows = await self.session.execute(_MOVES, {"start": start, "end": end, "current": current})
        return {(r.from_bucket, r.to_bucket): int(r.loans) for r in rows}

    async def day_progress(self) -> DayProgress:
        """The closed days, and the first day not closed yet whose markers began to arrive."""
        row = (await self.session.execute(_PROGRESS)).one()
        return DayProgress(
            first_closed=row.first_closed,
            last_closed=row.last_closed,
            last_closed_at=row.last_closed_at,
            open_day=row.open_day,
            markers_received=int(row.markers or 0),
            partitions=None if row.partitions is None else int(row.partitions),
            review_started=bool(row.review_started),
        )

    async def published_policy(self, code: str) -> dict[str, Any] | None:
        """The product's overdue policy as the ledger published it (``None``: unknown)."""
        policy: dict[str, Any] | None = await self.session.scalar(
            select(products.c.overdue_policy).where(products.c.code == code)
        )
        return policy
