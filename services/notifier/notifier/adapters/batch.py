"""Set-based reads and writes of the attempt record for many triggers at once (the consumer's
batch mode and the dispatcher): a handful of statements per batch instead of several per
trigger. Same rows and the same append-only discipline as ``repository.AttemptRepository``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.adapters.repository import ProductTerms, _keep_send_queue
from notifier.adapters.tables import (
    contact_attempts,
    contact_channels,
    contact_profiles,
    deferred_sends,
    loans,
    products,
)
from notifier.domain.policy import CallOutcome, Channel, Jurisdiction, PastCall
from notifier.domain.profile import ChannelSetting, ContactProfile

#: Rows per multi-row statement (PostgreSQL takes at most 32,767 bind parameters).
ROWS_PER_STATEMENT = 1_000


def _chunks(rows: Sequence[Any], size: int = ROWS_PER_STATEMENT) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class BatchRecord:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start_many(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """First rows (state ``decided``) of many attempts; the attempt ids started now (a
        trigger decided before, or twice in ``rows``, is not among them)."""
        started: set[str] = set()
        for chunk in _chunks(rows):
            done = await self.session.execute(
                pg_insert(contact_attempts)
                .values([{**r, "state": "decided"} for r in chunk])
                .on_conflict_do_nothing(
                    index_elements=["trigger_key"],
                    index_where=contact_attempts.c.state == "decided",
                )
                .returning(contact_attempts.c.attempt_id)
            )
            started.update(done.scalars())
        return started

    async def append_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """New state rows, in order; ``send_queue`` follows them."""
        for chunk in _chunks(rows):
            await self.session.execute(insert(contact_attempts), list(chunk))
        await _keep_send_queue(self.session, [(r["attempt_id"], r["state"]) for r in rows])

    async def defer_many(self, due: Sequence[tuple[str, datetime]]) -> None:
        for chunk in _chunks(due):
            statement = pg_insert(deferred_sends).values(
                [{"attempt_id": a, "due_at": at, "payload": {}} for a, at in chunk]
            )
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["attempt_id"], set_={"due_at": statement.excluded.due_at}
                )
            )

    async def profiles(self, borrowers: Iterable[str]) -> dict[str, ContactProfile]:
        wanted = sorted(set(borrowers))
        heads = (
            await self.session.execute(
                select(contact_profiles).where(contact_profiles.c.borrower_id.in_(wanted))
            )
        ).all()
        channels: dict[str, list[ChannelSetting]] = defaultdict(list)
        for r in (
            await self.session.execute(
                select(
                    contact_channels.c.borrower_id,
                    contact_channels.c.channel,
                    contact_channels.c.address_id,
                    contact_channels.c.priority,
                    contact_channels.c.opted_out,
                ).where(contact_channels.c.borrower_id.in_(wanted))
            )
        ).all():
            channels[r.borrower_id].append(
                ChannelSetting(Channel(r.channel), r.address_id, r.priority, r.opted_out)
            )
        return {
            h.borrower_id: ContactProfile(
                borrower_id=h.borrower_id,
                language=h.language,
                timezone=h.timezone,
                jurisdiction=Jurisdiction(h.jurisdiction),
                channels=tuple(channels[h.borrower_id]),
            )
            for h in heads
        }

    async def past_calls(
        self, borrowers: Iterable[str], since: datetime
    ) -> dict[str, tuple[PastCall, ...]]:
        found: dict[str, list[PastCall]] = defaultdict(list)
        c = contact_attempts.c
        for r in (
            await self.session.execute(
                select(contact_attempts).where(
                    c.borrower_id.in_(sorted(set(borrowers))),
                    c.channel == Channel.CALL.value,
                    c.call_outcome.is_not(None),
                    c.recorded_at >= since,
                )
            )
        ).all():
            found[r.borrower_id].append(
                PastCall(
                    at=r.recorded_at,
                    debt_id=r.loan_id or "",
                    number_id=r.address_id or "",
                    outcome=CallOutcome(r.call_outcome),
                    automated=r.automated,
                    borrower_initiated=r.borrower_initiated,
                )
            )
        return {b: tuple(calls) for b, calls in found.items()}

    async def terms_of_loans(self, loan_ids: Iterable[str]) -> dict[str, ProductTerms]:
        rows = (
            await self.session.execute(
                select(
                    loans.c.loan_id,
                    products.c.penalty_daily_rate,
                    products.c.credit_report_notice_dpd,
                    products.c.notification_policy,
                )
                .join(products, loans.c.product_code == products.c.product_code)
                .where(loans.c.loan_id.in_(sorted(set(loan_ids))))
            )
        ).all()
        return {r[0]: ProductTerms(r[1], r[2], dict(r[3])) for r in rows}

    async def addresses(self, address_ids: Iterable[str]) -> dict[str, str]:
        """Addresses for the providers, after commit (the one other place they are read)."""
        rows = await self.session.execute(
            select(contact_channels.c.address_id, contact_channels.c.address).where(
                contact_channels.c.address_id.in_(sorted(set(address_ids)))
            )
        )
        return {r[0]: r[1] for r in rows.all()}

    async def languages(self, borrowers: Iterable[str]) -> dict[str, str]:
        rows = await self.session.execute(
            select(contact_profiles.c.borrower_id, contact_profiles.c.language).where(
                contact_profiles.c.borrower_id.in_(sorted(set(borrowers)))
            )
        )
        return {r[0]: r[1] for r in rows.all()}
